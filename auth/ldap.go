package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

// LDAP flavors.
const (
	LDAPFlavorOpenLDAP = "openldap"
	LDAPFlavorAD       = "ad"
)

// LDAPConfig configures an LDAP or Active Directory realm.
type LDAPConfig struct {
	Name  string `yaml:"name" usage:"realm name, the prefix of identities (ldap:alice)"`
	Label string `yaml:"label" usage:"realm name shown on the login page"`

	URLs               []string `yaml:"urls" usage:"directory servers in failover order (ldap:// or ldaps://)"`
	StartTLS           bool     `yaml:"start_tls" usage:"upgrade ldap:// connections with StartTLS"`
	CAFile             string   `yaml:"ca_file" usage:"PEM file of the CA(s) that sign the directory's certificate (default: system roots)"`
	InsecureSkipVerify bool     `yaml:"insecure_skip_verify" usage:"do not verify the directory's certificate (tests only)"`

	BindDN           string `yaml:"bind_dn" usage:"DN of the read-only service account (empty: anonymous searches)"`
	BindPasswordFile string `yaml:"bind_password_file" usage:"file holding the service account's password"`

	BaseDN      string `yaml:"base_dn" usage:"where users are searched"`
	UserFilter  string `yaml:"user_filter" usage:"filter finding one user; {username} is replaced by the escaped login name (default by flavor)"`
	GroupBaseDN string `yaml:"group_base_dn" usage:"where groups are searched (default: base_dn)"`
	Flavor      string `yaml:"flavor" usage:"openldap or ad"`

	UsernameAttr string `yaml:"username_attr" usage:"attribute holding the login name (default uid, or sAMAccountName for ad)"`
	DisplayAttr  string `yaml:"display_attr" usage:"attribute holding a user's full name (default displayName)"`

	ConnectTimeout time.Duration `yaml:"connect_timeout" usage:"time to connect to one server (TCP, TLS, service bind) before trying the next"`
	OpTimeout      time.Duration `yaml:"op_timeout" usage:"time for one directory request (search, bind, page)"`
	PoolSize       int           `yaml:"pool_size" usage:"service connections kept open"`
	SearchLimit    int           `yaml:"search_limit" usage:"most entries a directory search returns"`
	NestedGroupTTL time.Duration `yaml:"nested_group_ttl" usage:"how long groups reached through nesting are cached per set of direct groups (negative: never)"`

	Roles RoleMap `yaml:"roles" usage:"global roles of users and groups (group cn or DN)"`
}

// Limits of the realm's own, whatever the caller checked before.
const (
	ldapPageSize     = 200  // RFC 2696 page size
	ldapMaxDepth     = 10   // nested-group levels walked
	ldapMaxGroups    = 2000 // groups read for one user
	ldapOrChunk      = 64   // DNs per (|(member=…)…) filter
	ldapMaxQueryLen  = 256  // directory search text
	ldapMaxIdle      = 4 * time.Minute
	ldapNestCacheMax = 4096 // sets of direct groups remembered
	// ppolicy's value for "locked by an administrator until unlocked".
	ppolicyLockedForever = "000001010000Z"
	adAccountDisable     = 0x2
	adInChainRule        = "1.2.840.113556.1.4.1941"
)

// inChain states, for the AD flavor.
const (
	inChainUnknown int32 = iota
	inChainWorks
	inChainUnsupported
)

var (
	realmNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	// An attribute name or OID: these go into filters unescaped.
	attrNameRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)
)

type ldapURL struct {
	raw   string
	host  string // host:port
	name  string // host without port, for certificate checks
	ldaps bool
}

// LDAP is a realm backed by an LDAP directory or Active Directory. It is safe
// for concurrent use.
type LDAP struct {
	cfg       LDAPConfig
	log       *slog.Logger
	groupBase *ldap.DN // cfg.GroupBaseDN, parsed
	urls      []ldapURL
	roots     *x509.CertPool

	good    atomic.Int32 // index of the last URL that answered
	inChain atomic.Int32
	warned  sync.Once

	mu     sync.Mutex
	idle   []*ldapConn
	closed bool

	nestMu sync.Mutex
	nest   map[string]nestEntry
}

// nestEntry is what nesting added to one set of direct groups.
type nestEntry struct {
	groups  []ldapGroup
	expires time.Time
}

