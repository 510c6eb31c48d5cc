package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth/helperproto"
	"github.com/virtportal/virtportal/rbac"
)

// PAMConfig configures the pam realm. Zero fields take the values of
// DefaultPAMConfig.
type PAMConfig struct {
	Name         string        `yaml:"name" usage:"realm name in identities (name:user) and on the login page"`
	Label        string        `yaml:"label" usage:"realm label on the login page"`
	Socket       string        `yaml:"socket" usage:"virtportal-helper's Unix socket"`
	Timeout      time.Duration `yaml:"timeout" usage:"how long a login may wait for the helper"`
	MinUID       int           `yaml:"min_uid" usage:"accounts with a lower uid (system accounts) cannot log in and are not listed"`
	DeniedShells []string      `yaml:"denied_shells" usage:"accounts with one of these login shells cannot log in and are not listed"`
	Roles        RoleMap       `yaml:"roles" usage:"global roles of users and groups (default: groups sudo and wheel are admins)"`
	PasswdFile   string        `yaml:"passwd_file" usage:"passwd file read for the user directory and early refusals"`
	GroupFile    string        `yaml:"group_file" usage:"group file read for the group directory"`
}

// DefaultPAMConfig returns the defaults: realm "pam", the helper at its
// default socket, uids from 1000, nologin and false shells refused, and the
// groups sudo and wheel mapped to admin.
func DefaultPAMConfig() PAMConfig {
	return PAMConfig{
		Name:         "pam",
		Label:        "System account",
		Socket:       helperproto.DefaultSocket,
		Timeout:      helperproto.DefaultClientTimeout,
		MinUID:       1000,
		DeniedShells: []string{"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"},
		Roles:        RoleMap{AdminGroups: []string{"sudo", "wheel"}},
		PasswdFile:   "/etc/passwd",
		GroupFile:    "/etc/group",
	}
}

// overflowID is the kernel's "nobody"/"nogroup" id, never a person.
const overflowID = 65534

// PAM is the realm of the host's own accounts. The server is not root, so
// passwords are checked by virtportal-helper; what needs no privilege (the
// account policy, the directory listing) is done here.
type PAM struct {
	cfg    PAMConfig
	client *helperproto.Client
	log    *slog.Logger
	passwd cachedFile[[]passwdEntry]
	group  cachedFile[[]groupEntry]
}

