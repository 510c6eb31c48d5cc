// Package api holds the JSON wire types shared by the server, the CLI and the
// tests, and the one error type every layer returns.
package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is the one error type: an HTTP status, a stable machine code and a
// message safe to show to the caller.
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

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common constructors; the code strings are part of the API.

// BadRequest is a 400 for input that cannot be understood.
func BadRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "bad_request", format, args...)
}

// InvalidName is a 400 for a resource name that breaks the naming rules.
func InvalidName(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "invalid_name", format, args...)
}

// Unauthorized is a 401: no or bad credentials.
func Unauthorized(format string, args ...any) *Error {
	return Errorf(http.StatusUnauthorized, "unauthorized", format, args...)
}

// Forbidden is a 403: known caller, action not allowed.
func Forbidden(format string, args ...any) *Error {
	return Errorf(http.StatusForbidden, "forbidden", format, args...)
}

// NotFound is a 404.
func NotFound(format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, "not_found", format, args...)
}

// Conflict is a 409, for example an action the guest's state does not allow.
func Conflict(format string, args ...any) *Error {
	return Errorf(http.StatusConflict, "conflict", format, args...)
}

// Unprocessable is a 422 with per-entry details.
func Unprocessable(msg string, details []FieldError) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "unprocessable", Message: msg, Details: details}
}

// TooManyRequests is a 429.
func TooManyRequests(format string, args ...any) *Error {
	return Errorf(http.StatusTooManyRequests, "too_many_requests", format, args...)
}

// Unavailable is a 503: a dependency (libvirt, a directory) is down.
func Unavailable(format string, args ...any) *Error {
	return Errorf(http.StatusServiceUnavailable, "unavailable", format, args...)
}

// Internal is a 500 whose message never carries the cause; log the cause.
func Internal() *Error {
	return Errorf(http.StatusInternalServerError, "internal", "internal error")
}

// As returns the *Error inside err, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IsStatus reports whether err is an *Error with the given status.
func IsStatus(err error, status int) bool {
	e := As(err)
	return e != nil && e.Status == status
}
