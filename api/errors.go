// Package api holds the JSON wire types shared by the server, the CLI and the
// tests, among them the error envelope the handlers render.
package api

// Error is the wire form of an error: an HTTP status, a stable machine code
// and a message safe to show to the caller. Only handlers build it, from a
// fault (package fault).
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Details optionally lists per-field problems (for 422s).
	Details []FieldError `json:"details,omitempty"`
}

// FieldError names one bad field or entry of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ErrorBody is the envelope the renderer writes.
type ErrorBody struct {
	Error *Error `json:"error"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
