package ldap

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/auth/ldaptest"
)

func TestLDAPInChainFallback(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{Flavor: ldaptest.FlavorAD})
	r := newRealm(t, s, nil)
	for i := 0; i < 3; i++ {
		for _, u := range []string{"alice", "dave", "first_last"} {
			login(t, r.Realm, u)
		}
	}
	if r.inChain.Load() != inChainUnsupported {
		t.Fatalf("slapd answers the in-chain rule with nothing; state %d", r.inChain.Load())
	}
	if n := strings.Count(r.logs.String(), "does not evaluate the in-chain rule"); n != 1 {
		t.Fatalf("fallback logged %d times:\n%s", n, r.logs)
	}
	// slapd received the rule once (and took it for Undefined), then only
	// the level-by-level walk.
	if n := strings.Count(s.Log(), `filter="(&(objectClass=group)(?=undefined))"`); n != 1 {
		t.Fatalf("slapd saw %d in-chain searches, want 1", n)
	}
}

// TestLDAPNestedCache: direct memberships are read at every login; what
// nesting adds is remembered for nested_group_ttl.
func TestLDAPNestedCache(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			const ttl = 300 * time.Millisecond
			cached := newRealm(t, s, func(c *Config) { c.NestedGroupTTL = ttl })
			uncached := newRealm(t, s, func(c *Config) { c.NestedGroupTTL = -1 })
			groups := func(r realmT) []string { t.Helper(); return login(t, r.Realm, "dave").Groups }
			if g := groups(cached); !slices.Equal(g, []string{"netops", "ops"}) {
				t.Fatal(g)
			}
			// netops leaves ops: dave is no longer in ops.
			if err := s.Modify(s.GroupDN("ops"), map[string][]string{"member": {s.UserDN("alice")}}); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			if g := groups(uncached); !slices.Equal(g, []string{"netops"}) {
				t.Fatalf("without the cache: %v", g)
			}
			if g := groups(cached); !slices.Equal(g, []string{"netops", "ops"}) && time.Since(t0) < ttl {
				t.Fatalf("cached nesting not used: %v", g)
			}
			time.Sleep(ttl + 50*time.Millisecond)
			if g := groups(cached); !slices.Equal(g, []string{"netops"}) {
				t.Fatalf("after the TTL: %v", g)
			}
			// A direct membership change shows at once, cache or not.
			if err := s.Modify(s.GroupDN("admins"), map[string][]string{"member": {s.UserDN("bob"), s.UserDN("dave")}}); err != nil {
				t.Fatal(err)
			}
			if p := login(t, cached.Realm, "dave"); !slices.Equal(p.Groups, []string{"admins", "netops"}) || !slices.Equal(p.Roles, []string{"admin"}) {
				t.Fatalf("direct change: %+v", p)
			}
		})
	}
}
