package ldap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/rbac"
)

// checkName refuses what no directory name can be, before any request:
// the rest is escaped into filters, never interpreted.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case len(name) > auth.MaxUsernameLen:
		return fmt.Errorf("name of %d bytes", len(name))
	case !utf8.ValidString(name):
		return errors.New("name is not UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("control character in name")
	case strings.TrimSpace(name) != name:
		// Directories ignore such spaces when matching, which would make
		// " alice" a second spelling of alice.
		return errors.New("leading or trailing space in name")
	}
	return nil
}

// logName is a username safe to log.
func logName(name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	if utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsControl) < 0 {
		return name
	}
	return fmt.Sprintf("%q", name)
}

// Authenticate implements Realm: find the user with the service account,
// bind as the user on a connection of its own while the user's groups are
// read, and map groups and user to global roles.
func (l *Realm) Authenticate(ctx context.Context, username, password string) (rbac.Principal, error) {
	t0 := time.Now()
	p, dn, err := l.authenticate(ctx, username, password)
	took := time.Since(t0).Round(time.Microsecond)
	if err != nil {
		reason := auth.LoginReason(err)
		level := slog.LevelInfo
		if reason == auth.ReasonUnavailable {
			level = slog.LevelWarn
		}
		l.log.Log(ctx, level, "ldap login refused", "user", logName(username), "reason", reason, "took", took, "err", errors.Unwrap(err))
		return p, err
	}
	l.log.Info("ldap login", "user", p.Name, "took", took)
	l.log.Debug("ldap login details", "user", p.Name, "dn", dn, "groups", p.Groups, "roles", p.Roles)
	return p, nil
}

type ldapUser struct {
	dn, name string
	disabled bool // disabled for good: refused before any bind
	locked   bool // a lock a bind failure should be blamed on
	memberOf []string
	url      int // the server that found the entry, where the user binds
}

func (l *Realm) authenticate(ctx context.Context, username, password string) (rbac.Principal, string, error) {
	if err := checkName(username); err != nil {
		return rbac.Principal{}, "", auth.Fail(auth.ReasonInvalid, err)
	}
	if password == "" {
		// A simple bind with an empty password is an unauthenticated bind,
		// which directories answer with success.
		return rbac.Principal{}, "", auth.Fail(auth.ReasonInvalid, errors.New("empty password"))
	}
	if len(password) > auth.MaxPasswordLen {
		return rbac.Principal{}, "", auth.Fail(auth.ReasonInvalid, errors.New("password too long"))
	}
	u, err := l.findUser(ctx, username)
	if err != nil {
		return rbac.Principal{}, "", err
	}
	if u.disabled {
		return rbac.Principal{}, u.dn, auth.Fail(auth.ReasonDisabled, nil)
	}
	// The group reads need no password: they run on a service connection
	// while the user's own connection is dialled and bound, which takes a
	// login from the sum of the two to the longer one. Their answer is used
	// only once the bind has succeeded; on a failed bind it is dropped
	// (a few indexed searches, on attempts the login throttle already limits).
	type groupsResult struct {
		groups []ldapGroup
		err    error
	}
	gch := make(chan groupsResult, 1)
	go func() {
		g, err := l.groups(ctx, u)
		gch <- groupsResult{g, err}
	}()
	bindErr := l.userBind(ctx, u, password)
	gr := <-gch // waited for even on failure: nothing outlives the call
	if bindErr != nil {
		return rbac.Principal{}, u.dn, bindErr
	}
	if gr.err != nil {
		return rbac.Principal{}, u.dn, auth.Fail(auth.ReasonUnavailable, gr.err)
	}
	return l.principal(u, gr.groups), u.dn, nil
}

// principal is u with its groups (by cn) and the roles they map to (by cn or DN).
func (l *Realm) principal(u ldapUser, groups []ldapGroup) rbac.Principal {
	names := make([]string, 0, len(groups))
	match := make([]string, 0, 2*len(groups))
	for _, g := range groups {
		names = append(names, g.cn)
		match = append(match, g.cn, g.dn)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return rbac.Principal{Realm: l.Name(), Name: u.name, Groups: names, Roles: l.cfg.Roles.Roles(u.name, match)}
}

// Refresh implements Refresher: the service account finds the user and reads
// their groups again; no password is involved.
func (l *Realm) Refresh(ctx context.Context, username string) (rbac.Principal, error) {
	if err := checkName(username); err != nil {
		return rbac.Principal{}, auth.Fail(auth.ReasonInvalid, err)
	}
	u, err := l.findUser(ctx, username)
	if err != nil {
		return rbac.Principal{}, err
	}
	if u.disabled {
		return rbac.Principal{}, auth.Fail(auth.ReasonDisabled, nil)
	}
	groups, err := l.groups(ctx, u)
	if err != nil {
		return rbac.Principal{}, auth.Fail(auth.ReasonUnavailable, err)
	}
	return l.principal(u, groups), nil
}

func (l *Realm) userFilter(name string) string {
	return strings.ReplaceAll(l.cfg.UserFilter, "{username}", ldap.EscapeFilter(name))
}

// search runs req on a service connection and says which server answered.
func (l *Realm) search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, int, error) {
	var res *ldap.SearchResult
	var url int
	err := l.withService(ctx, func(lc *ldapConn) error {
		url = lc.url
		return lc.op(ctx, l.cfg.OpTimeout, func(c *ldap.Conn) (err error) {
			res, err = c.Search(req)
			return err
		})
	})
	return res, url, err
}

