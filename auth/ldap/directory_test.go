package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/auth/ldaptest"
)

func TestLDAPSearch(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			var seed strings.Builder
			for i := 0; i < 260; i++ {
				seed.WriteString(ldaptest.UserLDIF(flavor, fmt.Sprintf("user%03d", i), 20000+i, false) + "\n")
			}
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor, Seed: seed.String()})
			// A name with a star in it, for "* is a literal".
			star := ldaptest.UserLDIF(flavor, "stargazer", 30000, false)
			star = strings.ReplaceAll(star, "displayName: Stargazer Example", "displayName: Star * Gazer")
			if err := s.AddLDIF(star); err != nil {
				t.Fatal(err)
			}
			r := newRealm(t, s, nil)
			big := newRealm(t, s, func(c *Config) { c.SearchLimit = 1000 })
			ctx := context.Background()
			names := func(l []string) func(t *testing.T, got []string) {
				return func(t *testing.T, got []string) {
					t.Helper()
					if !slices.Equal(got, l) {
						t.Fatalf("got %v want %v", got, l)
					}
				}
			}
			cases := []struct {
				name      string
				realm     realmT
				groups    bool
				q         string
				limit     int
				count     int
				truncated bool
				check     func(t *testing.T, got []string)
			}{
				// slapd answers at most 100 entries to an unpaged search:
				// anything above needs RFC 2696 paging.
				{"all 260 over pages", big, false, "user", 1000, 260, false, nil},
				{"capped by search_limit", r, false, "user", 0, 200, true, nil},
				{"capped by limit", r, false, "user", 250, 200, true, nil},
				{"limit", big, false, "user", 50, 50, true, nil},
				{"empty q lists the first", r, false, "", 10, 10, true, nil},
				{"star is literal", r, false, "*", 0, 1, false, names([]string{"stargazer"})},
				{"case-insensitive", r, false, "ALIC", 0, 1, false, names([]string{"alice"})},
				{"by display name", r, false, "Gazer", 0, 1, false, names([]string{"stargazer"})},
				{"no match", r, false, "zzz", 0, 0, false, nil},
				{"parenthesis is literal", r, false, ")(uid=*", 0, 0, false, nil},
				{"NUL", r, false, "a\x00", 0, 0, false, nil},
				{"groups", r, true, "ops", 0, 2, false, names([]string{"netops", "ops"})},
				{"all groups", r, true, "", 0, 5, false, names([]string{"admins", "auditors", "developers", "netops", "ops"})},
				{"group star", r, true, "*", 0, 0, false, nil},
				{"group limit", r, true, "", 3, 3, true, nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					search := tc.realm.SearchUsers
					if tc.groups {
						search = tc.realm.SearchGroups
					}
					res, err := search(ctx, tc.q, tc.limit)
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Items) != tc.count || res.Truncated != tc.truncated {
						t.Fatalf("got %d items truncated=%v, want %d truncated=%v", len(res.Items), res.Truncated, tc.count, tc.truncated)
					}
					var got []string
					for _, it := range res.Items {
						if it.Realm != "ldap" || it.DN == "" || it.Kind != map[bool]string{false: "user", true: "group"}[tc.groups] {
							t.Fatalf("bad entry %+v", it)
						}
						got = append(got, it.Name)
					}
					if tc.check != nil {
						tc.check(t, got)
					}
				})
			}
			t.Run("entry", func(t *testing.T) {
				res, err := r.SearchUsers(ctx, "alice", 0)
				if err != nil || len(res.Items) != 1 {
					t.Fatal(res, err)
				}
				if it := res.Items[0]; it.Name != "alice" || it.Display != "Alice Example" || it.DN != s.UserDN("alice") {
					t.Fatalf("%+v", it)
				}
			})
		})
	}
}

func TestLDAPLookup(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			r := newRealm(t, s, nil)
			ctx := context.Background()
			for _, tc := range []struct {
				name  string
				group bool
				want  bool
			}{
				{"alice", false, true}, {"ALICE", false, true}, {"nobody", false, false},
				{"*", false, false}, {"al*", false, false}, {"", false, false}, {"alice\x00", false, false},
				{"ops", true, true}, {"netops", true, true}, {"op*", true, false}, {"*", true, false},
				{"alice", true, false}, {"ops", false, false},
			} {
				look := r.LookupUser
				if tc.group {
					look = r.LookupGroup
				}
				got, err := look(ctx, tc.name)
				if err != nil || got != tc.want {
					t.Errorf("lookup(group=%v) %q = %v, %v; want %v", tc.group, tc.name, got, err, tc.want)
				}
			}
			// Two entries answering one name: neither exists for grants.
			if err := s.AddLDIF(strings.ReplaceAll(ldaptest.UserLDIF(flavor, "twin", 40001, false), "ou=people", "ou=system")); err != nil {
				t.Fatal(err)
			}
			if err := s.AddLDIF(ldaptest.UserLDIF(flavor, "twin", 40002, false)); err != nil {
				t.Fatal(err)
			}
			if ok, err := r.LookupUser(ctx, "twin"); ok || err == nil {
				t.Fatalf("ambiguous name: %v %v", ok, err)
			}
			// For a grant that is a verdict on the name (422), not a 503.
			realms, err := auth.NewRealms(r.Realm)
			if err != nil {
				t.Fatal(err)
			}
			twin := api.Grant{Kind: "user", Realm: r.Realm.Name(), Name: "twin", Role: "viewer"}
			if fe, err := realms.CheckGrants(ctx, []api.Grant{twin}, nil); err != nil || len(fe) != 1 || !strings.Contains(fe[0].Message, "several entries") {
				t.Fatalf("grant to an ambiguous name: %v %v", fe, err)
			}
			_, err = r.Authenticate(ctx, "twin", ldaptest.Password("twin"))
			wantReason(t, err, auth.ReasonUnknownUser)
		})
	}
}
