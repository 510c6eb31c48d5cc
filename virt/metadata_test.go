package virt

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
)

func TestMetadataFromAnotherConnection(t *testing.T) {
	m := startURI(t, defaultURI)
	other := openConn(t, defaultURI)
	const name = "md-guest"
	dom, err := other.DomainDefineXML(testDomainXML(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	t.Cleanup(func() { _ = dom.Undefine() })
	eventually(t, time.Second, "guest indexed", func() bool { return m.Exists(name) })
	if g, _ := m.Grants(name); len(g) != 0 {
		t.Fatalf("new guest has grants %v", g)
	}

	want := []api.Grant{
		{Kind: "user", Realm: "pam", Name: "alice", Role: api.RoleOperator},
		{Kind: "group", Realm: "ldap", Name: "ops", Role: api.RoleViewer},
	}
	doc, err := MarshalGuestMetadata(GuestMetadata{OS: api.OSInfo{Distro: "debian", Version: "12"}, Grants: want}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, doc, MetadataPrefix, MetadataNS, libvirt.DOMAIN_AFFECT_CONFIG); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "grants from metadata", func() bool {
		g, _ := m.Grants(name)
		return slices.Equal(g, want)
	})
	if vm := mustVM(t, m, name); vm.OS == nil || vm.OS.Distro != "debian" {
		t.Fatalf("OS not indexed: %+v", vm.OS)
	}

	// A revoke made with virsh is seen just as fast.
	if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, "", MetadataPrefix, MetadataNS, libvirt.DOMAIN_AFFECT_CONFIG); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "grants removed", func() bool {
		g, _ := m.Grants(name)
		return len(g) == 0
	})
}

func TestKimchiMetadata(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	for _, tc := range []struct {
		guest string
		want  []api.Grant
	}{
		{"jenkins-old", []api.Grant{
			{Kind: "user", Realm: "pam", Name: "bob", Role: api.RoleOperator},
			{Kind: "group", Realm: "pam", Name: "developers", Role: api.RoleOperator},
		}},
		{"intranet-kimchi", []api.Grant{
			{Kind: "user", Realm: "pam", Name: "alice", Role: api.RoleOperator},
			{Kind: "user", Realm: "pam", Name: "carol", Role: api.RoleOperator},
		}},
	} {
		t.Run(tc.guest, func(t *testing.T) {
			g, ok := m.Grants(tc.guest)
			if !ok || !slices.Equal(g, tc.want) {
				t.Fatalf("grants %v, want %v", g, tc.want)
			}
		})
	}

	// Kimchi's metadata as Kimchi wrote it through the API, where libvirt
	// qualifies every child with the prefix.
	c := conn(t, m)
	dom, err := c.LookupDomainByName("vpn")
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, "", MetadataPrefix, MetadataNS, libvirt.DOMAIN_AFFECT_LIVE|libvirt.DOMAIN_AFFECT_CONFIG); err != nil {
		t.Fatal(err)
	}
	kdoc := `<metadata><access><auth type="pam"><user>dave</user></auth></access><os distro="centos" version="7"/></metadata>`
	if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, kdoc, "kimchi", KimchiNS, libvirt.DOMAIN_AFFECT_LIVE|libvirt.DOMAIN_AFFECT_CONFIG); err != nil {
		t.Fatal(err)
	}
	want := []api.Grant{{Kind: "user", Realm: "pam", Name: "dave", Role: api.RoleOperator}}
	eventually(t, time.Second, "kimchi grants via event", func() bool {
		g, _ := m.Grants("vpn")
		return slices.Equal(g, want)
	})
	if vm := mustVM(t, m, "vpn"); vm.OS == nil || vm.OS.Distro != "centos" {
		t.Fatalf("kimchi OS not used: %+v", vm.OS)
	}
	// A full re-read (as at reconnect) agrees with the event path.
	if err := m.rebuild(false); err != nil {
		t.Fatal(err)
	}
	if g, _ := m.Grants("vpn"); !slices.Equal(g, want) {
		t.Fatalf("after rebuild: %v", g)
	}
}