// NewLDAP validates cfg and returns the realm; it does not contact the directory.
func NewLDAP(cfg LDAPConfig, log *slog.Logger) (*LDAP, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Flavor == "" {
		cfg.Flavor = LDAPFlavorOpenLDAP
	}
	if cfg.Flavor != LDAPFlavorOpenLDAP && cfg.Flavor != LDAPFlavorAD {
		return nil, fmt.Errorf("ldap: flavor %q: want openldap or ad", cfg.Flavor)
	}
	if cfg.Name == "" {
		cfg.Name = "ldap"
	}
	if !realmNameRE.MatchString(cfg.Name) {
		return nil, fmt.Errorf("ldap: realm name %q: want lower-case letters, digits, - and _", cfg.Name)
	}
	if cfg.Label == "" {
		cfg.Label = map[string]string{LDAPFlavorOpenLDAP: "LDAP", LDAPFlavorAD: "Active Directory"}[cfg.Flavor]
	}
	if cfg.UsernameAttr == "" {
		cfg.UsernameAttr = map[string]string{LDAPFlavorOpenLDAP: "uid", LDAPFlavorAD: "sAMAccountName"}[cfg.Flavor]
	}
	if cfg.DisplayAttr == "" {
		cfg.DisplayAttr = "displayName"
	}
	for _, a := range []string{cfg.UsernameAttr, cfg.DisplayAttr} {
		if !attrNameRE.MatchString(a) {
			return nil, fmt.Errorf("ldap: attribute name %q", a)
		}
	}
	if cfg.UserFilter == "" {
		if cfg.Flavor == LDAPFlavorAD {
			// Either login form AD users know: the short name or the UPN.
			cfg.UserFilter = "(&(objectClass=user)(|(sAMAccountName={username})(userPrincipalName={username})))"
		} else {
			cfg.UserFilter = "(&(objectClass=posixAccount)(uid={username}))"
		}
	}
	if !strings.Contains(cfg.UserFilter, "{username}") {
		return nil, fmt.Errorf("ldap: user_filter %q has no {username}", cfg.UserFilter)
	}
	for _, probe := range []string{"probe", "*"} {
		if _, err := ldap.CompileFilter(strings.ReplaceAll(cfg.UserFilter, "{username}", probe)); err != nil {
			return nil, fmt.Errorf("ldap: user_filter %q: %v", cfg.UserFilter, err)
		}
	}
	if cfg.BaseDN == "" {
		return nil, errors.New("ldap: base_dn is required")
	}
	if _, err := ldap.ParseDN(cfg.BaseDN); err != nil {
		return nil, fmt.Errorf("ldap: base_dn %q: %v", cfg.BaseDN, err)
	}
	if cfg.GroupBaseDN == "" {
		cfg.GroupBaseDN = cfg.BaseDN
	}
	groupBase, err := ldap.ParseDN(cfg.GroupBaseDN)
	if err != nil {
		return nil, fmt.Errorf("ldap: group_base_dn %q: %v", cfg.GroupBaseDN, err)
	}
	if cfg.BindDN != "" {
		if _, err := ldap.ParseDN(cfg.BindDN); err != nil {
			return nil, fmt.Errorf("ldap: bind_dn %q: %v", cfg.BindDN, err)
		}
		if cfg.BindPasswordFile == "" {
			return nil, errors.New("ldap: bind_dn needs bind_password_file")
		}
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 10 * time.Second
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if cfg.SearchLimit <= 0 {
		cfg.SearchLimit = 200
	}
	if cfg.NestedGroupTTL == 0 {
		cfg.NestedGroupTTL = time.Minute
	}
	l := &LDAP{cfg: cfg, log: log.With("realm", cfg.Name), groupBase: groupBase}
	if len(cfg.URLs) == 0 {
		return nil, errors.New("ldap: urls: at least one server is required")
	}
	for _, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Hostname() == "" {
			return nil, fmt.Errorf("ldap: url %q: want ldap://host[:port] or ldaps://host[:port]", raw)
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"ldap": "389", "ldaps": "636"}[u.Scheme]
		}
		lu := ldapURL{raw: raw, host: net.JoinHostPort(u.Hostname(), port), name: u.Hostname(), ldaps: u.Scheme == "ldaps"}
		l.urls = append(l.urls, lu)
		if !lu.ldaps && !cfg.StartTLS && !isLoopback(lu.name) {
			l.log.Warn("ldap: passwords travel in clear text to this server: use ldaps:// or start_tls", "url", raw)
		}
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: ca_file: %w", err)
		}
		l.roots = x509.NewCertPool()
		if !l.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: ca_file %s: no PEM certificate", cfg.CAFile)
		}
	}
	if cfg.BindDN != "" {
		if _, err := l.bindPassword(); err != nil {
			return nil, err
		}
	}
	if cfg.InsecureSkipVerify {
		l.log.Error("ldap: TLS CERTIFICATE VERIFICATION IS OFF (insecure_skip_verify): anyone on the path can read passwords; for tests only")
	}
	return l, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name implements Realm.
