package handlers

import (
	"context"
	"net/url"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/virt"
)

const isosURL = "/api/v1/hosts/local/isos"

// The ISO library: administrators and auditors list every ISO (paths for
// administrators only); on the test driver, which has no volume contents,
// every ISO is unavailable and the list says why once. Users get 403.
func TestISOLibrary(t *testing.T) {
	e := newEnv(t)
	admin, auditor, alice := e.as("local", "admin"), e.as("test", "audrey"), e.as("local", "alice")
	var l api.ISOList
	r := admin.do("GET", isosURL, nil)
	want(t, r, 200, "")
	r.decode(t, &l)
	if l.Unavailable != "volume_read_not_supported" || len(l.Items) != 5 {
		t.Fatalf("admin's library: %+v", l)
	}
	for _, it := range l.Items {
		if it.Pool != virt.FixturePoolISOs || it.Path == "" || it.Status != api.OSUnavailable || it.OS != nil || it.Capacity == 0 {
			t.Fatalf("admin's item %+v", it)
		}
	}
	var al api.ISOList
	r = auditor.do("GET", isosURL, nil)
	want(t, r, 200, "")
	r.decode(t, &al)
	if len(al.Items) != len(l.Items) {
		t.Fatalf("auditor's library: %+v", al)
	}
	for _, it := range al.Items {
		if it.Path != "" {
			t.Fatalf("an auditor sees the path of %s", it.Name)
		}
	}
	// A user, even one with a guest, has no library.
	want(t, alice.do("GET", isosURL, nil), 403, "forbidden")
	guest := e.guestIn(api.StateShutoff)
	if err := e.vm.SetGrants(context.Background(), guest, []api.Grant{{Kind: "user", Realm: "local", Name: "alice", Role: rbac.RoleManager}}); err != nil {
		t.Fatal(err)
	}
	want(t, alice.do("GET", isosURL, nil), 403, "forbidden")
	want(t, e.client().do("GET", isosURL, nil), 401, "")
	want(t, admin.do("GET", "/api/v1/hosts/elsewhere/isos", nil), 404, "host_not_found")
}

// One volume's OS: 501 with its own code on the test driver; hidden from
// users (404 as if the pool did not exist); missing and hostile names
// answer as every volume route does.
func TestVolumeOS(t *testing.T) {
	e := newEnv(t)
	admin, auditor, alice := e.as("local", "admin"), e.as("test", "audrey"), e.as("local", "alice")
	isoURL := poolsURL + "/isos/volumes/debian-12.8.0-amd64-netinst.iso/os"
	r := admin.do("GET", isoURL, nil)
	want(t, r, 501, "volume_read_not_supported")
	want(t, auditor.do("GET", isoURL, nil), 501, "volume_read_not_supported")
	want(t, alice.do("GET", isoURL, nil), 404, "pool_not_found")
	want(t, admin.do("GET", poolsURL+"/isos/volumes/nope.iso/os", nil), 404, "volume_not_found")
	want(t, admin.do("GET", poolsURL+"/nope/volumes/x.iso/os", nil), 404, "pool_not_found")
	for _, n := range hostileNames {
		t.Run("hostile "+n, func(t *testing.T) {
			want(t, admin.do("GET", poolsURL+"/isos/volumes/"+url.PathEscape(n)+"/os", nil), 400, "invalid_name")
		})
	}
}
