package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/virtportal/virtportal/auth"
)

// LDAP flavors.
const (
	FlavorOpenLDAP = "openldap"
	FlavorAD       = "ad"
)

// Config configures an LDAP or Active Directory realm.
type Config struct {
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

	Roles auth.RoleMap `yaml:"roles" usage:"global roles of users and groups (group cn or DN)"`
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

// New validates cfg and returns the realm; it does not contact the directory.
func New(cfg Config, log *slog.Logger) (*Realm, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Flavor == "" {
		cfg.Flavor = FlavorOpenLDAP
	}
	if cfg.Flavor != FlavorOpenLDAP && cfg.Flavor != FlavorAD {
		return nil, fmt.Errorf("ldap: flavor %q: want openldap or ad", cfg.Flavor)
	}
	if cfg.Name == "" {
		cfg.Name = "ldap"
	}
	if !realmNameRE.MatchString(cfg.Name) {
		return nil, fmt.Errorf("ldap: realm name %q: want lower-case letters, digits, - and _", cfg.Name)
	}
	if cfg.Label == "" {
		cfg.Label = map[string]string{FlavorOpenLDAP: "LDAP", FlavorAD: "Active Directory"}[cfg.Flavor]
	}
	if cfg.UsernameAttr == "" {
		cfg.UsernameAttr = map[string]string{FlavorOpenLDAP: "uid", FlavorAD: "sAMAccountName"}[cfg.Flavor]
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
		if cfg.Flavor == FlavorAD {
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
	l := &Realm{cfg: cfg, log: log.With("realm", cfg.Name), groupBase: groupBase}
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

// bindPassword reads the service password on every new connection, so that
// a rotated password file takes effect without a restart.
func (l *Realm) bindPassword() (string, error) {
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

func (l *Realm) tlsConfig(u ldapURL) *tls.Config {
	return &tls.Config{
		RootCAs:            l.roots,
		ServerName:         u.name,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: l.cfg.InsecureSkipVerify, // tests only; logged at start
	}
}
