package vmdisks

import (
	"context"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks/taskstest"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// failingAttach is the real host whose attach fails: what a guest that
// changed between the check and the task looks like.
type failingAttach struct{ *virt.Manager }

func (failingAttach) AttachDisk(context.Context, string, virt.DiskSpec) (api.DiskChange, error) {
	return api.DiskChange{}, virt.CodeDiskTargetInUse.New("taken meanwhile")
}

func TestNewVolumeTask(t *testing.T) {
	ctx := context.Background()
	t.Run("made and attached", func(t *testing.T) {
		e := taskstest.New(t)
		s := New(e.R, "local", e.M, nil)
		_, in, err := s.Attach(ctx, "local:admin", "backup", Caller{}, api.DiskAttach{NewVolume: &api.NewDiskVolume{Pool: virt.FixturePoolDefault, Capacity: 1 << 30}})
		if err != nil || in == nil {
			t.Fatal(in, err)
		}
		if got := e.Wait(in.ID); got.Status != store.TaskDone || got.Result != "vm:backup" {
			t.Fatalf("task %+v", got)
		}
		l, err := e.M.GuestDisks(ctx, "backup")
		if err != nil || len(l.Items) != 2 || l.Items[1].Volume != "backup-disk1.qcow2" || l.Items[1].Target != "vdb" {
			t.Fatalf("disks %+v %v", l, err)
		}
	})
	t.Run("a failed attach deletes the new volume", func(t *testing.T) {
		e := taskstest.New(t)
		s := New(e.R, "local", failingAttach{e.M}, nil)
		_, in, err := s.Attach(ctx, "local:admin", "backup", Caller{}, api.DiskAttach{NewVolume: &api.NewDiskVolume{Pool: virt.FixturePoolDefault, Name: "doomed.qcow2", Capacity: 1 << 30}})
		if err != nil {
			t.Fatal(err)
		}
		got := e.Wait(in.ID)
		if got.Status != store.TaskFailed || got.ErrorCode != "disk_target_in_use" {
			t.Fatalf("task %+v", got)
		}
		if _, err := e.M.Volume(ctx, virt.FixturePoolDefault, "doomed.qcow2"); !fault.Is(err, virt.CodeVolumeNotFound) {
			t.Fatalf("the volume is still there: %v", err)
		}
	})
	t.Run("refused before the task", func(t *testing.T) {
		e := taskstest.New(t)
		s := New(e.R, "local", e.M, nil)
		for _, tc := range []struct {
			name string
			who  Caller
			req  api.DiskAttach
			code fault.Code
		}{
			{"a pool the caller may not use", Caller{Pools: []string{"isos"}}, api.DiskAttach{NewVolume: &api.NewDiskVolume{Pool: virt.FixturePoolDefault, Capacity: 1 << 30}}, CodePoolNotAllowed},
			{"a name taken", Caller{}, api.DiskAttach{NewVolume: &api.NewDiskVolume{Pool: virt.FixturePoolDefault, Name: "scratch.img", Capacity: 1 << 30}}, virt.CodeVolumeExists},
			{"IDE on a running guest", Caller{}, api.DiskAttach{Bus: "ide", NewVolume: &api.NewDiskVolume{Pool: virt.FixturePoolDefault, Capacity: 1 << 30}}, virt.CodeDiskBusNotHotplug},
			{"a CD-ROM with a new volume", Caller{}, api.DiskAttach{Device: "cdrom", NewVolume: &api.NewDiskVolume{Pool: virt.FixturePoolDefault, Capacity: 1 << 30}}, CodeDiskSource},
			{"a host path without roots", Caller{HostPaths: true}, api.DiskAttach{Path: "/srv/x.img"}, CodeHostPathOutside},
			{"a host path from a non-admin", Caller{}, api.DiskAttach{Path: "/srv/x.img"}, CodeHostPathForbidden},
		} {
			guest := "backup"
			if tc.name == "IDE on a running guest" {
				guest = "web01"
			}
			_, in, err := s.Attach(ctx, "local:mgr", guest, tc.who, tc.req)
			if !fault.Is(err, tc.code) || in != nil {
				t.Fatalf("%s: %v %v", tc.name, in, err)
			}
		}
	})
}
