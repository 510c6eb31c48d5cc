// Package ldaptest starts a real slapd on loopback with a seeded directory,
// for tests and benchmarks of the LDAP realm, the way net/http/httptest
// starts a real HTTP server.
//
// The seeded directory is the same in both flavors, expressed the way each
// kind of directory would hold it:
//
//   - alice: in developers (posixGroup memberUid in "openldap", a group with
//     member in "ad") and in ops (groupOfNames member);
//   - bob: in admins; carol: in auditors;
//   - dave: in netops only, and netops is a member of ops, so dave is in ops
//     through nesting;
//   - mallory: in developers, but disabled: userAccountControl 514 (bit 0x2,
//     ACCOUNTDISABLE) in "ad"; pwdAccountLockedTime 000001010000Z (the
//     ppolicy overlay's "locked by an administrator until unlocked", with a
//     default policy so that slapd itself refuses mallory's binds) in
//     "openldap";
//   - admin: a plain user with no groups, a decoy for names such as "admin*";
//   - j.doe-2 and first_last: names with the punctuation ValidUsername allows.
//
// Every user's password is Password(name). The service account BindDN can
// read everything but change nothing; users can bind and read themselves.
// Like AD (MaxPageSize), slapd answers at most 100 entries to the service
// account's unpaged searches, so that anything larger needs paging.
//
// The "ad" flavor adds a small schema (sAMAccountName, userPrincipalName,
// userAccountControl; "user" and "group" as auxiliary classes) and the
// memberof overlay, so entries carry memberOf. slapd does not implement the
// in-chain matching rule 1.2.840.113556.1.4.1941: it takes such a filter for
// Undefined and returns nothing.
//
// The folder is made with os.MkdirTemp rather than t.TempDir: when the tests
// run as root, slapd drops to the openldap user, which must own its folder
// and reach it, and t.TempDir's parent is private to root.
package ldaptest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Flavors of seeded directory.
const (
	FlavorOpenLDAP = "openldap"
	FlavorAD       = "ad"
)

// Fixed names of the seeded directory.
const (
	BaseDN       = "dc=example,dc=org"
	RootDN       = "cn=admin," + BaseDN
	RootPassword = "root-secret"
	ReaderDN     = "cn=reader,ou=system," + BaseDN
	// ReaderPassword is the service account's password.
	ReaderPassword = "reader-secret"
	PeopleDN       = "ou=people," + BaseDN
	GroupsDN       = "ou=groups," + BaseDN
	// PolicyDN is the ppolicy default policy of the "openldap" flavor.
	PolicyDN = "cn=default,ou=policies," + BaseDN
)

// Seeded users and groups, for tests that walk them.
var (
	Users  = []string{"alice", "bob", "carol", "dave", "mallory", "admin", "j.doe-2", "first_last"}
	Groups = []string{"developers", "ops", "netops", "admins", "auditors"}
)

// Password returns the password of a seeded user.
func Password(user string) string { return "pw-" + user + "-S3cret!" }

// Options configure a server.
type Options struct {
	Flavor string // FlavorOpenLDAP (default) or FlavorAD
	Seed   string // extra LDIF added after the standard entries
	TLS    bool   // StartTLS on URL and a second ldaps:// listener, with a generated CA
	// LogLevel is slapd's -d level; the default "stats" logs every operation
	// with its filter, which tests read to prove what was searched. "0" is quiet.
	LogLevel string
}

// Server is a running slapd.
type Server struct {
	URL          string // ldap://127.0.0.1:PORT
	LDAPSURL     string // ldaps://127.0.0.1:PORT when Options.TLS
	BaseDN       string
	BindDN       string // the read-only service account
	BindPassword string
	CAFile       string // the CA that signed the server certificate, when Options.TLS
	Dir          string // the server's folder: config, database, log
	Flavor       string

	opt      Options
	conf     string
	logPath  string
	asUser   *user.User // nil: run as ourselves
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	closed   bool
	removeFn func()
}