func (l *LDAP) Name() string { return l.cfg.Name }

// Label implements Realm.
func (l *LDAP) Label() string { return l.cfg.Label }

// bindPassword reads the service password on every new connection, so that
// a rotated password file takes effect without a restart.
func (l *LDAP) bindPassword() (string, error) {
	b, err := os.ReadFile(l.cfg.BindPasswordFile)
	if err != nil {
		return "", fmt.Errorf("ldap: bind_password_file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		// An empty password would make an unauthenticated bind that "succeeds".
		return "", fmt.Errorf("ldap: bind_password_file %s is empty", l.cfg.BindPasswordFile)
	}
	return pw, nil
}

func (l *LDAP) tlsConfig(u ldapURL) *tls.Config {
	return &tls.Config{
		RootCAs:            l.roots,
		ServerName:         u.name,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: l.cfg.InsecureSkipVerify, // tests only; logged at start
	}
}

// ldapConn is one connection with a hold on its socket, so that every
// request can be bounded by a deadline: go-ldap's own request timeout does
// not cover StartTLS, and nothing of it follows a context.
type ldapConn struct {
	c        *ldap.Conn
	raw      net.Conn
	url      int
	broken   bool // discard instead of reuse
	timedOut bool // the last failure was a deadline or a cancelled context
	lastUsed time.Time
}

// op runs f under a deadline of timeout and ctx. A request that overruns it
// kills the connection (the reader fails, pending requests get errors), so a
// directory that accepts and never answers cannot hang the caller.
func (lc *ldapConn) op(ctx context.Context, timeout time.Duration, f func(*ldap.Conn) error) error {
	if err := ctx.Err(); err != nil {
		lc.timedOut = true
		return err
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = lc.raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = lc.raw.SetDeadline(time.Unix(1, 0)) })
	err := f(lc.c)
	switch {
	case !stop():
		// ctx ended during f: the socket's deadline is poisoned.
		lc.broken, lc.timedOut = true, true
		if err == nil {
			err = ctx.Err()
		}
	case err != nil && !serverAnswered(err):
		lc.broken = true
		lc.timedOut = !time.Now().Before(deadline)
	default:
		_ = lc.raw.SetDeadline(time.Time{})
	}
	if err != nil && serverTrouble(err) {
		lc.broken = true
	}
	lc.lastUsed = time.Now()
	return err
}

func (lc *ldapConn) close() {
	// go-ldap's Close waits for its goroutines; they stop at once, but the
	// caller should not wait on a socket to a dying server.
	go lc.c.Close()
}

// serverAnswered reports whether err is an LDAP result from the server (as
// opposed to a network, timeout or client-side failure).
func serverAnswered(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode < ldap.ErrorNetwork
}

// serverTrouble reports results that say this server cannot serve us now.
func serverTrouble(err error) bool {
	return ldap.IsErrorAnyOf(err, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable,
		ldap.LDAPResultProtocolError, ldap.LDAPResultOperationsError, ldap.LDAPResultOther)
}

// dial connects to URL i: TCP, TLS or StartTLS, and the service bind when
// bind is set, all within ConnectTimeout.
func (l *LDAP) dial(ctx context.Context, i int, bind bool) (*ldapConn, error) {
	u := l.urls[i]
	cctx, cancel := context.WithTimeout(ctx, l.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(cctx, "tcp", u.host)
	if err != nil {
		return nil, err
	}
	deadline, _ := cctx.Deadline()
	_ = raw.SetDeadline(deadline)
	stop := context.AfterFunc(cctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var nc net.Conn = raw
	if u.ldaps {
		tc := tls.Client(raw, l.tlsConfig(u))
		if err := tc.HandshakeContext(cctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS: %w", err)
		}
		nc = tc
	}
	// No go-ldap request timeout (SetTimeout): it costs a goroutine and a
	// timer per request, and the socket deadlines already bound everything.
	c := ldap.NewConn(nc, u.ldaps)
	c.Start()
	fail := func(what string, err error) (*ldapConn, error) {
		c.Close()
		if cctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%s: no answer within %v: %w", what, l.cfg.ConnectTimeout, err)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if l.cfg.StartTLS && !u.ldaps {
		if err := c.StartTLS(l.tlsConfig(u)); err != nil {
			return fail("StartTLS", err)
		}
	}
	if bind && l.cfg.BindDN != "" {
		pw, err := l.bindPassword()
		if err != nil {
			return fail("service bind", err)
		}
		if err := c.Bind(l.cfg.BindDN, pw); err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				l.log.Error("ldap: the service account's bind is refused: check bind_dn and bind_password_file", "url", u.raw)
			}
			return fail("service bind", err)
		}
	}
	if !stop() {
		return fail("connect", cctx.Err())
	}
	_ = raw.SetDeadline(time.Time{})
	return &ldapConn{c: c, raw: raw, url: i, lastUsed: time.Now()}, nil
}

