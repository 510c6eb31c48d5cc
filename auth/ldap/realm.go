// Package ldap is the LDAP and Active Directory login realm: a pool of
// service connections with failover (conn.go), user lookup and bind
// (login.go), groups with nesting (groups.go, ad.go for Active Directory's
// own ways) and directory search for grants (directory.go). It implements
// auth's Realm, Refresher, Directory and Lookup; the caller constructs it.
package ldap

import (
	"crypto/x509"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/virtportal/virtportal/auth"
)

var (
	_ auth.Realm     = (*Realm)(nil)
	_ auth.Refresher = (*Realm)(nil)
	_ auth.Directory = (*Realm)(nil)
	_ auth.Lookup    = (*Realm)(nil)
)

// Realm is a realm backed by an LDAP directory or Active Directory. It is safe
// for concurrent use.
type Realm struct {
	cfg       Config
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

// Name implements Realm.
func (l *Realm) Name() string { return l.cfg.Name }

// CreatorPools are the pools the realm's creators may place disks in.
func (l *Realm) CreatorPools() []string { return l.cfg.Roles.CreatorPools }

// Label implements Realm.
func (l *Realm) Label() string { return l.cfg.Label }
