package virt

import (
	"context"
	"slices"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// What QEMU with this host's libvirt (9.0) allows: internal snapshots of
// qcow2 disks, with memory when the guest runs; no UEFI, no raw disks.
func TestSnapshotCaps(t *testing.T) {
	disk := func(format, device string, ro bool) libvirtxml.DomainDisk {
		d := libvirtxml.DomainDisk{Device: device, Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: format},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: "/x"}},
			Target: &libvirtxml.DomainDiskTarget{Dev: "vda"}}
		if ro {
			d.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
		}
		return d
	}
	dom := func(os *libvirtxml.DomainOS, disks ...libvirtxml.DomainDisk) *libvirtxml.Domain {
		return &libvirtxml.Domain{OS: os, Devices: &libvirtxml.DomainDeviceList{Disks: disks}}
	}
	bios := &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}}
	for _, tc := range []struct {
		name    string
		d       *libvirtxml.Domain
		running bool
		want    api.SnapshotCaps
	}{
		{"bios qcow2 off", dom(bios, disk("qcow2", "disk", false)), false, api.SnapshotCaps{Create: true}},
		{"bios qcow2 running", dom(bios, disk("qcow2", "disk", false), disk("raw", "cdrom", true)), true, api.SnapshotCaps{Create: true, Memory: true, MemoryRequired: true}},
		{"raw disk", dom(bios, disk("raw", "disk", false)), false, api.SnapshotCaps{Reason: CodeSnapshotDiskFormat.Name}},
		{"uefi firmware", dom(&libvirtxml.DomainOS{Firmware: "efi"}, disk("qcow2", "disk", false)), false, api.SnapshotCaps{Reason: CodeSnapshotUEFI.Name}},
		{"uefi pflash", dom(&libvirtxml.DomainOS{Loader: &libvirtxml.DomainLoader{Type: "pflash", Path: "/x"}}, disk("qcow2", "disk", false)), true, api.SnapshotCaps{Reason: CodeSnapshotUEFI.Name}},
		{"running diskless", dom(bios), true, api.SnapshotCaps{Reason: CodeSnapshotNoDisk.Name}},
		{"off diskless", dom(bios), false, api.SnapshotCaps{Create: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := snapshotCapsOf(tc.d, tc.running)
			got.Message = ""
			if got != tc.want {
				t.Fatalf("caps = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The tree on the test driver: create, list with parents and children,
// revert, delete with the children moving up; bad input changes nothing.
func TestSnapshotTree(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	const g = "backup"
	for _, n := range []string{"a-base", "b-mid", "c-top"} {
		if err := m.CreateSnapshot(ctx, g, api.SnapshotRequest{Name: n, Description: "snapshot " + n}); err != nil {
			t.Fatal(n, err)
		}
	}
	if _, err := m.RevertSnapshot(ctx, g, "a-base"); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateSnapshot(ctx, g, api.SnapshotRequest{Name: "d-side"}); err != nil {
		t.Fatal(err)
	}
	l, err := m.Snapshots(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	names := func(l api.SnapshotList) []string {
		var out []string
		for _, s := range l.Items {
			out = append(out, s.Name+"<"+s.Parent)
		}
		return out
	}
	if got := names(l); !slices.Equal(got, []string{"a-base<", "b-mid<a-base", "c-top<b-mid", "d-side<a-base"}) {
		t.Fatalf("tree = %v", got)
	}
	if l.Current != "d-side" || !l.Items[3].Current || !slices.Equal(l.Items[0].Children, []string{"b-mid", "d-side"}) || l.Items[0].Description != "snapshot a-base" {
		t.Fatalf("list = %+v", l)
	}
	if !l.Capabilities.Create || l.Capabilities.Note != "test_driver" {
		t.Fatalf("caps = %+v", l.Capabilities)
	}
	for _, tc := range []struct {
		req  api.SnapshotRequest
		code string
	}{
		{api.SnapshotRequest{Name: "a-base"}, CodeSnapshotExists.Name},
		{api.SnapshotRequest{Name: "../x"}, CodeInvalidName.Name},
		{api.SnapshotRequest{Name: ""}, CodeInvalidName.Name},
		{api.SnapshotRequest{Name: "ok", Description: string(make([]byte, 2000))}, CodeInvalidDescription.Name},
		{api.SnapshotRequest{Name: "ok", Memory: ptr(true)}, CodeSnapshotNoMemory.Name},
	} {
		err := m.CreateSnapshot(ctx, g, tc.req)
		if f := wantKindOf(t, err); f != tc.code {
			t.Fatalf("%+v: %s, want %s", tc.req, f, tc.code)
		}
	}
	if err := m.DeleteSnapshot(ctx, g, "b-mid"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.DeleteSnapshot(ctx, g, "b-mid"), CodeSnapshotNotFound)
	_, err = m.RevertSnapshot(ctx, g, "nope")
	wantCode(t, err, CodeSnapshotNotFound)
	if l, err = m.Snapshots(ctx, g); err != nil {
		t.Fatal(err)
	}
	if got := names(l); !slices.Equal(got, []string{"a-base<", "c-top<a-base", "d-side<a-base"}) {
		t.Fatalf("tree after deleting mid = %v", got)
	}
}

// wantKindOf is err's code name ("" for nil).
func wantKindOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	if f := fault.As(err); f != nil {
		return f.Code.Name
	}
	t.Fatalf("not a fault: %v", err)
	return ""
}
