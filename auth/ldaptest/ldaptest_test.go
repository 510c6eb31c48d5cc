package ldaptest

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestSeed(t *testing.T) {
	for _, flavor := range []string{FlavorOpenLDAP, FlavorAD} {
		t.Run(flavor, func(t *testing.T) {
			s := Start(t, Options{Flavor: flavor, TLS: true})
			c, err := ldap.DialURL(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Bind(s.BindDN, s.BindPassword); err != nil {
				t.Fatal(err)
			}
			// The service account reads but cannot write.
			mod := ldap.NewModifyRequest(s.UserDN("alice"), nil)
			mod.Replace("mail", []string{"x@example.org"})
			if err := c.Modify(mod); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
				t.Fatalf("service account wrote: %v", err)
			}
			res, err := c.Search(ldap.NewSearchRequest(BaseDN, ldap.ScopeWholeSubtree, 0, 0, 0, false,
				"(mail=*@example.org)", []string{"memberOf"}, nil))
			if err != nil || len(res.Entries) != len(Users) {
				t.Fatalf("%d users, %v", len(res.Entries), err)
			}
			if flavor == FlavorAD {
				// memberof overlay: dave is directly in netops only, netops in ops.
				res, err := c.Search(ldap.NewSearchRequest(s.UserDN("dave"), ldap.ScopeBaseObject, 0, 0, 0, false,
					"(objectClass=*)", []string{"memberOf"}, nil))
				if err != nil || !slices.Equal(res.Entries[0].GetAttributeValues("memberOf"), []string{GroupDN("netops")}) {
					t.Fatalf("dave memberOf: %v %v", res, err)
				}
			}
			// Every seeded user binds with their password, except mallory.
			for _, u := range Users {
				uc, err := ldap.DialURL(s.URL)
				if err != nil {
					t.Fatal(err)
				}
				err = uc.Bind(s.UserDN(u), Password(u))
				uc.Close()
				if (u == "mallory") != (err != nil) && flavor == FlavorOpenLDAP {
					t.Errorf("bind %s: %v", u, err)
				}
			}
			s.Stop()
			if _, err := s.RootConn(); err == nil {
				t.Fatal("stopped server answers")
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(s.Log(), "slapd starting") {
				t.Fatalf("no start in the log:\n%s", s.Log())
			}
		})
	}
}

func TestStartProcessRefusesUnknownFlavor(t *testing.T) {
	if _, err := StartProcess(Options{Flavor: "novell"}); err == nil {
		t.Fatal("unknown flavor accepted")
	}
}