func TestSetGrants(t *testing.T) {
	ctx := context.Background()
	grants := []api.Grant{
		{Kind: "user", Realm: "pam", Name: "erin", Role: api.RoleManager},
		{Kind: "group", Realm: "ldap", Name: "cn=ops,ou=groups,dc=example,dc=org", Role: api.RoleViewer},
		{Kind: "user", Realm: "local", Name: "demo", Role: api.RoleOperator},
	}
	// The index lists users before groups.
	wantIdx := []api.Grant{grants[0], grants[2], grants[1]}

	for _, guest := range []string{"web01", "web06", "jenkins-old"} { // running, shut off, Kimchi
		t.Run(guest, func(t *testing.T) {
			t.Parallel()
			m := startFixture(t, FixtureOptions{})
			c := conn(t, m)
			dom, err := c.LookupDomainByName(guest)
			if err != nil {
				t.Fatal(err)
			}
			defer dom.Free()
			active, _ := dom.IsActive()
			flagSets := []libvirt.DomainModificationImpact{libvirt.DOMAIN_AFFECT_CONFIG}
			if active {
				flagSets = append(flagSets, libvirt.DOMAIN_AFFECT_LIVE)
			}
			// Something a newer version (or a human) added must survive.
			for _, f := range flagSets {
				cur, err := getMetadata(dom, MetadataNS, f)
				if err != nil {
					t.Fatal(err)
				}
				if cur == "" {
					continue
				}
				g, err := parseGuestMeta(cur)
				if err != nil {
					t.Fatal(err)
				}
				g.Extra = append(g.Extra, rawElement{Attrs: nil, Inner: []byte("keep me")})
				g.Extra[len(g.Extra)-1].XMLName.Local = "note"
				doc, err := marshalGuestMeta(g, false)
				if err != nil {
					t.Fatal(err)
				}
				if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, doc, MetadataPrefix, MetadataNS, f); err != nil {
					t.Fatal(err)
				}
			}

			if err := m.SetGrants(ctx, guest, grants); err != nil {
				t.Fatal(err)
			}
			// Synchronous: no waiting for the event.
			if g, _ := m.Grants(guest); !slices.Equal(g, wantIdx) {
				t.Fatalf("grants %v, want %v", g, wantIdx)
			}
			for _, f := range flagSets {
				cur, err := getMetadata(dom, MetadataNS, f)
				if err != nil {
					t.Fatal(err)
				}
				info, err := infoFromMeta(cur, "")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(info.grants, wantIdx) {
					t.Fatalf("flags %d: stored grants %v", f, info.grants)
				}
				if guest != "jenkins-old" {
					if info.os == nil || info.os.Distro != "debian" || !strings.Contains(cur, "nic-model=\"virtio\"") || !strings.Contains(cur, "keep me") {
						t.Fatalf("flags %d: <os>, <defaults> or unknown content lost:\n%s", f, cur)
					}
				}
			}
			// Revoking everything leaves an empty <access>, which also
			// overrides Kimchi's grants.
			if err := m.SetGrants(ctx, guest, nil); err != nil {
				t.Fatal(err)
			}
			if g, _ := m.Grants(guest); len(g) != 0 {
				t.Fatalf("after revoke: %v", g)
			}
			if err := m.rebuild(false); err != nil {
				t.Fatal(err)
			}
			if g, _ := m.Grants(guest); len(g) != 0 {
				t.Fatalf("after revoke and rebuild: %v", g)
			}
			if vm := mustVM(t, m, guest); guest != "jenkins-old" && (vm.OS == nil || vm.OS.Distro != "debian") {
				t.Fatalf("OS lost: %+v", vm.OS)
			}
		})
	}

	t.Run("invalid grants", func(t *testing.T) {
		t.Parallel()
		m := startFixture(t, FixtureOptions{})
		for _, bad := range [][]api.Grant{
			{{Kind: "robot", Realm: "pam", Name: "x", Role: api.RoleViewer}},
			{{Kind: "user", Realm: "pam", Name: "x", Role: "owner"}},
			{{Kind: "user", Realm: "", Name: "x", Role: api.RoleViewer}},
			{{Kind: "user", Realm: "pam", Name: "", Role: api.RoleViewer}},
			{{Kind: "user", Realm: "pam", Name: "a\nb", Role: api.RoleViewer}},
			{{Kind: "user", Realm: "pam", Name: "x", Role: api.RoleViewer}, {Kind: "user", Realm: "pam", Name: "x", Role: api.RoleManager}},
		} {
			ae := wantCode(t, m.SetGrants(ctx, "web01", bad), CodeInvalidGrants)
			if len(ae.Details) == 0 {
				t.Fatalf("%v: no details", bad)
			}
		}
	})
}
