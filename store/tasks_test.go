package store

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
)

// testTasks runs the suite against any implementation of Tasks.
func testTasks(t *testing.T, open func(t *testing.T) Tasks) {
	ctx := context.Background()
	t.Run("create get update", func(t *testing.T) {
		s := open(t)
		tk, err := s.CreateTask(ctx, Task{Kind: "vm.delete", Owner: "pam:alice", Host: "local", Target: "vm:web", Status: TaskQueued, Created: base})
		if err != nil {
			t.Fatal(err)
		}
		if tk.ID == 0 {
			t.Fatal("no id")
		}
		got, err := s.GetTask(ctx, tk.ID)
		if err != nil || got != tk {
			t.Fatalf("get: %+v %v, want %+v", got, err, tk)
		}
		tk.Status, tk.Progress, tk.Message, tk.Started = TaskFailed, 40, "deleting", base.Add(time.Second)
		tk.ErrorCode, tk.ErrorMessage, tk.Finished, tk.Result = "interrupted", "server stopped", base.Add(2*time.Second), "vm:web"
		if err := s.UpdateTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetTask(ctx, tk.ID); got != tk {
			t.Fatalf("after update %+v, want %+v", got, tk)
		}
		if !tk.Ended() {
			t.Error("failed task not ended")
		}
	})
	t.Run("not found", func(t *testing.T) {
		s := open(t)
		if _, err := s.GetTask(ctx, 999); !fault.Is(err, CodeTaskNotFound) {
			t.Fatalf("get: %v", err)
		}
		if err := s.UpdateTask(ctx, Task{ID: 999, Status: TaskDone}); !fault.Is(err, CodeTaskNotFound) {
			t.Fatalf("update: %v", err)
		}
	})
	t.Run("bad status refused", func(t *testing.T) {
		s := open(t)
		if _, err := s.CreateTask(ctx, Task{Kind: "k", Owner: "o", Status: "bogus"}); err == nil {
			t.Fatal("bogus status stored")
		}
	})
	t.Run("list filters and paging", func(t *testing.T) {
		s := open(t)
		var ids []int64
		for i := range 7 {
			tk := Task{Kind: "a", Owner: "pam:alice", Target: "vm:x", Status: TaskDone}
			if i%2 == 1 {
				tk.Kind, tk.Owner, tk.Status = "b", "pam:bob", TaskRunning
			}
			if i == 6 {
				tk.Target = "vm:y"
			}
			tk, err := s.CreateTask(ctx, tk)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, tk.ID)
		}
		count := func(f TaskFilter) []int64 {
			l, err := s.ListTasks(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, x := range l {
				out = append(out, x.ID)
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    TaskFilter
			want []int64
		}{
			{"all newest first", TaskFilter{}, []int64{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
			{"status", TaskFilter{Status: []string{TaskRunning}}, []int64{ids[5], ids[3], ids[1]}},
			{"statuses", TaskFilter{Status: []string{TaskRunning, TaskDone}, Limit: 2}, []int64{ids[6], ids[5]}},
			{"kind", TaskFilter{Kind: "a"}, []int64{ids[6], ids[4], ids[2], ids[0]}},
			{"owner", TaskFilter{Owner: "pam:bob"}, []int64{ids[5], ids[3], ids[1]}},
			{"target", TaskFilter{Target: "vm:y"}, []int64{ids[6]}},
			{"kind and owner mismatch", TaskFilter{Kind: "a", Owner: "pam:bob"}, nil},
			{"injection is a value", TaskFilter{Kind: "a' OR 1=1 --"}, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				got := count(c.f)
				if len(got) != len(c.want) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
				for i := range got {
					if got[i] != c.want[i] {
						t.Fatalf("got %v, want %v", got, c.want)
					}
				}
			})
		}
		// Paging with the cursor visits each task once.
		var seen []int64
		f := TaskFilter{Limit: 3}
		for {
			page, err := s.ListTasks(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range page {
				seen = append(seen, x.ID)
			}
			next := f.Next(page)
			if next == "" {
				break
			}
			f.BeforeID, _ = strconv.ParseInt(next, 10, 64)
		}
		if len(seen) != 7 || seen[0] != ids[6] || seen[6] != ids[0] {
			t.Fatalf("paged %v", seen)
		}
	})
	t.Run("resources", func(t *testing.T) {
		s := open(t)
		a, _ := s.CreateTask(ctx, Task{Kind: "k", Owner: "o", Status: TaskRunning})
		b, _ := s.CreateTask(ctx, Task{Kind: "k", Owner: "o", Status: TaskRunning})
		r1, err := s.AddTaskResource(ctx, TaskResource{TaskID: a.ID, Kind: "volume", Host: "local", Ident: "default/a.qcow2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTaskResource(ctx, TaskResource{TaskID: a.ID, Kind: "domain", Host: "local", Ident: "a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTaskResource(ctx, TaskResource{TaskID: b.ID, Kind: "file", Ident: "/tmp/x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTaskResource(ctx, TaskResource{TaskID: 12345, Kind: "file", Ident: "/tmp/x"}); err == nil {
			t.Error("resource of a missing task stored")
		}
		ra, _ := s.TaskResources(ctx, a.ID)
		if len(ra) != 2 || ra[0].Kind != "volume" || ra[0].Ident != "default/a.qcow2" || ra[1].Kind != "domain" {
			t.Fatalf("resources of a: %+v", ra)
		}
		all, _ := s.TaskResources(ctx, 0)
		if len(all) != 3 {
			t.Fatalf("all resources: %+v", all)
		}
		if err := s.DeleteTaskResource(ctx, r1); err != nil {
			t.Fatal(err)
		}
		if ra, _ := s.TaskResources(ctx, a.ID); len(ra) != 1 {
			t.Fatalf("after delete: %+v", ra)
		}
		if err := s.ClearTaskResources(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if ra, _ := s.TaskResources(ctx, a.ID); len(ra) != 0 {
			t.Fatalf("after clear: %+v", ra)
		}
		// A task that still holds records is not purged.
		b.Status, b.Finished = TaskFailed, base
		a.Status, a.Finished = TaskDone, base
		_ = s.UpdateTask(ctx, a)
		_ = s.UpdateTask(ctx, b)
		n, err := s.PurgeTasks(ctx, base.Add(time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		if _, err := s.GetTask(ctx, b.ID); err != nil {
			t.Fatalf("task with records purged: %v", err)
		}
	})
}

func TestTasksSQLite(t *testing.T) {
	testTasks(t, func(t *testing.T) Tasks { s, _ := openStore(t, ""); return s })
}