// Start starts a slapd for a test and stops it when the test ends. It fails
// the test, with slapd's output, if slapd is missing or does not start.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s, err := StartProcess(opt)
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartProcess starts a slapd outside tests; the caller must Close it.
func StartProcess(opt Options) (*Server, error) {
	if opt.Flavor == "" {
		opt.Flavor = FlavorOpenLDAP
	}
	if opt.Flavor != FlavorOpenLDAP && opt.Flavor != FlavorAD {
		return nil, fmt.Errorf("unknown flavor %q", opt.Flavor)
	}
	if opt.LogLevel == "" {
		opt.LogLevel = "stats"
	}
	bin, err := exec.LookPath("slapd")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/slapd"); e != nil {
			return nil, errors.New("slapd is not installed (apt-get install slapd ldap-utils)")
		}
		bin = "/usr/sbin/slapd"
	}
	if _, err := exec.LookPath("ldapadd"); err != nil {
		return nil, errors.New("ldapadd is not installed (apt-get install ldap-utils)")
	}
	// A port picked now may be taken by someone else before slapd binds it:
	// try a few times with new ports.
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		s, err := start(bin, opt)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	return nil, lastErr
}

func start(bin string, opt Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "ldaptest-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		BaseDN: BaseDN, BindDN: ReaderDN, BindPassword: ReaderPassword,
		Dir: dir, Flavor: opt.Flavor, opt: opt,
		conf: filepath.Join(dir, "slapd.conf"), logPath: filepath.Join(dir, "slapd.log"),
		removeFn: func() { os.RemoveAll(dir) },
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.URL = "ldap://127.0.0.1:" + strconv.Itoa(port)
	if opt.TLS {
		sport, err := freePort()
		if err != nil {
			return nil, err
		}
		s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(sport)
		if s.CAFile, err = writeCerts(dir); err != nil {
			return nil, err
		}
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	// slapd drops root for the openldap user when we are root, as the Debian
	// package runs it; that user must own the folder.
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("openldap"); err == nil {
			s.asUser = u
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, uid, gid)
			})
			if err != nil {
				return nil, err
			}
		}
	}
	if err := s.launch(bin); err != nil {
		return nil, err
	}
	if err := s.AddLDIF(seedLDIF(opt.Flavor) + "\n" + opt.Seed); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	ok = true
	return s, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) writeConfig() error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	for _, sc := range []string{"core", "cosine", "inetorgperson", "nis"} {
		p("include /etc/ldap/schema/%s.schema", sc)
	}
	if s.Flavor == FlavorAD {
		if err := os.WriteFile(filepath.Join(s.Dir, "ad.schema"), []byte(adSchema), 0o644); err != nil {
			return err
		}
		p("include %s", filepath.Join(s.Dir, "ad.schema"))
	}
	p("pidfile %s", filepath.Join(s.Dir, "slapd.pid"))
	p("argsfile %s", filepath.Join(s.Dir, "slapd.args"))
	p("modulepath /usr/lib/ldap")
	p("moduleload back_mdb")
	if s.Flavor == FlavorAD {
		p("moduleload memberof")
	} else {
		p("moduleload ppolicy")
	}
	if s.opt.TLS {
		p("TLSCACertificateFile %s", s.CAFile)
		p("TLSCertificateFile %s", filepath.Join(s.Dir, "server.crt"))
		p("TLSCertificateKeyFile %s", filepath.Join(s.Dir, "server.key"))
	}
	// The root DSE and the schema are public, as on any directory: clients
	// read supportedControl and friends from them.
	p(`access to dn.base="" by * read`)
	p(`access to dn.base="cn=Subschema" by * read`)
	p("database mdb")
	p("maxsize 268435456")
	p(`suffix "%s"`, BaseDN)
	p(`rootdn "%s"`, RootDN)
	p("rootpw %s", RootPassword)
	p("directory %s", filepath.Join(s.Dir, "db"))
	// Like AD's MaxPageSize (1000, here 100): an unpaged search stops at
	// 100 entries, a paged one may read everything, so paging is exercised.
	p(`limits dn.exact="%s" size.soft=100 size.hard=100 size.prtotal=unlimited`, ReaderDN)
	p("index objectClass,memberUid,member eq")
	p("index uid,cn,displayName,mail eq,sub")
	if s.Flavor == FlavorAD {
		p("index sAMAccountName,userPrincipalName eq,sub")
		// memberOf on every member, groups included, as AD keeps it.
		p("overlay memberof")
		p("memberof-refint TRUE")
	} else {
		// Without a default policy ppolicy ignores pwdAccountLockedTime.
		p("overlay ppolicy")
		p(`ppolicy_default "%s"`, PolicyDN)
	}
	p(`access to attrs=userPassword by self =w by anonymous auth by * none`)
	p(`access to * by dn.exact="%s" read by self read by * none`, ReaderDN)
	return os.WriteFile(s.conf, []byte(b.String()), 0o644)
}

