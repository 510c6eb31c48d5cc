package api

import "time"

// Token is a personal API token as listed: never its secret.
type Token struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Owner    string     `json:"owner"` // realm:name
	Created  time.Time  `json:"created"`
	Expires  time.Time  `json:"expires"`
	LastUsed *time.Time `json:"last_used,omitempty"`
	// Permissions limit what the token may do ("metrics:read"); absent:
	// everything its owner may.
	Permissions []string `json:"permissions,omitempty"`
}

// TokenList is the answer of GET /api/v1/tokens.
type TokenList struct {
	Items []Token `json:"items"`
}

// TokenRequest is the body of POST /api/v1/tokens: a name and either an
// expiry time or a number of days (neither: 30 days).
type TokenRequest struct {
	Name          string     `json:"name"`
	Expires       *time.Time `json:"expires,omitempty"`
	ExpiresInDays int        `json:"expires_in_days,omitempty"`
	// Permissions, when given, limit the token to these "object:action"
	// permissions (each one a route needs, e.g. metrics:read).
	Permissions []string `json:"permissions,omitempty"`
}

// NewToken is the answer of POST /api/v1/tokens; the secret is shown
// this once and never again.
type NewToken struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret"`
}
