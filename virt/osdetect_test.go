package virt

import (
	"context"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/virt/iso9660"
	"github.com/virtportal/virtportal/virt/osinfo"
)

var (
	osdbOnce sync.Once
	osdb     *osinfo.DB
	osdbErr  error
)

// systemOSInfo is the system's osinfo database; missing, the test fails
// (scripts/deps.sh build installs osinfo-db).
func systemOSInfo(t *testing.T) *osinfo.DB {
	t.Helper()
	osdbOnce.Do(func() { osdb, osdbErr = osinfo.Load(osinfo.DefaultPath) })
	if osdbErr != nil {
		t.Fatalf("the osinfo database is needed: %v", osdbErr)
	}
	return osdb
}

// The test driver has no volume contents: detection says so with its own
// code, and the ISO library lists every ISO as unavailable, saying why once.
func TestOSDetectionOnTestDriver(t *testing.T) {
	// Generated guests have no CD-ROMs, so the isos pool can be stopped.
	m := startFixtureCfg(t, FixtureOptions{Guests: 2, Seed: 1}, Config{OSInfo: systemOSInfo(t)})
	ctx := context.Background()
	iso := demoISOs[0].name
	_, err := m.VolumeOS(ctx, FixturePoolISOs, iso)
	wantCode(t, err, CodeVolumeReadNotSupported)

	_, err = m.VolumeOS(ctx, FixturePoolISOs, "no-such.iso")
	wantCode(t, err, CodeVolumeNotFound)
	_, err = m.VolumeOS(ctx, "no-such-pool", iso)
	wantCode(t, err, CodePoolNotFound)
	_, err = m.VolumeOS(ctx, FixturePoolISOs, "../x.iso")
	wantCode(t, err, CodeInvalidName)

	list, err := m.ListISOs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list.Unavailable != api.OSReasonNotSupported {
		t.Fatalf("unavailable %q", list.Unavailable)
	}
	if len(list.Items) != len(demoISOs) {
		t.Fatalf("%d ISOs, want %d: %+v", len(list.Items), len(demoISOs), list.Items)
	}
	for i, it := range list.Items {
		if it.Pool != FixturePoolISOs || !IsISOName(it.Name) || it.Status != api.OSUnavailable || it.OS != nil ||
			it.Reason != api.OSReasonNotSupported || it.Capacity == 0 || it.Path == "" {
			t.Errorf("item %+v", it)
		}
		if i > 0 && list.Items[i-1].Name > it.Name {
			t.Errorf("not sorted: %s before %s", list.Items[i-1].Name, it.Name)
		}
	}
	// A stopped pool's ISOs are not listed.
	if _, err := m.StopPool(ctx, FixturePoolISOs); err != nil {
		t.Fatal(err)
	}
	list, err = m.ListISOs(ctx)
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("after stopping the pool: %+v %v", list, err)
	}
	_, err = m.VolumeOS(ctx, FixturePoolISOs, iso)
	wantCode(t, err, CodePoolInactive)
}

// answer: a read descriptor becomes an OS through the database; no
// descriptor, no database or no match is unknown with its reason.
func TestOSAnswer(t *testing.T) {
	withDB := New(Config{OSInfo: systemOSInfo(t)})
	noDB := New(Config{})
	deb := &iso9660.PVD{VolumeID: "Debian 11.5.0 amd64 n", SystemID: "LINUX"}
	cases := []struct {
		name    string
		m       *Manager
		r       osRead
		status  string
		shortID string
		reason  string
	}{
		{"detected", withDB, osRead{pvd: deb}, api.OSDetected, "debian11", ""},
		{"windows", withDB, osRead{pvd: &iso9660.PVD{VolumeID: "CCCOMA_X64FRE_EN-US_DV9", PublisherID: "MICROSOFT CORPORATION"}}, api.OSDetected, "win10", ""},
		{"unrecognised", withDB, osRead{pvd: &iso9660.PVD{VolumeID: "MY_BACKUP"}}, api.OSUnknown, "", api.OSReasonUnrecognised},
		{"not an iso", withDB, osRead{reason: api.OSReasonNotISO}, api.OSUnknown, "", api.OSReasonNotISO},
		{"no database", noDB, osRead{pvd: deb}, api.OSUnknown, "", api.OSReasonNoDatabase},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, o, reason := c.m.answer(c.r)
			if status != c.status || reason != c.reason || (o == nil) != (c.shortID == "") || (o != nil && o.ShortID != c.shortID) {
				t.Fatalf("got %s %+v %q", status, o, reason)
			}
		})
	}
}

// The cache is keyed by the volume's content marks and starts over when full.
func TestOSCache(t *testing.T) {
	var c osCache
	k := osKey{key: "/p/a.iso", capacity: 1 << 30, allocation: 1 << 30, mtime: "1700000000.1"}
	c.put(k, osRead{reason: api.OSReasonNotISO})
	if r, ok := c.get(k); !ok || r.reason != api.OSReasonNotISO {
		t.Fatalf("get %+v %v", r, ok)
	}
	changed := k
	changed.mtime = "1700000001.0"
	if _, ok := c.get(changed); ok {
		t.Fatal("a rewritten volume hit the cache")
	}
	for i := 0; i < maxOSCache; i++ {
		c.put(osKey{key: "k", capacity: uint64(i)}, osRead{})
	}
	if len(c.m) > maxOSCache {
		t.Fatalf("cache grew to %d", len(c.m))
	}
}
