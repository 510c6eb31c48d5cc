package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/virtportal/virtportal/auth"
	authldap "github.com/virtportal/virtportal/auth/ldap"
	"github.com/virtportal/virtportal/auth/ldaptest"
)

// benchLDAP measures an LDAP login through the realm against the floor a
// minimal go-ldap client reaches on the same slapd in the same run, then 50
// concurrent logins.
func benchLDAP() error {
	const (
		user   = "alice" // two groups: a posixGroup and a groupOfNames
		n      = 2000    // measured logins on each side
		rounds = 10
		conc   = 50
	)
	// Quiet slapd: per-operation logging would be part of what is measured.
	s, err := ldaptest.StartProcess(ldaptest.Options{Flavor: ldaptest.FlavorOpenLDAP, LogLevel: "0"})
	if err != nil {
		return err
	}
	defer s.Close()
	dir, err := os.MkdirTemp("", "virtportal-bench-ldap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pwFile := filepath.Join(dir, "bindpw")
	if err := os.WriteFile(pwFile, []byte(s.BindPassword+"\n"), 0o600); err != nil {
		return err
	}
	cfg := authldap.Config{
		URLs: []string{s.URL}, BindDN: s.BindDN, BindPasswordFile: pwFile,
		BaseDN: s.BaseDN, GroupBaseDN: ldaptest.GroupsDN, Flavor: ldaptest.FlavorOpenLDAP,
		Roles: auth.RoleMap{AdminGroups: []string{"admins"}},
	}
	realm, err := authldap.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer realm.Close()
	// The same realm without the nesting cache: every login walks nesting.
	cfg.NestedGroupTTL = -1
	uncached, err := authldap.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer uncached.Close()
	ctx := context.Background()
	pw := ldaptest.Password(user)
	loginWith := func(r *authldap.Realm) func() error {
		return func() error {
			p, err := r.Authenticate(ctx, user, pw)
			if err == nil && len(p.Groups) != 2 {
				err = fmt.Errorf("realm: groups %v", p.Groups)
			}
			return err
		}
	}
	viaRealm, viaUncached := loginWith(realm), loginWith(uncached)
	viaRaw := func() error {
		c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
		if err != nil {
			return err
		}
		defer c.Close()
		return rawLogin(c, s, user, pw)
	}
	// For reference only: one connection kept open and rebound as the
	// service, then as the user, at every login. Cheaper, but a connection
	// that changes identity is what the realm never does.
	kept, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return err
	}
	defer kept.Close()
	viaKept := func() error { return rawLogin(kept, s, user, pw) }

	// Warm both paths (pool, slapd caches) before measuring.
	for range 50 {
		if err := viaRealm(); err != nil {
			return err
		}
		if err := viaRaw(); err != nil {
			return err
		}
		if err := viaKept(); err != nil {
			return err
		}
		if err := viaUncached(); err != nil {
			return err
		}
	}
	// Interleave in rounds so that machine noise hits both alike.
	var realmLat, rawLat, keptLat, uncachedLat []time.Duration
	for range rounds {
		for range n / rounds {
			t0 := time.Now()
			if err := viaRealm(); err != nil {
				return err
			}
			realmLat = append(realmLat, time.Since(t0))
		}
		for range n / rounds {
			t0 := time.Now()
			if err := viaRaw(); err != nil {
				return err
			}
			rawLat = append(rawLat, time.Since(t0))
		}
		for range n / rounds {
			t0 := time.Now()
			if err := viaKept(); err != nil {
				return err
			}
			keptLat = append(keptLat, time.Since(t0))
		}
		for range n / rounds {
			t0 := time.Now()
			if err := viaUncached(); err != nil {
				return err
			}
			uncachedLat = append(uncachedLat, time.Since(t0))
		}
	}

	// 50 logins at once, as after a network blip or at 9 o'clock.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	t0 := time.Now()
	for range conc {
		wg.Go(func() {
			if err := viaRealm(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	concTook := time.Since(t0)

	a50, a99 := percentile(realmLat, .5), percentile(realmLat, .99)
	r50, r99 := percentile(rawLat, .5), percentile(rawLat, .99)
	k50, k99 := percentile(keptLat, .5), percentile(keptLat, .99)
	u50, u99 := percentile(uncachedLat, .5), percentile(uncachedLat, .99)
	ratio := float64(a50) / float64(r50)
	fmt.Printf("LDAP login, slapd on loopback, user with 2 groups (%d logins each, interleaved in %d rounds)\n", n, rounds)
	fmt.Printf("  realm Authenticate    p50 %-12s p99 %s   (pooled service connection; user bind on a new connection while direct groups are read; nesting from its cache)\n", ms(a50), ms(a99))
	fmt.Printf("  raw go-ldap floor     p50 %-12s p99 %s   (baseline, same run: a new connection per login: service bind, search, user bind, close)\n", ms(r50), ms(r99))
	fmt.Printf("  ratio realm/raw p50   %.3f   (goal: <= 1.3)\n", ratio)
	fmt.Printf("  realm, nesting walked p50 %-11s p99 %s   (reference: nested_group_ttl < 0, one more search per login; %.2fx the floor)\n", ms(u50), ms(u99), float64(u50)/float64(r50))
	fmt.Printf("  raw, kept connection  p50 %-12s p99 %s   (reference only: one connection rebound as service then user at each login, no groups; %.2fx)\n", ms(k50), ms(k99), float64(a50)/float64(k50))
	fmt.Printf("  %d concurrent logins  %d errors, all done in %s\n", conc, len(errs), ms(concTook))
	if len(errs) > 0 {
		return fmt.Errorf("concurrent LDAP logins: %d errors, first: %v", len(errs), errs[0])
	}
	if ratio > 1.3 {
		return fmt.Errorf("budget missed: LDAP login p50 %s is %.2f× the raw floor %s", ms(a50), ratio, ms(r50))
	}
	return nil
}

// rawLogin is what a minimal client does on c: service bind, find the
// user's DN, bind as the user on the same connection. It reads no groups, so
// the realm's group reads count against the realm. The baseline runs it on a
// new connection per login, as Kimchi did (ldap.initialize at every login).
func rawLogin(c *ldap.Conn, s *ldaptest.Server, user, pw string) error {
	// No request timeout, as a minimal client: go-ldap's costs a goroutine
	// and a timer per request.
	if err := c.Bind(s.BindDN, s.BindPassword); err != nil {
		return err
	}
	res, err := c.Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 10, false,
		"(&(objectClass=posixAccount)(uid="+ldap.EscapeFilter(user)+"))", []string{"uid"}, nil))
	if err != nil {
		return err
	}
	if len(res.Entries) != 1 {
		return fmt.Errorf("raw: %d entries for %s", len(res.Entries), user)
	}
	if !slices.Contains(res.Entries[0].GetAttributeValues("uid"), user) {
		return fmt.Errorf("raw: unexpected entry %s", res.Entries[0].DN)
	}
	return c.Bind(res.Entries[0].DN, pw)
}
