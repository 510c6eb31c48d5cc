package virt

import (
	"errors"
	"fmt"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// The error codes of virt; they are API (the browser translates them).
var (
	CodeGuestNotFound      = fault.Define("guest_not_found", fault.NotFound)
	CodeGuestRunning       = fault.Define("guest_running", fault.Conflict)
	CodeGuestNotRunning    = fault.Define("guest_not_running", fault.Conflict)
	CodeGuestPaused        = fault.Define("guest_paused", fault.Conflict)
	CodeGuestNotPaused     = fault.Define("guest_not_paused", fault.Conflict)
	CodeGuestShuttingDown  = fault.Define("guest_shutting_down", fault.Conflict)
	CodeGuestState         = fault.Define("guest_state", fault.Conflict)
	CodeVolumeInUse        = fault.Define("volume_in_use", fault.Conflict)
	CodeVolumeDeleteFailed = fault.Define("volume_delete_failed", fault.Internal)
	CodeMetadataUnreadable = fault.Define("metadata_unreadable", fault.Conflict)
	CodeNoDisplay          = fault.Define("no_display", fault.Conflict)
	CodeNoSerial           = fault.Define("no_serial", fault.Conflict)
	CodeNoScreen           = fault.Define("no_screen", fault.Conflict)
	CodeConsoleBusy        = fault.Define("console_busy", fault.Conflict)
	CodeSpiceNoPassword    = fault.Define("spice_no_password", fault.Conflict)
	CodeSpiceNoPort        = fault.Define("spice_no_port", fault.Conflict)
	CodeDisplayUnavailable = fault.Define("display_unavailable", fault.Unavailable)
	CodeUnknownAction      = fault.Define("unknown_action", fault.Invalid)
	CodeUnknownConsoleKind = fault.Define("unknown_console_kind", fault.Invalid)
	CodeUnknownState       = fault.Define("unknown_state", fault.Invalid)
	CodeUnknownSort        = fault.Define("unknown_sort", fault.Invalid)
	CodeSearchTooLong      = fault.Define("search_too_long", fault.Invalid)
	CodeTooManyGrants      = fault.Define("too_many_grants", fault.Invalid)
	CodeInvalidGrants      = fault.Define("invalid_grants", fault.Unprocessable)
	CodeLibvirtUnavailable = fault.Define("libvirt_unavailable", fault.Unavailable)
	// Storage pools and volumes.
	CodePoolNotFound      = fault.Define("pool_not_found", fault.NotFound)
	CodePoolExists        = fault.Define("pool_exists", fault.Conflict)
	CodePoolActive        = fault.Define("pool_active", fault.Conflict)
	CodePoolInactive      = fault.Define("pool_inactive", fault.Conflict)
	CodePoolInUse         = fault.Define("pool_in_use", fault.Conflict)
	CodePoolState         = fault.Define("pool_state", fault.Conflict)
	CodeUnknownPoolType   = fault.Define("unknown_pool_type", fault.Invalid)
	CodeInvalidPoolPath   = fault.Define("invalid_pool_path", fault.Invalid)
	CodeInvalidPoolSource = fault.Define("invalid_pool_source", fault.Invalid)
	CodeVolumeNotFound    = fault.Define("volume_not_found", fault.NotFound)
	CodeVolumeExists      = fault.Define("volume_exists", fault.Conflict)
	CodeUnknownVolFormat  = fault.Define("unknown_volume_format", fault.Invalid)
	CodeInvalidCapacity   = fault.Define("invalid_capacity", fault.Invalid)
	CodeVolumeShrink      = fault.Define("volume_shrink", fault.Invalid)
	CodeInsufficientSpace = fault.Define("insufficient_space", fault.Conflict)
	CodeIndexBuilding     = fault.Define("index_building", fault.Unavailable)
	// CodeInvalidName and CodeNotSupported are the generic codes: a bad
	// name and a driver that cannot do something read the same everywhere.
	CodeInvalidName  = fault.CodeInvalidName
	CodeNotSupported = fault.CodeNotSupported
)

func errUnavailable() error { return CodeLibvirtUnavailable.New("libvirt is not reachable") }

func notSupported(format string, args ...any) error {
	return CodeNotSupported.New(format, args...)
}

// GuestNotFound is the error for a guest that does not exist, or that the
// caller may not know of: both read the same.
func GuestNotFound(name string) error { return CodeGuestNotFound.New("guest %q not found", name) }

// stateCode is the conflict code for a guest in state (active matters for
// a crashed guest, which may still hold its resources).
func stateCode(state string, active bool) fault.Code {
	switch {
	case state == api.StateRunning || state == api.StateBlocked:
		return CodeGuestRunning
	case state == api.StatePaused:
		return CodeGuestPaused
	case state == api.StateShutdown:
		return CodeGuestShuttingDown
	case state == api.StateShutoff || (state == api.StateCrashed && !active):
		return CodeGuestNotRunning
	}
	return CodeGuestState
}

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

// fail maps a libvirt error to a fault a caller may show. name is the guest
// concerned, or "" when none. An unexpected failure becomes an internal
// fault whose cause is kept for the log, never shown.
func (m *Manager) fail(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if fault.As(err) != nil {
		return err
	}
	m.observe(op, time.Time{}, err)
	var le libvirt.Error
	if errors.As(err, &le) {
		switch {
		case le.Code == libvirt.ERR_NO_DOMAIN && name != "":
			return GuestNotFound(name)
		case le.Code == libvirt.ERR_OPERATION_INVALID:
			// libvirt's own wording ("domain is not running") carries no
			// paths and helps the user.
			return CodeGuestState.Wrap(err, "%s", le.Message)
		case isConnErr(err):
			m.signalLost()
			return errUnavailable()
		}
	}
	m.log.Error("libvirt call failed", "op", op, "guest", name, "err", err)
	return fault.Internalf(fmt.Errorf("%s: %w", op, err))
}