// NewPAM returns the pam realm; it does not contact the helper, so the
// server starts, and other realms work, while the helper is down.
func NewPAM(cfg PAMConfig, log *slog.Logger) (*PAM, error) {
	d := DefaultPAMConfig()
	if cfg.Name == "" {
		cfg.Name = d.Name
	}
	if cfg.Label == "" {
		cfg.Label = d.Label
	}
	if cfg.Socket == "" {
		cfg.Socket = d.Socket
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.MinUID == 0 {
		cfg.MinUID = d.MinUID
	}
	if cfg.DeniedShells == nil {
		cfg.DeniedShells = d.DeniedShells
	}
	if len(cfg.Roles.AdminUsers)+len(cfg.Roles.AdminGroups)+len(cfg.Roles.AuditorUsers)+len(cfg.Roles.AuditorGroups) == 0 {
		cfg.Roles = d.Roles
	}
	if cfg.PasswdFile == "" {
		cfg.PasswdFile = d.PasswdFile
	}
	if cfg.GroupFile == "" {
		cfg.GroupFile = d.GroupFile
	}
	switch {
	case !ValidUsername(cfg.Name) || strings.Contains(cfg.Name, ":"):
		return nil, fmt.Errorf("pam realm: invalid name %q", cfg.Name)
	case cfg.Timeout < 0:
		return nil, errors.New("pam realm: negative timeout")
	case cfg.MinUID < 0:
		return nil, errors.New("pam realm: negative min_uid")
	case !filepath.IsAbs(cfg.Socket):
		return nil, fmt.Errorf("pam realm: socket %q is not an absolute path", cfg.Socket)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &PAM{cfg: cfg, client: &helperproto.Client{Socket: cfg.Socket, Timeout: cfg.Timeout}, log: log}
	p.passwd.path, p.passwd.parse = cfg.PasswdFile, parsePasswd
	p.group.path, p.group.parse = cfg.GroupFile, parseGroup
	return p, nil
}

// Name implements Realm.
func (p *PAM) Name() string { return p.cfg.Name }

// CreatorPools are the pools the realm's creators may place disks in.
func (p *PAM) CreatorPools() []string { return p.cfg.Roles.CreatorPools }

// Label implements Realm.
func (p *PAM) Label() string { return p.cfg.Label }

// Config returns the configuration in effect, defaults filled in.
func (p *PAM) Config() PAMConfig { return p.cfg }

// loginAllowed applies the account policy to a uid and shell.
func (p *PAM) loginAllowed(uid int64, shell string) error {
	if uid < int64(p.cfg.MinUID) || uid == overflowID {
		return fmt.Errorf("uid %d is a system account (min_uid %d)", uid, p.cfg.MinUID)
	}
	if p.deniedShell(shell) {
		return fmt.Errorf("login shell %s is denied", shell)
	}
	return nil
}

func (p *PAM) deniedShell(shell string) bool {
	if shell == "" {
		return false // an empty shell means /bin/sh
	}
	shell = filepath.Clean(shell)
	return slices.ContainsFunc(p.cfg.DeniedShells, func(d string) bool { return filepath.Clean(d) == shell })
}

// Authenticate implements Realm.
func (p *PAM) Authenticate(ctx context.Context, username, password string) (rbac.Principal, error) {
	if !ValidUsername(username) || !helperproto.ValidUsername(username) || !helperproto.ValidPassword([]byte(password)) {
		return rbac.Principal{}, Fail(ReasonInvalid, nil)
	}
	// Refuse what the passwd file already shows to be a system or nologin
	// account without bothering the helper; accounts only NSS knows (LDAP,
	// SSSD) are checked on the helper's answer below.
	if e, found, err := p.account(username); err == nil {
		if found {
			if err := p.loginAllowed(e.uid, e.shell); err != nil {
				return rbac.Principal{}, Fail(ReasonDisabled, err)
			}
		}
	} else {
		p.log.Debug("pam realm: passwd file unreadable; leaving the account check to the helper's answer", "err", err)
	}
	u, err := p.client.Authenticate(ctx, username, password)
	if err != nil {
		return rbac.Principal{}, Fail(reasonOf(helperproto.Code(err)), err)
	}
	if err := p.loginAllowed(int64(u.UID), u.Shell); err != nil {
		return rbac.Principal{}, Fail(ReasonDisabled, err)
	}
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	return rbac.Principal{Realm: p.cfg.Name, Name: u.Name, Groups: groups, Roles: p.cfg.Roles.Roles(u.Name, groups)}, nil
}

// reasonOf maps a helper code to a login failure class. Throttling and
// overload in the helper are "try again later" for the client, like a
// realm that is down.
func reasonOf(code string) string {
	switch code {
	case helperproto.CodeBadCredentials:
		return ReasonBadPassword
	case helperproto.CodeUnknownUser:
		return ReasonUnknownUser
	case helperproto.CodeDisabled:
		return ReasonDisabled
	case helperproto.CodeInvalid:
		return ReasonInvalid
	}
	return ReasonUnavailable // rate_limited, busy, unavailable, internal
}

// SearchUsers implements Directory over the passwd file: accounts that may
// log in whose name or full name contains q, ignoring case, sorted by name.
func (p *PAM) SearchUsers(_ context.Context, q string, limit int) (api.DirList, error) {
	users, err := p.passwd.get()
	if err != nil {
		return api.DirList{}, Fail(ReasonUnavailable, err)
	}
	q = strings.ToLower(q)
	var out []api.DirEntry
	for _, u := range users {
		if p.loginAllowed(u.uid, u.shell) != nil {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(u.name), q) && !strings.Contains(strings.ToLower(u.gecos), q) {
			continue
		}
		out = append(out, api.DirEntry{Kind: "user", Realm: p.cfg.Name, Name: u.name, Display: fullName(u.gecos)})
	}
	return capList(out, limit), nil
}

// SearchGroups implements Directory over the group file: groups at or above
// min_uid, and the system groups named in the role map (sudo, wheel), whose
// name contains q, ignoring case.
func (p *PAM) SearchGroups(_ context.Context, q string, limit int) (api.DirList, error) {
	groups, err := p.group.get()
	if err != nil {
		return api.DirList{}, Fail(ReasonUnavailable, err)
	}
	q = strings.ToLower(q)
	var out []api.DirEntry
	for _, g := range groups {
		if !p.groupListed(g) || (q != "" && !strings.Contains(strings.ToLower(g.name), q)) {
			continue
		}
		out = append(out, api.DirEntry{Kind: "group", Realm: p.cfg.Name, Name: g.name})
	}
	return capList(out, limit), nil
}

func (p *PAM) groupListed(g groupEntry) bool {
	if g.gid >= int64(p.cfg.MinUID) && g.gid != overflowID {
		return true
	}
	r := p.cfg.Roles
	return matchAny(r.AdminGroups, []string{g.name}) || matchAny(r.AuditorGroups, []string{g.name})
}

// LookupUser reports whether name is an account that may log in (one that
// SearchUsers would list), matched exactly, for checking a grant.
func (p *PAM) LookupUser(_ context.Context, name string) (bool, error) {
	e, found, err := p.account(name)
	if err != nil {
		return false, Fail(ReasonUnavailable, err)
	}
	return found && p.loginAllowed(e.uid, e.shell) == nil, nil
}

// LookupGroup reports whether name is a group that SearchGroups would list,
// matched exactly, for checking a grant.
func (p *PAM) LookupGroup(_ context.Context, name string) (bool, error) {
	groups, err := p.group.get()
	if err != nil {
		return false, Fail(ReasonUnavailable, err)
	}
	for _, g := range groups {
		if g.name == name {
			return p.groupListed(g), nil
		}
	}
	return false, nil
}

// capList sorts by name and keeps at most limit entries.
func capList(items []api.DirEntry, limit int) api.DirList {
	slices.SortFunc(items, func(a, b api.DirEntry) int { return strings.Compare(a.Name, b.Name) })
	out := api.DirList{Items: items}
	if out.Items == nil {
		out.Items = []api.DirEntry{}
	}
	if limit > 0 && len(out.Items) > limit {
		out.Items, out.Truncated = out.Items[:limit], true
	}
	return out
}

// fullName is the first comma-separated field of a GECOS string.
func fullName(gecos string) string {
	name, _, _ := strings.Cut(gecos, ",")
	return strings.TrimSpace(name)
}

type passwdEntry struct {
	name, gecos, shell string
	uid                int64
}

type groupEntry struct {
	name string
	gid  int64
}

// account is name's entry in the passwd file, if it has one.
func (p *PAM) account(name string) (passwdEntry, bool, error) {
	users, err := p.passwd.get()
	if err != nil {
		return passwdEntry{}, false, err
	}
	i := slices.IndexFunc(users, func(e passwdEntry) bool { return e.name == name })
	if i < 0 {
		return passwdEntry{}, false, nil
	}
	return users[i], true, nil
}

// parsePasswd and parseGroup drop lines that could not be a login or group
// name of ours: NIS compat entries (+, -), junk, names the login form
// would refuse.
func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	seen := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), ":")
		if len(f) != 7 || !ValidUsername(f[0]) || seen[f[0]] {
			continue // the first entry of a name wins, as with NSS
		}
		uid, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || uid < 0 {
			continue
		}
		seen[f[0]] = true
		out = append(out, passwdEntry{name: f[0], uid: uid, gecos: f[4], shell: f[6]})
	}
	return out
}