// findUser finds exactly one entry for name; none or several is an unknown user.
func (l *Realm) findUser(ctx context.Context, name string) (ldapUser, error) {
	attrs := []string{l.cfg.UsernameAttr}
	if l.cfg.Flavor == FlavorAD {
		attrs = append(attrs, "userAccountControl", "memberOf")
	} else {
		// Operational: returned only when asked for.
		attrs = append(attrs, "pwdAccountLockedTime")
	}
	req := ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, l.timeLimit(), false, l.userFilter(name), attrs, nil)
	res, url, err := l.search(ctx, req)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		l.log.Warn("ldap: several entries match one login name; refused", "user", logName(name))
		return ldapUser{}, auth.Fail(auth.ReasonUnknownUser, errors.New("several entries match"))
	case err != nil:
		return ldapUser{}, auth.Fail(auth.ReasonUnavailable, err)
	case len(res.Entries) == 0:
		return ldapUser{}, auth.Fail(auth.ReasonUnknownUser, nil)
	case len(res.Entries) > 1:
		l.log.Warn("ldap: several entries match one login name; refused", "user", logName(name))
		return ldapUser{}, auth.Fail(auth.ReasonUnknownUser, errors.New("several entries match"))
	}
	e := res.Entries[0]
	u := ldapUser{dn: e.DN, url: url}
	// The canonical name is the directory's spelling: "ALICE" or
	// alice@example.org log in as alice.
	names := e.GetEqualFoldAttributeValues(l.cfg.UsernameAttr)
	for _, n := range names {
		if strings.EqualFold(n, name) {
			u.name = n
		}
	}
	if u.name == "" && len(names) > 0 {
		u.name = names[0]
	}
	if u.name == "" || checkName(u.name) != nil {
		l.log.Warn("ldap: the user's entry has no usable login name", "dn", e.DN, "attr", l.cfg.UsernameAttr)
		return ldapUser{}, auth.Fail(auth.ReasonUnknownUser, errors.New("entry without "+l.cfg.UsernameAttr))
	}
	if l.cfg.Flavor == FlavorAD {
		var uac int64
		if _, err := fmt.Sscan(e.GetEqualFoldAttributeValue("userAccountControl"), &uac); err == nil && uac&adAccountDisable != 0 {
			u.disabled = true
		}
		u.memberOf = e.GetEqualFoldAttributeValues("memberOf")
	} else if t := e.GetEqualFoldAttributeValue("pwdAccountLockedTime"); t != "" {
		// A permanent lock is an administrator's "disabled"; a timed lock
		// (failed attempts) may have expired, so the bind decides.
		u.disabled = t == ppolicyLockedForever
		u.locked = true
	}
	return u, nil
}

func (l *Realm) timeLimit() int { return max(1, int(l.cfg.OpTimeout/time.Second)) }

// userBind checks the password with a bind on a connection of its own, so a
// pooled service connection never changes identity.
func (l *Realm) userBind(ctx context.Context, u ldapUser, password string) error {
	lc, err := l.connect(ctx, u.url, false)
	if err != nil {
		return auth.Fail(auth.ReasonUnavailable, err)
	}
	defer lc.close()
	err = lc.op(ctx, l.cfg.OpTimeout, func(c *ldap.Conn) error { return c.Bind(u.dn, password) })
	if err == nil {
		return nil
	}
	return bindFailure(err, u.locked)
}

// bindFailure classifies a failed user bind; locked says the entry carries a
// lock a refusal should be blamed on.
func bindFailure(err error, locked bool) error {
	if !serverAnswered(err) || serverTrouble(err) {
		return auth.Fail(auth.ReasonUnavailable, err)
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		var le *ldap.Error
		if errors.As(err, &le) && le.Err != nil {
			if m := adBindData.FindStringSubmatch(le.Err.Error()); m != nil {
				switch strings.ToLower(m[1]) {
				case "533", "701", "775": // AD: disabled, expired, locked out
					return auth.Fail(auth.ReasonDisabled, err)
				}
			}
		}
		if locked {
			return auth.Fail(auth.ReasonDisabled, err)
		}
		return auth.Fail(auth.ReasonBadPassword, err)
	}
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultConstraintViolation, ldap.LDAPResultUnwillingToPerform) {
		// Lockout answers of other password policies (389-ds among them).
		return auth.Fail(auth.ReasonDisabled, err)
	}
	return auth.Fail(auth.ReasonBadPassword, err)
}
