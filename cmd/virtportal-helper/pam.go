package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"github.com/msteinert/pam/v2"

	"github.com/virtportal/virtportal/auth/helperproto"
)

// pamHandler authenticates with one fixed PAM service.
type pamHandler struct {
	service     string
	confDir     string // "" for the system's own configuration
	serviceFile string // must exist on every request, else PAM would use "other"
	minUID      uint32 // accounts below it are never checked; root never is
}

func herr(code string, err error) error { return &helperproto.Error{Code: code, Err: err} }

// Authenticate implements helperproto.Handler.
func (h *pamHandler) Authenticate(_ context.Context, username string, password helperproto.Secret) (helperproto.UserInfo, error) {
	// Checked again per request: a file removed after start would silently
	// send logins through the "other" stack.
	if fi, err := os.Stat(h.serviceFile); err != nil || !fi.Mode().IsRegular() {
		return helperproto.UserInfo{}, herr(helperproto.CodeUnavailable,
			fmt.Errorf("PAM service file %s is missing; refusing to fall back to \"other\"", h.serviceFile))
	}
	pw, found, err := lookupPasswd(username)
	if err != nil {
		return helperproto.UserInfo{}, herr(helperproto.CodeUnavailable, err)
	}
	// System accounts are refused before PAM runs, so that the helper is no
	// password oracle for root or daemons even to a compromised server.
	if found && pw.uid < h.minUID {
		return helperproto.UserInfo{}, herr(helperproto.CodeDisabled, fmt.Errorf("uid %d below %d", pw.uid, h.minUID))
	}
	canonical, err := h.check(username, password)
	if err != nil {
		return helperproto.UserInfo{}, err
	}
	// A PAM module may map the name (case, aliases): NSS is asked about the
	// name PAM settled on.
	if !found || canonical != username {
		if pw, found, err = lookupPasswd(canonical); err != nil {
			return helperproto.UserInfo{}, herr(helperproto.CodeUnavailable, err)
		}
		if !found {
			return helperproto.UserInfo{}, herr(helperproto.CodeUnknownUser, fmt.Errorf("PAM accepted %q but NSS does not know it", canonical))
		}
		if pw.uid < h.minUID {
			return helperproto.UserInfo{}, herr(helperproto.CodeDisabled, fmt.Errorf("uid %d below %d", pw.uid, h.minUID))
		}
	}
	groups, err := groupNames(pw)
	if err != nil {
		return helperproto.UserInfo{}, herr(helperproto.CodeUnavailable, err)
	}
	return helperproto.UserInfo{Name: pw.name, UID: pw.uid, GID: pw.gid, Home: pw.home, Shell: pw.shell, Groups: groups}, nil
}

// Exists implements helperproto.Knower: names NSS does not know, and
// system accounts, wait in the helper's lane for names that do not exist.
// A lookup that fails counts as existing, so that an NSS hiccup does not
// push real users into that lane.
func (h *pamHandler) Exists(username string) bool {
	pw, found, err := lookupPasswd(username)
	return err != nil || (found && pw.uid >= h.minUID)
}

// check runs pam_authenticate and pam_acct_mgmt and returns PAM's user name.
func (h *pamHandler) check(username string, password helperproto.Secret) (string, error) {
	// Some modules keep per-thread state; one transaction, one OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	conv := pam.ConversationFunc(func(style pam.Style, _ string) (string, error) {
		switch style {
		case pam.PromptEchoOff:
			// A string over the secret's bytes rather than a copy: the
			// binding copies it into C memory at once (which PAM wipes and
			// frees), and the bytes are wiped after the request.
			return unsafe.String(unsafe.SliceData(password), len(password)), nil
		case pam.PromptEchoOn:
			return username, nil
		case pam.ErrorMsg, pam.TextInfo:
			return "", nil
		}
		return "", errors.New("unsupported PAM conversation style")
	})
	var tx *pam.Transaction
	var err error
	if h.confDir == "" {
		tx, err = pam.Start(h.service, username, conv)
	} else {
		tx, err = pam.StartConfDir(h.service, username, conv, h.confDir)
	}
	if err != nil {
		return "", herr(helperproto.CodeInternal, fmt.Errorf("pam_start: %w", err))
	}
	defer func() { _ = tx.End() }()
	if err := tx.Authenticate(pam.Silent | pam.DisallowNullAuthtok); err != nil {
		return "", herr(pamCode(err, false), fmt.Errorf("pam_authenticate: %w", err))
	}
	if err := tx.AcctMgmt(pam.Silent | pam.DisallowNullAuthtok); err != nil {
		return "", herr(pamCode(err, true), fmt.Errorf("pam_acct_mgmt: %w", err))
	}
	name, err := tx.GetItem(pam.User)
	if err != nil || name == "" {
		name = username
	}
	return name, nil
}

// pamCode maps a PAM status to a protocol code. In account management every
// refusal means the account may not log in now: disabled.
func pamCode(err error, acct bool) string {
	var pe pam.Error
	if !errors.As(err, &pe) {
		return helperproto.CodeInternal
	}
	switch pe {
	case pam.ErrAuth:
		if acct {
			return helperproto.CodeDisabled
		}
		return helperproto.CodeBadCredentials
	case pam.ErrUserUnknown:
		return helperproto.CodeUnknownUser
	case pam.ErrAcctExpired, pam.ErrNewAuthtokReqd, pam.ErrAuthtokExpired, pam.ErrCredExpired,
		pam.ErrPermDenied, pam.ErrMaxtries:
		return helperproto.CodeDisabled
	case pam.ErrAuthinfoUnavail, pam.ErrTryAgain, pam.ErrAuthtokLockBusy:
		return helperproto.CodeUnavailable
	}
	return helperproto.CodeInternal
}