func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	seen := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), ":")
		if len(f) != 4 || !ValidUsername(f[0]) || seen[f[0]] {
			continue
		}
		gid, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || gid < 0 {
			continue
		}
		seen[f[0]] = true
		out = append(out, groupEntry{name: f[0], gid: gid})
	}
	return out
}

// cachedFile re-parses a file only when its identity, size or mtime changed,
// so a login or a directory search costs a stat, not a parse.
type cachedFile[T any] struct {
	path  string
	parse func([]byte) T
	mu    sync.Mutex
	key   [4]int64
	val   T
	ok    bool
}

func (c *cachedFile[T]) get() (T, error) {
	var zero T
	fi, err := os.Stat(c.path)
	if err != nil {
		return zero, err
	}
	key := [4]int64{fi.Size(), fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		key[2], key[3] = int64(st.Dev), int64(st.Ino)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.key == key {
		return c.val, nil
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		return zero, err
	}
	c.val, c.key, c.ok = c.parse(b), key, true
	return c.val, nil
}

// Refresh implements Refresher without the helper: an account's groups are
// no secret, so NSS answers them to the unprivileged server (getgrouplist,
// as the helper does at login); the passwd file adds the shell.
func (p *PAM) Refresh(_ context.Context, username string) (rbac.Principal, error) {
	if !ValidUsername(username) || !helperproto.ValidUsername(username) {
		return rbac.Principal{}, Fail(ReasonInvalid, nil)
	}
	u, err := user.Lookup(username)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return rbac.Principal{}, Fail(ReasonUnknownUser, nil)
	}
	if err != nil {
		return rbac.Principal{}, Fail(ReasonUnavailable, err)
	}
	uid, _ := strconv.ParseInt(u.Uid, 10, 64)
	shell := ""
	if e, found, err := p.account(username); err == nil && found {
		shell = e.shell
	}
	if err := p.loginAllowed(uid, shell); err != nil {
		return rbac.Principal{}, Fail(ReasonDisabled, err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return rbac.Principal{}, Fail(ReasonUnavailable, err)
	}
	groups := []string{}
	for _, gid := range gids {
		if g, err := user.LookupGroupId(gid); err == nil {
			groups = append(groups, g.Name)
		}
	}
	slices.Sort(groups)
	return rbac.Principal{Realm: p.cfg.Name, Name: u.Username, Groups: groups, Roles: p.cfg.Roles.Roles(u.Username, groups)}, nil
}
