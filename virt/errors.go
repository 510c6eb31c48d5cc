package virt

import (
	"errors"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
)

// internalError is what a caller gets for an unexpected libvirt failure: it
// unwraps to api.Internal() (so the renderer shows nothing of the cause)
// and to the cause (so the caller's logger can record it).
type internalError struct {
	op    string
	cause error
	api   *api.Error
}

func (e *internalError) Error() string   { return e.op + ": " + e.cause.Error() }
func (e *internalError) Unwrap() []error { return []error{e.api, e.cause} }

func errUnavailable() *api.Error { return api.Unavailable("libvirt is not reachable") }

// GuestNotFound is the 404 for a guest that does not exist, or that the
// caller may not know of: both read the same.
func GuestNotFound(name string) *api.Error { return api.NotFound("guest %q not found", name) }

// libvirtCode returns err's libvirt error code, or -1.
func libvirtCode(err error) libvirt.ErrorNumber {
	var le libvirt.Error
	if errors.As(err, &le) {
		return le.Code
	}
	return -1
}

// isConnErr reports whether err says the connection itself is gone, as
// opposed to one call failing: only then is reconnecting the cure.
func isConnErr(err error) bool {
	var le libvirt.Error
	if !errors.As(err, &le) {
		return false
	}
	switch le.Code {
	case libvirt.ERR_NO_CONNECT, libvirt.ERR_INVALID_CONN, libvirt.ERR_RPC:
		return true
	case libvirt.ERR_SYSTEM_ERROR, libvirt.ERR_INTERNAL_ERROR:
		return le.Domain == libvirt.FROM_RPC || le.Domain == libvirt.FROM_REMOTE
	}
	return false
}

// isUnsupportedFlags reports whether a driver refused a flag it does not
// know, which callers answer by retrying with fewer flags.
func isUnsupportedFlags(err error) bool {
	switch libvirtCode(err) {
	case libvirt.ERR_INVALID_ARG, libvirt.ERR_NO_SUPPORT, libvirt.ERR_OPERATION_UNSUPPORTED:
		return true
	}
	return false
}

// fail maps a libvirt error to the *api.Error a caller may show. name is
// the guest concerned, or "" when none.
func (m *Manager) fail(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if ae := api.As(err); ae != nil {
		return err
	}
	var le libvirt.Error
	if errors.As(err, &le) {
		switch {
		case le.Code == libvirt.ERR_NO_DOMAIN && name != "":
			return GuestNotFound(name)
		case le.Code == libvirt.ERR_OPERATION_INVALID:
			// libvirt's own wording ("domain is not running") carries no
			// paths and helps the user.
			return api.Conflict("%s", le.Message)
		case isConnErr(err):
			m.signalLost()
			return errUnavailable()
		}
	}
	m.log.Error("libvirt call failed", "op", op, "guest", name, "err", err)
	return &internalError{op: op, cause: err, api: api.Internal()}
}