// connect dials the servers in order, starting with the last one that
// answered, and remembers the one that answers.
func (l *LDAP) connect(ctx context.Context, first int, bind bool) (*ldapConn, error) {
	var errs []error
	n := len(l.urls)
	for k := range n {
		i := (first + k) % n
		lc, err := l.dial(ctx, i, bind)
		if err == nil {
			if old := l.good.Swap(int32(i)); int(old) != i {
				l.log.Warn("ldap: now using another server", "url", l.urls[i].raw, "previous", l.urls[old].raw)
			}
			return lc, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", l.urls[i].raw, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// get returns a service connection: a pooled one that still looks alive
// (its reader has seen no EOF, and it has not idled long enough for a
// firewall to drop it silently), else a new one.
func (l *LDAP) get(ctx context.Context) (lc *ldapConn, pooled bool, err error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, false, errors.New("ldap: realm closed")
	}
	for len(l.idle) > 0 {
		lc = l.idle[len(l.idle)-1]
		l.idle = l.idle[:len(l.idle)-1]
		if lc.c.IsClosing() || time.Since(lc.lastUsed) > ldapMaxIdle {
			lc.close()
			continue
		}
		l.mu.Unlock()
		return lc, true, nil
	}
	l.mu.Unlock()
	lc, err = l.connect(ctx, int(l.good.Load()), true)
	return lc, false, err
}

func (l *LDAP) put(lc *ldapConn) {
	l.mu.Lock()
	if lc.broken || lc.c.IsClosing() || l.closed || len(l.idle) >= l.cfg.PoolSize {
		l.mu.Unlock()
		lc.close()
		return
	}
	l.idle = append(l.idle, lc)
	l.mu.Unlock()
}

// withService runs f on a service connection. When a pooled connection fails
// fast (the directory restarted under it), f runs once more on a new one;
// a timeout is not retried, so a hung directory costs one timeout.
func (l *LDAP) withService(ctx context.Context, f func(*ldapConn) error) error {
	for attempt := 0; ; attempt++ {
		lc, pooled, err := l.get(ctx)
		if err != nil {
			return err
		}
		err = f(lc)
		l.put(lc)
		if err != nil && lc.broken && pooled && !lc.timedOut && attempt == 0 && ctx.Err() == nil {
			l.log.Debug("ldap: pooled connection failed, retrying on a new one", "err", err)
			continue
		}
		return err
	}
}

// Close closes the pooled connections; the realm refuses work afterwards.
func (l *LDAP) Close() error {
	l.mu.Lock()
	idle := l.idle
	l.idle, l.closed = nil, true
	l.mu.Unlock()
	for _, lc := range idle {
		lc.c.Close()
	}
	return nil
}

// checkName refuses what no directory name can be, before any request:
// the rest is escaped into filters, never interpreted.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case len(name) > MaxUsernameLen:
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
func (l *LDAP) Authenticate(ctx context.Context, username, password string) (rbac.Principal, error) {
	t0 := time.Now()
	p, dn, err := l.authenticate(ctx, username, password)
	took := time.Since(t0).Round(time.Microsecond)
	if err != nil {
		reason := LoginReason(err)
		level := slog.LevelInfo
		if reason == ReasonUnavailable {
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

func (l *LDAP) authenticate(ctx context.Context, username, password string) (rbac.Principal, string, error) {
	if err := checkName(username); err != nil {
		return rbac.Principal{}, "", Fail(ReasonInvalid, err)
	}
	if password == "" {
		// A simple bind with an empty password is an unauthenticated bind,
		// which directories answer with success.
		return rbac.Principal{}, "", Fail(ReasonInvalid, errors.New("empty password"))
	}
	if len(password) > MaxPasswordLen {
		return rbac.Principal{}, "", Fail(ReasonInvalid, errors.New("password too long"))
	}
	u, err := l.findUser(ctx, username)
	if err != nil {
		return rbac.Principal{}, "", err
	}
	if u.disabled {
		return rbac.Principal{}, u.dn, Fail(ReasonDisabled, nil)
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
		return rbac.Principal{}, u.dn, Fail(ReasonUnavailable, gr.err)
	}
	return l.principal(u, gr.groups), u.dn, nil
}

// principal is u with its groups (by cn) and the roles they map to (by cn or DN).
func (l *LDAP) principal(u ldapUser, groups []ldapGroup) rbac.Principal {
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
func (l *LDAP) Refresh(ctx context.Context, username string) (rbac.Principal, error) {
	if err := checkName(username); err != nil {
		return rbac.Principal{}, Fail(ReasonInvalid, err)
	}
	u, err := l.findUser(ctx, username)
	if err != nil {
		return rbac.Principal{}, err
	}
	if u.disabled {
		return rbac.Principal{}, Fail(ReasonDisabled, nil)
	}
	groups, err := l.groups(ctx, u)
	if err != nil {
		return rbac.Principal{}, Fail(ReasonUnavailable, err)
	}
	return l.principal(u, groups), nil
}

func (l *LDAP) userFilter(name string) string {
	return strings.ReplaceAll(l.cfg.UserFilter, "{username}", ldap.EscapeFilter(name))
}

// search runs req on a service connection and says which server answered.
func (l *LDAP) search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, int, error) {
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
func (l *LDAP) findUser(ctx context.Context, name string) (ldapUser, error) {
	attrs := []string{l.cfg.UsernameAttr}
	if l.cfg.Flavor == LDAPFlavorAD {
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
		return ldapUser{}, Fail(ReasonUnknownUser, errors.New("several entries match"))
	case err != nil:
		return ldapUser{}, Fail(ReasonUnavailable, err)
	case len(res.Entries) == 0:
		return ldapUser{}, Fail(ReasonUnknownUser, nil)
	case len(res.Entries) > 1:
		l.log.Warn("ldap: several entries match one login name; refused", "user", logName(name))
		return ldapUser{}, Fail(ReasonUnknownUser, errors.New("several entries match"))
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
		return ldapUser{}, Fail(ReasonUnknownUser, errors.New("entry without "+l.cfg.UsernameAttr))
	}
	if l.cfg.Flavor == LDAPFlavorAD {
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

func (l *LDAP) timeLimit() int { return max(1, int(l.cfg.OpTimeout/time.Second)) }

// adBindData pulls the sub-code out of AD's bind diagnostics
// ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563").
var adBindData = regexp.MustCompile(`\bdata ([0-9a-fA-F]{3,8})\b`)

// userBind checks the password with a bind on a connection of its own, so a
// pooled service connection never changes identity.
func (l *LDAP) userBind(ctx context.Context, u ldapUser, password string) error {
	lc, err := l.connect(ctx, u.url, false)
	if err != nil {
		return Fail(ReasonUnavailable, err)
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
		return Fail(ReasonUnavailable, err)
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		var le *ldap.Error
		if errors.As(err, &le) && le.Err != nil {
			if m := adBindData.FindStringSubmatch(le.Err.Error()); m != nil {
				switch strings.ToLower(m[1]) {
				case "533", "701", "775": // AD: disabled, expired, locked out
					return Fail(ReasonDisabled, err)
				}
			}
		}
		if locked {
			return Fail(ReasonDisabled, err)
		}
		return Fail(ReasonBadPassword, err)
	}
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultConstraintViolation, ldap.LDAPResultUnwillingToPerform) {
		// Lockout answers of other password policies (389-ds among them).
		return Fail(ReasonDisabled, err)
	}
	return Fail(ReasonBadPassword, err)
}

type ldapGroup struct{ dn, cn string }

// normDN is the comparable form of a DN: parsed, types and values folded.
func normDN(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(dn)
}

// groups reads u's groups, nested ones included.
func (l *LDAP) groups(ctx context.Context, u ldapUser) ([]ldapGroup, error) {
	var out []ldapGroup
	err := l.withService(ctx, func(lc *ldapConn) error {
		var err error
		if l.cfg.Flavor == LDAPFlavorAD {
			out, err = l.adGroups(ctx, lc, u)
		} else {
			out, err = l.openLDAPGroups(ctx, lc, u)
		}
		return err
	})
	return out, err
}

func (l *LDAP) openLDAPGroups(ctx context.Context, lc *ldapConn, u ldapUser) ([]ldapGroup, error) {
	first := fmt.Sprintf("(|(&(objectClass=posixGroup)(memberUid=%s))(&(objectClass=groupOfNames)(member=%s)))",
		ldap.EscapeFilter(u.name), ldap.EscapeFilter(u.dn))
	return l.walkGroups(ctx, lc, first, "(objectClass=groupOfNames)")
}

func (l *LDAP) adGroups(ctx context.Context, lc *ldapConn, u ldapUser) ([]ldapGroup, error) {
	direct := fmt.Sprintf("(&(objectClass=group)(member=%s))", ldap.EscapeFilter(u.dn))
	if l.inChain.Load() == inChainUnsupported {
		return l.walkGroups(ctx, lc, direct, "(objectClass=group)")
	}
	// One search for the whole nesting, the server walking the chain.
	filter := fmt.Sprintf("(&(objectClass=group)(member:%s:=%s))", adInChainRule, ldap.EscapeFilter(u.dn))
	entries, _, err := l.paged(ctx, lc, l.cfg.GroupBaseDN, filter, []string{"cn"}, ldapMaxGroups)
	if err != nil {
		// Network trouble is trouble; a refusal of the rule or the filter
		// (inappropriateMatching, unavailableCriticalExtension, protocolError,
		// unwillingToPerform…) means the server lacks it.
		if !serverAnswered(err) || (serverTrouble(err) && !ldap.IsErrorWithCode(err, ldap.LDAPResultProtocolError)) {
			return nil, err
		}
		l.noInChain("the server refused the in-chain rule: " + err.Error())
		return l.walkGroups(ctx, lc, direct, "(objectClass=group)")
	}
	// A server without the rule may treat it as Undefined and answer
	// nothing (slapd does): the in-chain answer must contain every direct
	// group the user's memberOf names.
	got := map[string]bool{}
	for _, e := range entries {
		got[normDN(e.DN)] = true
	}
	base := l.groupBase
	for _, m := range u.memberOf {
		md, err := ldap.ParseDN(m)
		if err != nil || !base.AncestorOfFold(md) && !base.EqualFold(md) {
			continue
		}
		if !got[normDN(m)] {
			l.noInChain("its in-chain answer misses direct groups from memberOf")
			return l.walkGroups(ctx, lc, direct, "(objectClass=group)")
		}
	}
	if len(u.memberOf) > 0 {
		l.inChain.CompareAndSwap(inChainUnknown, inChainWorks)
	}
	return groupsOf(entries), nil
}

func (l *LDAP) noInChain(why string) {
	// Once it works it stays trusted: a later mismatch is one odd answer.
	if l.inChain.CompareAndSwap(inChainUnknown, inChainUnsupported) {
		l.warned.Do(func() {
			l.log.Warn("ldap: the directory does not evaluate the in-chain rule "+adInChainRule+
				"; walking nested groups level by level instead", "why", why)
		})
	}
}

func groupsOf(entries []*ldap.Entry) []ldapGroup {
	out := make([]ldapGroup, 0, len(entries))
	for _, e := range entries {
		if cn := e.GetEqualFoldAttributeValue("cn"); cn != "" {
			out = append(out, ldapGroup{dn: e.DN, cn: cn})
		}
	}
	return out
}

// walkGroups finds the groups matching first, then, breadth first, the
// groups (of class nestClass) that contain those, level by level with one
// search per level, up to ldapMaxDepth levels and ldapMaxGroups groups.
//
// Direct memberships are read at every login. What nesting adds is cached
// for NestedGroupTTL per set of direct groups: most users share a few such
// sets, nesting edges change rarely, and the walk is the longest part of a
// login (at least one more round trip, however flat the directory).
func (l *LDAP) walkGroups(ctx context.Context, lc *ldapConn, first, nestClass string) ([]ldapGroup, error) {
	entries, _, err := l.paged(ctx, lc, l.cfg.GroupBaseDN, first, []string{"cn"}, ldapMaxGroups)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []ldapGroup
	var frontier []string
	add := func(gs []ldapGroup) {
		for _, g := range gs {
			if k := normDN(g.dn); !seen[k] && len(out) < ldapMaxGroups {
				seen[k] = true
				out = append(out, g)
				frontier = append(frontier, g.dn)
			}
		}
	}
	add(groupsOf(entries))
	direct := len(out)
	key := l.nestKey(nestClass, out)
	if gs, ok := l.nestGet(key); ok {
		add(gs)
		return out, nil
	}
	for depth := 0; depth < ldapMaxDepth && len(frontier) > 0; depth++ {
		level := frontier
		frontier = nil
		for chunk := range slices.Chunk(level, ldapOrChunk) {
			var b strings.Builder
			b.WriteString("(&" + nestClass + "(|")
			for _, dn := range chunk {
				b.WriteString("(member=" + ldap.EscapeFilter(dn) + ")")
			}
			b.WriteString("))")
			es, _, err := l.paged(ctx, lc, l.cfg.GroupBaseDN, b.String(), []string{"cn"}, ldapMaxGroups)
			if err != nil {
				return nil, err
			}
			add(groupsOf(es))
		}
	}
	if len(frontier) > 0 || len(out) >= ldapMaxGroups {
		l.log.Warn("ldap: group nesting cut short", "depth", ldapMaxDepth, "groups", len(out))
	} else {
		l.nestPut(key, out[direct:])
	}
	return out, nil
}

func (l *LDAP) nestKey(class string, direct []ldapGroup) string {
	if len(direct) == 0 {
		return ""
	}
	keys := make([]string, 0, len(direct)+1)
	for _, g := range direct {
		keys = append(keys, normDN(g.dn))
	}
	slices.Sort(keys)
	return class + "\n" + strings.Join(keys, "\n")
}

func (l *LDAP) nestGet(key string) ([]ldapGroup, bool) {
	if key == "" {
		return nil, true // no direct group, nothing to nest
	}
	if l.cfg.NestedGroupTTL < 0 {
		return nil, false
	}
	l.nestMu.Lock()
	defer l.nestMu.Unlock()
	e, ok := l.nest[key]
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	return e.groups, true
}

func (l *LDAP) nestPut(key string, groups []ldapGroup) {
	if key == "" || l.cfg.NestedGroupTTL < 0 {
		return
	}
	now := time.Now()
	l.nestMu.Lock()
	defer l.nestMu.Unlock()
	if l.nest == nil || len(l.nest) >= ldapNestCacheMax {
		for k, e := range l.nest {
			if now.After(e.expires) {
				delete(l.nest, k)
			}
		}
		if l.nest == nil || len(l.nest) >= ldapNestCacheMax {
			l.nest = map[string]nestEntry{}
		}
	}
	l.nest[key] = nestEntry{groups: slices.Clone(groups), expires: now.Add(l.cfg.NestedGroupTTL)}
}

// paged runs a paged search (RFC 2696) and stops once it holds more than
// limit entries; more reports that more matched than limit.
func (l *LDAP) paged(ctx context.Context, lc *ldapConn, base, filter string, attrs []string, limit int) (entries []*ldap.Entry, more bool, err error) {
	size := uint32(min(ldapPageSize, limit+1))
	paging := ldap.NewControlPaging(size)
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, l.timeLimit(), false, filter, attrs, []ldap.Control{paging})
	for {
		var res *ldap.SearchResult
		err := lc.op(ctx, l.cfg.OpTimeout, func(c *ldap.Conn) (err error) {
			res, err = c.Search(req)
			return err
		})
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			// The server's own cap: what came is all there is.
			entries = append(entries, res.Entries...)
			return entries[:min(len(entries), limit)], true, nil
		}
		if err != nil {
			return nil, false, err
		}
		entries = append(entries, res.Entries...)
		var cookie []byte
		if pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging); ok {
			cookie = pc.Cookie
		}
		if len(entries) > limit {
			if len(cookie) > 0 {
				// Tell the server to drop the rest (size 0 with the cookie).
				paging.PagingSize = 0
				paging.SetCookie(cookie)
				_ = lc.op(ctx, l.cfg.OpTimeout, func(c *ldap.Conn) error { _, err := c.Search(req); return err })
			}
			return entries[:limit], true, nil
		}
		if len(cookie) == 0 {
			return entries, false, nil
		}
		paging.SetCookie(cookie)
	}
}

// dirQuery is the substring filter of a directory search over attrs; q is a
// literal ("*" matches a star), and an empty q matches everything.
func dirQuery(base string, q string, attrs ...string) string {
	if q == "" {
		return base
	}
	var b strings.Builder
	b.WriteString("(&" + base + "(|")
	e := ldap.EscapeFilter(q)
	for _, a := range attrs {
		b.WriteString("(" + a + "=*" + e + "*)")
	}
	b.WriteString("))")
	return b.String()
}

func (l *LDAP) groupClass() string {
	if l.cfg.Flavor == LDAPFlavorAD {
		return "(objectClass=group)"
	}
	return "(|(objectClass=posixGroup)(objectClass=groupOfNames))"
}

func (l *LDAP) searchLimit(limit int) int {
	if limit <= 0 || limit > l.cfg.SearchLimit {
		return l.cfg.SearchLimit
	}
	return limit
}

func validQuery(q string) bool {
	return len(q) <= ldapMaxQueryLen && utf8.ValidString(q) && strings.IndexFunc(q, unicode.IsControl) < 0
}

// SearchUsers implements Directory: users whose login name, cn, display name
// or mail contains q.
func (l *LDAP) SearchUsers(ctx context.Context, q string, limit int) (api.DirList, error) {
	out := api.DirList{Items: []api.DirEntry{}}
	if !validQuery(q) {
		return out, nil
	}
	attrs := []string{l.cfg.UsernameAttr, "cn", l.cfg.DisplayAttr, "mail"}
	slices.Sort(attrs)
	attrs = slices.Compact(attrs)
	// Every entry the login filter could find, whatever the name.
	base := strings.ReplaceAll(l.cfg.UserFilter, "{username}", "*")
	filter := dirQuery(base, q, attrs...)
	entries, more, err := l.dirSearch(ctx, l.cfg.BaseDN, filter, []string{l.cfg.UsernameAttr, l.cfg.DisplayAttr, "cn"}, l.searchLimit(limit))
	if err != nil {
		return out, err
	}
	out.Truncated = more
	for _, e := range entries {
		name := e.GetEqualFoldAttributeValue(l.cfg.UsernameAttr)
		if name == "" {
			continue
		}
		disp := e.GetEqualFoldAttributeValue(l.cfg.DisplayAttr)
		if disp == "" {
			disp = e.GetEqualFoldAttributeValue("cn")
		}
		out.Items = append(out.Items, api.DirEntry{Kind: "user", Realm: l.Name(), Name: name, Display: disp, DN: e.DN})
	}
	slices.SortFunc(out.Items, func(a, b api.DirEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SearchGroups implements Directory: groups whose cn or description contains q.
func (l *LDAP) SearchGroups(ctx context.Context, q string, limit int) (api.DirList, error) {
	out := api.DirList{Items: []api.DirEntry{}}
	if !validQuery(q) {
		return out, nil
	}
	filter := dirQuery(l.groupClass(), q, "cn", "description")
	entries, more, err := l.dirSearch(ctx, l.cfg.GroupBaseDN, filter, []string{"cn", "description"}, l.searchLimit(limit))
	if err != nil {
		return out, err
	}
	out.Truncated = more
	for _, e := range entries {
		name := e.GetEqualFoldAttributeValue("cn")
		if name == "" {
			continue
		}
		out.Items = append(out.Items, api.DirEntry{Kind: "group", Realm: l.Name(), Name: name,
			Display: e.GetEqualFoldAttributeValue("description"), DN: e.DN})
	}
	slices.SortFunc(out.Items, func(a, b api.DirEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (l *LDAP) dirSearch(ctx context.Context, base, filter string, attrs []string, limit int) ([]*ldap.Entry, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.OpTimeout+l.cfg.ConnectTimeout)
	defer cancel()
	var entries []*ldap.Entry
	var more bool
	err := l.withService(ctx, func(lc *ldapConn) (err error) {
		entries, more, err = l.paged(ctx, lc, base, filter, attrs, limit)
		return err
	})
	if err != nil {
		return nil, false, Fail(ReasonUnavailable, err)
	}
	return entries, more, nil
}

// LookupUser reports whether exactly one user called name exists, for grants.
func (l *LDAP) LookupUser(ctx context.Context, name string) (bool, error) {
	if checkName(name) != nil {
		return false, nil
	}
	return l.lookup(ctx, l.cfg.BaseDN, l.userFilter(name), name)
}

// LookupGroup reports whether exactly one group with cn name exists, for grants.
func (l *LDAP) LookupGroup(ctx context.Context, name string) (bool, error) {
	if checkName(name) != nil {
		return false, nil
	}
	return l.lookup(ctx, l.cfg.GroupBaseDN, "(&"+l.groupClass()+"(cn="+ldap.EscapeFilter(name)+"))", name)
}

func (l *LDAP) lookup(ctx context.Context, base, filter, name string) (bool, error) {
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, l.timeLimit(), false, filter, []string{"1.1"}, nil) // 1.1: no attributes
	res, _, err := l.search(ctx, req)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded), err == nil && len(res.Entries) > 1:
		return false, fmt.Errorf("ldap: %q: %w", logName(name), ErrAmbiguous)
	case err != nil:
		return false, Fail(ReasonUnavailable, err)
	}
	return len(res.Entries) == 1, nil
}
