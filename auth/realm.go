// Package auth answers "who are you?": login realms, password hashing, login
// throttling and server-side sessions.
package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/virtportal/virtportal/rbac"
)

// Reasons a login fails, recorded in the audit log and never shown to the client.
const (
	ReasonBadPassword = "bad_password"
	ReasonUnknownUser = "unknown_user"
	ReasonDisabled    = "disabled"
	ReasonInvalid     = "invalid_input"
	ReasonUnavailable = "directory_down"
)

// LoginError is a failed authentication with its reason class.
type LoginError struct {
	Reason string
	Err    error // the cause, for logs; may be nil
}

func (e *LoginError) Error() string {
	if e.Err != nil {
		return "login failed: " + e.Reason + ": " + e.Err.Error()
	}
	return "login failed: " + e.Reason
}

func (e *LoginError) Unwrap() error { return e.Err }

// Fail builds a LoginError.
func Fail(reason string, err error) error { return &LoginError{Reason: reason, Err: err} }

// LoginReason returns the reason class of a failed login, or "" when err is no LoginError.
func LoginReason(err error) string {
	var le *LoginError
	if errors.As(err, &le) {
		return le.Reason
	}
	return ""
}

// Realm authenticates users of one source (local, pam, ldap).
type Realm interface {
	Name() string
	Label() string
	// Authenticate returns the caller with groups and global roles, or a *LoginError.
	Authenticate(ctx context.Context, username, password string) (rbac.Principal, error)
}

// Refresher is a realm that can re-read a user's groups and roles without
// their password, so that group membership captured at login does not stay
// forever. A user who no longer exists or is disabled gets a *LoginError
// with ReasonUnknownUser or ReasonDisabled.
type Refresher interface {
	Refresh(ctx context.Context, username string) (rbac.Principal, error)
}

// Limits on credentials, checked before any realm sees them.
const (
	MaxUsernameLen = 256
	MaxPasswordLen = 1024
)

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._@-]*$`)

// ValidUsername reports whether name is acceptable as a login name in every realm:
// no wildcards, parentheses, backslashes, NULs or control characters.
func ValidUsername(name string) bool {
	return len(name) > 0 && len(name) <= MaxUsernameLen && usernameRE.MatchString(name)
}

// Realms is the set of enabled realms, in login-page order.
type Realms struct {
	list []Realm
}

// NewRealms returns the enabled realms; names must be unique.
func NewRealms(rs ...Realm) (*Realms, error) {
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.Name()] {
			return nil, fmt.Errorf("auth: realm %q enabled twice", r.Name())
		}
		seen[r.Name()] = true
	}
	if len(rs) == 0 {
		return nil, errors.New("auth: no realm enabled")
	}
	return &Realms{list: rs}, nil
}

// Get returns the realm called name.
func (r *Realms) Get(name string) (Realm, bool) {
	for _, x := range r.list {
		if x.Name() == name {
			return x, true
		}
	}
	return nil, false
}

// All returns the realms in order.
func (r *Realms) All() []Realm { return r.list }