// adSchema makes slapd look enough like Active Directory for the AD code
// path: the real attribute OIDs of sAMAccountName, userPrincipalName and
// userAccountControl, and "user" and "group" as auxiliary classes (in AD they
// are structural, which OpenLDAP's inetOrgPerson and groupOfNames already are).
const adSchema = `attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
	EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' SUP top AUXILIARY
	MAY ( sAMAccountName $ userPrincipalName $ userAccountControl ) )
objectclass ( 1.2.840.113556.1.5.8 NAME 'group' SUP top AUXILIARY
	MAY ( sAMAccountName ) )
`

func (s *Server) launch(bin string) error {
	hosts := s.URL + "/"
	if s.LDAPSURL != "" {
		hosts += " " + s.LDAPSURL + "/"
	}
	args := []string{"-d", s.opt.LogLevel, "-h", hosts, "-f", s.conf}
	if s.asUser != nil {
		args = append(args, "-u", s.asUser.Username, "-g", "openldap")
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A test binary killed by a timeout must not leave slapd behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("slapd: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("slapd exited at start (%v):\n%s", cmd.ProcessState, s.tail())
		default:
		}
		if c, err := s.RootConn(); err == nil {
			c.Close()
			return nil
		} else if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("slapd does not answer on %s: %v\n%s", s.URL, err, s.tail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) tail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// Log returns slapd's output so far (at the default level, every operation and filter).
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// Stop stops slapd (SIGTERM, then SIGKILL after 10 s) and waits for it; the
// data stays for Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	// A frozen slapd cannot act on SIGTERM.
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart stops slapd and starts it again on the same ports with the same data.
func (s *Server) Restart() error {
	s.Stop()
	bin, err := exec.LookPath("slapd")
	if err != nil {
		bin = "/usr/sbin/slapd"
	}
	var lastErr error
	// The old process's sockets can linger for a moment.
	for i := 0; i < 20; i++ {
		if lastErr = s.launch(bin); lastErr == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return lastErr
}

// Freeze stops slapd with SIGSTOP: connections stay open and new ones are
// accepted by the kernel, but nothing answers — a hung directory.
// It returns once the kernel reports slapd stopped: a signal is delivered
// asynchronously, and a busy machine may let slapd answer one more request.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP, 'T') }

// Thaw resumes a frozen slapd, once it runs again.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT, 0) }

// signal sends sig and, when want is not 0, waits (up to 5 s) until
// /proc/PID/stat shows that process state.
func (s *Server) signal(sig os.Signal, want byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	stat := fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); want != 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		// The state follows the parenthesised command name.
		if i := strings.LastIndexByte(string(b), ')'); err == nil && i+2 < len(b) && b[i+2] == want {
			return
		}
	}
}

// Close stops slapd and removes its folder.
func (s *Server) Close() {
	s.Stop()
	s.mu.Lock()
	done := s.closed
	s.closed = true
	s.mu.Unlock()
	if !done && s.removeFn != nil {
		s.removeFn()
	}
}

// RootConn returns a connection bound as the rootdn; the caller closes it.
func (s *Server) RootConn() (*ldap.Conn, error) {
	c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(5 * time.Second)
	if err := c.Bind(RootDN, RootPassword); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// AddLDIF adds entries with ldapadd as the rootdn.
func (s *Server) AddLDIF(ldif string) error {
	if strings.TrimSpace(ldif) == "" {
		return nil
	}
	pwFile := filepath.Join(s.Dir, "rootpw")
	// ldapadd -y uses the whole file as the password: no newline.
	if err := os.WriteFile(pwFile, []byte(RootPassword), 0o600); err != nil {
		return err
	}
	cmd := exec.Command("ldapadd", "-x", "-H", s.URL, "-D", RootDN, "-y", pwFile)
	cmd.Stdin = strings.NewReader(ldif)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ldapadd: %v: %s", err, out.String())
	}
	return nil
}

// Add adds one entry as the rootdn.
func (s *Server) Add(dn string, attrs map[string][]string) error {
	c, err := s.RootConn()
	if err != nil {
		return err
	}
	defer c.Close()
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	return c.Add(req)
}

// Modify replaces attributes of one entry as the rootdn; an empty list deletes the attribute.
func (s *Server) Modify(dn string, replace map[string][]string) error {
	c, err := s.RootConn()
	if err != nil {
		return err
	}
	defer c.Close()
	req := ldap.NewModifyRequest(dn, nil)
	for k, v := range replace {
		req.Replace(k, v)
	}
	return c.Modify(req)
}

// Delete removes one entry as the rootdn.
func (s *Server) Delete(dn string) error {
	c, err := s.RootConn()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Del(ldap.NewDelRequest(dn, nil))
}

// UserDN returns the DN of a seeded user: uid=NAME in "openldap", cn=Full Name
// in "ad" (as AD names users by their display name, not their login).
func (s *Server) UserDN(name string) string { return UserDN(s.Flavor, name) }

// UserDN returns the DN of a seeded user in a flavor.
func UserDN(flavor, name string) string {
	if flavor == FlavorAD {
		return "cn=" + ldap.EscapeDN(fullName(name)) + "," + PeopleDN
	}
	return "uid=" + ldap.EscapeDN(name) + "," + PeopleDN
}

// GroupDN returns the DN of a seeded group.
func (s *Server) GroupDN(name string) string { return GroupDN(name) }

// GroupDN returns the DN of a seeded group (the same in both flavors).
func GroupDN(name string) string { return "cn=" + ldap.EscapeDN(name) + "," + GroupsDN }

func fullName(name string) string {
	return strings.ToUpper(name[:1]) + name[1:] + " Example"
}

// HashPassword returns an {SSHA} userPassword value, as directories store them.
func HashPassword(pw string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

// UserLDIF returns the LDIF of a user in a flavor, with password Password(name);
// disabled marks it the way the flavor does.
func UserLDIF(flavor, name string, uidNumber int, disabled bool) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("dn: %s", UserDN(flavor, name))
	p("objectClass: inetOrgPerson")
	full := fullName(name)
	if flavor == FlavorAD {
		p("objectClass: user")
		p("cn: %s", full)
		p("sAMAccountName: %s", name)
		p("userPrincipalName: %s@example.org", name)
		uac := 512 // NORMAL_ACCOUNT
		if disabled {
			uac |= 2 // ACCOUNTDISABLE
		}
		p("userAccountControl: %d", uac)
	} else {
		p("objectClass: posixAccount")
		p("cn: %s", full)
		p("uid: %s", name)
		p("uidNumber: %d", uidNumber)
		p("gidNumber: 2000")
		p("homeDirectory: /home/%s", name)
		p("loginShell: /bin/bash")
		if disabled {
			// ppolicy: locked by an administrator until unlocked.
			p("pwdAccountLockedTime: 000001010000Z")
		}
	}
	p("sn: Example")
	p("displayName: %s", full)
	p("mail: %s@example.org", name)
	p("userPassword: %s", HashPassword(Password(name)))
	return b.String()
}

func seedLDIF(flavor string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n", BaseDN)
	for _, ou := range []string{"people", "groups", "system", "policies"} {
		p("dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n", ou, BaseDN, ou)
	}
	if flavor == FlavorOpenLDAP {
		p("dn: %s\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default\npwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 0\n", PolicyDN)
	}
	p("dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: %s\n",
		ReaderDN, HashPassword(ReaderPassword))
	for i, u := range Users {
		p("%s", UserLDIF(flavor, u, 10001+i, u == "mallory"))
	}
	// Members before the groups that contain them, so that the memberof
	// overlay finds them; netops before ops for the same reason.
	group := func(name string, members ...string) {
		p("dn: %s", GroupDN(name))
		p("objectClass: groupOfNames")
		if flavor == FlavorAD {
			p("objectClass: group")
			p("sAMAccountName: %s", name)
		}
		p("cn: %s", name)
		p("description: the %s group", name)
		for _, m := range members {
			p("member: %s", m)
		}
		p("")
	}
	if flavor == FlavorAD {
		group("developers", UserDN(flavor, "alice"), UserDN(flavor, "j.doe-2"), UserDN(flavor, "mallory"))
	} else {
		p("dn: %s\nobjectClass: posixGroup\ncn: developers\ngidNumber: 2001\ndescription: the developers group", GroupDN("developers"))
		p("memberUid: alice\nmemberUid: j.doe-2\nmemberUid: mallory\n")
	}
	group("netops", UserDN(flavor, "dave"))
	group("ops", UserDN(flavor, "alice"), GroupDN("netops"))
	group("admins", UserDN(flavor, "bob"))
	group("auditors", UserDN(flavor, "carol"))
	return b.String()
}
