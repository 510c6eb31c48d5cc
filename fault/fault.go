// Package fault holds the error kinds every layer below handlers returns:
// a kind (what went wrong, in words no transport knows), a stable code (the
// API's name for it, translated by the browser) and a message safe to show.
// handlers alone turns a kind into an HTTP status.
package fault

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Kind is the class of a failure.
type Kind uint8

// The kinds. Their order is not API; their names are.
const (
	Internal        Kind = iota // a bug or an unexpected failure: the message never shows the cause
	Invalid                     // input that cannot be understood or breaks a rule
	Unprocessable               // well-formed input naming things that are wrong (per-entry details)
	Unauthenticated             // no or bad credentials
	Forbidden                   // known caller, action not allowed
	NotFound                    // no such thing, or one the caller may not see
	Conflict                    // the object's state does not allow it
	Gone                        // it existed and can no longer be used (a spent token)
	TooLarge                    // a body, a name or a request past its limit
	Unsupported                 // a media type or format not accepted
	RateLimited                 // slow down
	NotImplemented              // this host or driver cannot do it
	Unavailable                 // a dependency (libvirt, a directory) is down or busy
	Timeout                     // the work took longer than allowed
	WrongMethod                 // the resource exists but not for this method
	UpgradeRequired             // the resource speaks another protocol (a WebSocket URL fetched plainly)
)

var kindNames = [...]string{"internal", "invalid", "unprocessable", "unauthenticated", "forbidden",
	"not_found", "conflict", "gone", "too_large", "unsupported", "rate_limited", "not_implemented",
	"unavailable", "timeout", "wrong_method", "upgrade_required"}

// Kinds lists every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, len(kindNames))
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Code is a registered, stable error code of one kind.
type Code struct {
	Name string
	Kind Kind
}

var (
	regMu sync.Mutex
	reg   = map[string]Code{}
)

// Define registers a code; defining the same name with another kind panics,
// so two packages cannot give one code two meanings.
func Define(name string, k Kind) Code {
	regMu.Lock()
	defer regMu.Unlock()
	if c, ok := reg[name]; ok && c.Kind != k {
		panic(fmt.Sprintf("fault: code %q defined as %s and %s", name, c.Kind, k))
	}
	c := Code{Name: name, Kind: k}
	reg[name] = c
	return c
}

// Codes lists every registered code, sorted by name (for the API document
// and the translation catalogs).
func Codes() []Code {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]Code, 0, len(reg))
	for _, c := range reg {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Detail names one bad field or entry of a request.
type Detail struct {
	Field   string
	Message string
}

// Error is a failure of a kind with a stable code.
type Error struct {
	Code    Code
	Message string
	Details []Detail
	// RetryAfter, in seconds, for RateLimited and Unavailable; 0: unsaid.
	RetryAfter int
	cause      error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.Code.Name + ": " + e.Message + ": " + e.cause.Error()
	}
	return e.Code.Name + ": " + e.Message
}

// Unwrap returns the cause, which is logged, never shown.
func (e *Error) Unwrap() error { return e.cause }

// New builds an error with code c and a formatted message.
func (c Code) New(format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an error with code c whose cause is kept for the log.
func (c Code) Wrap(cause error, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...), cause: cause}
}

// WithDetails sets per-entry details and returns e.
func (e *Error) WithDetails(d []Detail) *Error { e.Details = d; return e }

// WithRetry sets RetryAfter and returns e.
func (e *Error) WithRetry(seconds int) *Error { e.RetryAfter = seconds; return e }

// As returns the *Error inside err, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf is err's kind; Internal for an error that carries none.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Code.Kind
	}
	return Internal
}

// IsKind reports whether err carries kind k.
func IsKind(err error, k Kind) bool {
	e := As(err)
	return e != nil && e.Code.Kind == k
}

// Is reports whether err carries code c.
func Is(err error, c Code) bool {
	e := As(err)
	return e != nil && e.Code.Name == c.Name
}

// The generic codes; packages define specific ones next to their errors.
var (
	CodeInternal       = Define("internal", Internal)
	CodeBadRequest     = Define("bad_request", Invalid)
	CodeInvalidName    = Define("invalid_name", Invalid)
	CodeUnprocessable  = Define("unprocessable", Unprocessable)
	CodeUnauthorized   = Define("unauthorized", Unauthenticated)
	CodeForbidden      = Define("forbidden", Forbidden)
	CodeNotFound       = Define("not_found", NotFound)
	CodeConflict       = Define("conflict", Conflict)
	CodeTooLarge       = Define("too_large", TooLarge)
	CodeUnsupported    = Define("unsupported_media_type", Unsupported)
	CodeRateLimited    = Define("too_many_requests", RateLimited)
	CodeNotSupported   = Define("not_supported", NotImplemented)
	CodeUnavailable    = Define("unavailable", Unavailable)
	CodeTimeout        = Define("timeout", Timeout)
	CodeMethodNotAllow = Define("method_not_allowed", WrongMethod)
)

// Internalf is the opaque internal error: the message says nothing of the
// cause, which stays in the chain for the log.
func Internalf(cause error) *Error {
	return CodeInternal.Wrap(cause, "internal error")
}
