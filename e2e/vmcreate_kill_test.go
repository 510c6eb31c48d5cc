//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
)

// SIGKILL of the server while a guest's disk is copied from a template's
// image: after the restart the task is failed (interrupted), no volume is
// left and no guest was defined.
func TestCreateKilledOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool := "vpe2e-vx-" + randomHex()[:8] + "-kill"
	dir := clPool(t, conn, pool, 0)
	writeVolume(t, conn, pool, dir, "big.raw", 2<<30) // long enough a copy to be caught under way on a quiet machine
	data := t.TempDir()
	srv := startVolServer(t, uri, data)
	admin := srv.login(t)

	tp := api.Template{Name: pool, OS: api.TemplateOS{ShortID: "generic"}, VCPUs: 1, MaxVCPUs: 1, MemoryMiB: 64, MaxMemoryMiB: 64,
		Firmware: "bios", Graphics: "none", BootOrder: []string{"hd"},
		Source: api.TemplateSource{Kind: api.SourceDisk, Pool: pool, Volume: "big.raw"},
		Disks:  []api.TemplateDisk{{Pool: pool, Size: 2 << 30, Format: "raw", Bus: "virtio"}}}
	var made api.Template
	if st := admin.call("POST", "/api/v1/templates", tp, &made); st != 201 || len(made.Problems) != 0 {
		t.Fatalf("template: %d %+v", st, made)
	}
	// The template lives in the data dir, removed with it.
	before := dirNames(t, dir)
	name := "vpe2e-vx-" + randomHex()[:8]
	t.Cleanup(func() {
		if d, err := conn.LookupDomainByName(name); err == nil {
			_ = d.Undefine()
			_ = d.Free()
		}
	})
	tk := submit(t, admin, "/api/v1/vms", api.VMCreate{Template: made.ID, Name: name})
	var cur api.Task
	eventually(t, "the copy is under way", 30*time.Second, func() bool {
		cur = api.Task{}
		admin.call("GET", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, &cur)
		return cur.Status == "running" && strings.Contains(cur.Message, "copying") && cur.Progress > 5
	})
	if cur.Progress >= 50 {
		t.Fatalf("the copy ended before the kill: %d %q", cur.Progress, cur.Message)
	}
	t.Logf("killed at %d%%: %s", cur.Progress, cur.Message)
	srv.kill(t)

	again := startVolServer(t, uri, data)
	admin = again.login(t)
	var got api.Task
	if st := admin.call("GET", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, &got); st != 200 {
		t.Fatalf("task after restart: %d", st)
	}
	if got.Status != "failed" || got.Error == nil || got.Error.Code != "interrupted" {
		t.Fatalf("task after restart %+v %+v", got, got.Error)
	}
	if after := dirNames(t, dir); !slices.Equal(after, before) {
		t.Fatalf("left behind: %v (before %v); log:\n%s", after, before, again.logs)
	}
	p, err := conn.LookupStoragePoolByName(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	_ = p.Refresh(0)
	if v, err := p.LookupStorageVolByName(name + ".img"); err == nil {
		_ = v.Free()
		t.Fatal("libvirt still lists the partial copy")
	}
	if d, err := conn.LookupDomainByName(name); err == nil {
		_ = d.Free()
		t.Fatal("the guest was defined")
	}
}
