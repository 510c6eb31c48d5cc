package handlers

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
)

// holdKind registers a task kind that runs until its release channel is
// closed or it is cancelled.
func holdKind(e *env, release chan struct{}) *tasks.Kind[struct{}] {
	return tasks.Register(e.srv.d.Tasks, "test.hold", func(ctx context.Context, t *tasks.T, _ struct{}) error {
		t.Progress(10, "holding")
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// waitTask polls GET /api/v1/tasks/{id} until the task has ended.
func (c *client) waitTask(t *testing.T, id int64) api.Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var tk api.Task
		r := c.do("GET", "/api/v1/tasks/"+strconv.FormatInt(id, 10), nil)
		want(t, r, 200, "")
		r.decode(t, &tk)
		if tk.Finished != nil {
			return tk
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %d still %s", id, tk.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTasksAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	release := make(chan struct{})
	defer close(release)
	k := holdKind(e, release)
	mine, err := k.Submit(ctx, tasks.Spec{Owner: "local:alice", Host: "local", Target: "vm:x"}, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := k.Submit(ctx, tasks.Spec{Owner: "local:admin", Host: "local", Target: "vm:y"}, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	alice, view, admin, auditor := e.as("local", "alice"), e.as("local", "view"), e.as("local", "admin"), e.as("test", "audrey")
	path := func(id int64) string { return "/api/v1/tasks/" + strconv.FormatInt(id, 10) }

	t.Run("lists show one's own; admins and auditors all", func(t *testing.T) {
		for _, c := range []struct {
			who  *client
			name string
			want []int64
		}{{alice, "alice", []int64{mine.ID}}, {view, "view", nil}, {admin, "admin", []int64{theirs.ID, mine.ID}}, {auditor, "auditor", []int64{theirs.ID, mine.ID}}} {
			var l api.TaskList
			r := c.who.do("GET", "/api/v1/tasks?owner=local:admin", nil) // owner is ignored for a user
			want(t, r, 200, "")
			r.decode(t, &l)
			if c.name == "admin" || c.name == "auditor" {
				// they may filter by owner
				if len(l.Items) != 1 || l.Items[0].ID != theirs.ID {
					t.Fatalf("%s with owner filter: %+v", c.name, l.Items)
				}
				c.who.do("GET", "/api/v1/tasks", nil).decode(t, &l)
			}
			var got []int64
			for _, it := range l.Items {
				got = append(got, it.ID)
			}
			if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
				t.Fatalf("%s sees %v, want %v", c.name, got, c.want)
			}
		}
	})
	t.Run("foreign task is not found", func(t *testing.T) {
		want(t, view.do("GET", path(mine.ID), nil), 404, "task_not_found")
		want(t, view.do("DELETE", path(mine.ID), nil), 404, "task_not_found")
		want(t, alice.do("GET", path(theirs.ID), nil), 404, "task_not_found")
		want(t, alice.do("GET", "/api/v1/tasks/abc", nil), 404, "task_not_found")
		want(t, alice.do("GET", "/api/v1/tasks/999999", nil), 404, "task_not_found")
		// An auditor sees it but may not cancel it.
		want(t, auditor.do("GET", path(mine.ID), nil), 200, "")
		want(t, auditor.do("DELETE", path(mine.ID), nil), 403, "")
	})
	t.Run("get shows progress and the cancel action", func(t *testing.T) {
		var tk api.Task
		r := alice.do("GET", path(mine.ID), nil)
		want(t, r, 200, "")
		r.decode(t, &tk)
		if tk.Owner != "local:alice" || tk.Kind != "test.hold" || tk.Target != "vm:x" || tk.Host != "local" ||
			len(tk.AllowedActions) != 1 || tk.AllowedActions[0] != "task.cancel" {
			t.Fatalf("task %+v", tk)
		}
	})
	t.Run("bad filters", func(t *testing.T) {
		for _, q := range []string{"status=bogus", "status=done,", "limit=0", "limit=5000", "cursor=-1", "cursor=x"} {
			want(t, alice.do("GET", "/api/v1/tasks?"+q, nil), 400, "bad_request")
		}
	})
	t.Run("owner cancels; a second cancel conflicts", func(t *testing.T) {
		r := alice.do("DELETE", path(mine.ID), nil)
		if r.status != http.StatusAccepted && r.status != http.StatusOK {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		tk := alice.waitTask(t, mine.ID)
		if tk.Status != store.TaskCancelled || tk.Error == nil || tk.Error.Code != "cancelled" || len(tk.AllowedActions) != 0 {
			t.Fatalf("after cancel %+v", tk)
		}
		want(t, alice.do("DELETE", path(mine.ID), nil), 409, "task_ended")
		evs := e.audit(store.AuditFilter{Action: "task.*", Target: "task:" + strconv.FormatInt(mine.ID, 10)})
		var acts []string
		for i := len(evs) - 1; i >= 0; i-- {
			acts = append(acts, evs[i].Action+"="+evs[i].Result+"@"+evs[i].Actor)
		}
		// Refusals by the task scope are "denied", with the task as their target.
		wantActs := []string{"task.start=ok@local:alice", "task.cancel=denied:task_not_found@local:view", "task.cancel=denied:forbidden@test:audrey", "task.cancel=ok@local:alice", "task.end=error:cancelled@local:alice", "task.cancel=error:task_ended@local:alice"}
		// The route's record of a cancel and the task's own end race.
		slices.Sort(acts)
		slices.Sort(wantActs)
		if !slices.Equal(acts, wantActs) {
			t.Fatalf("audit %v, want %v", acts, wantActs)
		}
	})
	t.Run("admin cancels anyone's", func(t *testing.T) {
		want(t, admin.do("DELETE", path(theirs.ID), nil), 202, "")
		if tk := admin.waitTask(t, theirs.ID); tk.Status != store.TaskCancelled {
			t.Fatalf("%+v", tk)
		}
	})
	t.Run("filters and paging", func(t *testing.T) {
		var l api.TaskList
		admin.do("GET", "/api/v1/tasks?status=cancelled&kind=test.hold&limit=1", nil).decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].ID != theirs.ID || l.Next == "" {
			t.Fatalf("page 1 %+v", l)
		}
		admin.do("GET", "/api/v1/tasks?status=cancelled&kind=test.hold&limit=1&cursor="+l.Next, nil).decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].ID != mine.ID {
			t.Fatalf("page 2 %+v", l)
		}
		admin.do("GET", "/api/v1/tasks?target=vm:y", nil).decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].ID != theirs.ID || l.Next != "" {
			t.Fatalf("by target %+v", l)
		}
	})
}

func TestDeleteWithVolumesIsATask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	name := "web06"
	d, err := e.vm.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, disk := range d.Devices.Disks {
		if disk.Device == "disk" {
			paths = append(paths, disk.Source)
		}
	}
	admin := e.as("local", "admin")
	// Refusals stay immediate: a running guest, an unknown one.
	want(t, admin.do("DELETE", "/api/v1/vms/"+e.guestIn(api.StateRunning)+"?volumes=true", nil), 409, "")
	want(t, admin.do("DELETE", "/api/v1/vms/nosuch?volumes=true", nil), 404, "")

	r := admin.do("DELETE", "/api/v1/vms/"+name+"?volumes=true", nil)
	want(t, r, 202, "")
	var tk api.Task
	r.decode(t, &tk)
	if r.header.Get("Location") != "/api/v1/tasks/"+strconv.FormatInt(tk.ID, 10) || tk.Kind != "vm.delete" || tk.Target != "vm:"+name {
		t.Fatalf("answer %s %+v", r.header.Get("Location"), tk)
	}
	tk = admin.waitTask(t, tk.ID)
	if tk.Status != store.TaskDone || tk.Result != "vm:"+name || tk.Progress != 100 {
		t.Fatalf("task %+v", tk)
	}
	if e.vm.Exists(name) {
		t.Fatal("guest still there")
	}
	for _, p := range paths {
		if ok, err := e.vm.VolumeExists(ctx, p); err != nil || ok {
			t.Fatalf("volume %s exists=%v %v", p, ok, err)
		}
	}
	evs := e.audit(store.AuditFilter{Action: "vm.delete"})
	if len(evs) == 0 || evs[0].Result != "ok" || evs[0].Reason != "task:"+strconv.FormatInt(tk.ID, 10) {
		t.Fatalf("audit %+v", evs)
	}
	// Without volumes it stays a synchronous 204.
	other := e.guestIn(api.StateShutoff)
	want(t, admin.do("DELETE", "/api/v1/vms/"+other, nil), 204, "")
}
