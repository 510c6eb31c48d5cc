package handlers

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/events"
	"github.com/virtportal/virtportal/services/storage"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/templates"
	"github.com/virtportal/virtportal/services/vmclone"
	"github.com/virtportal/virtportal/services/vmcreate"
	"github.com/virtportal/virtportal/services/vmdisks"
	"github.com/virtportal/virtportal/services/vmsnapshots"
	"github.com/virtportal/virtportal/services/vmtasks"
	"github.com/virtportal/virtportal/store"
)

// TaskOptions tune the task runner and the event stream.
type TaskOptions struct {
	PerHost int // running tasks per host; 0: 4
	PerUser int // running tasks per user; 0: 2
	// Heartbeat is the period of the event stream's ping comment, at which
	// the stream's session is checked too; 0: 15 s.
	Heartbeat time.Duration
}

// initTasks builds the task runner and the event broker unless the caller
// gave them, sweeps what a previous process left, and wires task changes
// and the guest index into the broker.
func (s *Server) initTasks() error {
	o := &s.opt.Tasks
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if s.d.Events == nil {
		s.d.Events = events.New(s.d.Authz, events.Options{Decorate: func(p rbac.Principal, vm *api.VM) {
			if err := s.guests.DecorateRole(p, vm); err != nil {
				s.log.Error("allowed actions of an event", "guest", vm.Name, "err", err)
			}
		}})
	}
	if s.d.Store == nil {
		return nil // a route-table-only server (tests): no tasks
	}
	if s.d.Templates == nil && s.d.Virt != nil {
		s.d.Templates = templates.New(s.d.Store, s.d.Virt, s.now) // what guest creation reads (issue 10)
	}
	if s.d.Tasks == nil {
		s.d.Tasks = tasks.New(s.d.Store, s.d.Store, tasks.Options{PerHost: o.PerHost, PerUser: o.PerUser, Logger: s.log})
		s.d.VMTasks = vmtasks.Register(s.d.Tasks, s.opt.Host, s.d.Virt)
		s.d.Clones = vmclone.Register(s.d.Tasks, s.opt.Host, s.d.Virt, s.opt.Clone)   // guest clones (issue 10)
		s.d.Disks = vmdisks.New(s.d.Tasks, s.opt.Host, s.d.Virt, s.opt.HostPathRoots) // disk edits (issue 11)
		// Before Start: its sweep needs the storage cleaner.
		s.d.Storage = storage.New(s.d.Tasks, s.opt.Host, s.d.Virt)
		s.d.VolumeOps = storage.NewOps(s.d.Tasks, s.d.Storage, s.opt.Host, s.d.Virt, s.opt.VolumeOps)
		s.d.VMCreate = vmcreate.New(s.d.Tasks, s.opt.Host, s.d.Virt, s.d.Templates)
		s.d.Snapshots = vmsnapshots.Register(s.d.Tasks, s.opt.Host, s.d.Virt) // guest snapshots (issue 11)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := s.d.Tasks.Start(ctx); err != nil {
			return err
		}
	}
	if s.d.VMTasks == nil {
		s.d.VMTasks = vmtasks.Register(s.d.Tasks, s.opt.Host, s.d.Virt)
	}
	if s.d.Clones == nil {
		s.d.Clones = vmclone.Register(s.d.Tasks, s.opt.Host, s.d.Virt, s.opt.Clone)
	}
	if s.d.Disks == nil {
		s.d.Disks = vmdisks.New(s.d.Tasks, s.opt.Host, s.d.Virt, s.opt.HostPathRoots)
	}
	if s.d.Storage == nil { // a runner the caller gave, started already
		s.d.Storage = storage.New(s.d.Tasks, s.opt.Host, s.d.Virt)
	}
	if s.d.VolumeOps == nil {
		s.d.VolumeOps = storage.NewOps(s.d.Tasks, s.d.Storage, s.opt.Host, s.d.Virt, s.opt.VolumeOps)
	}
	if s.d.VMCreate == nil {
		s.d.VMCreate = vmcreate.New(s.d.Tasks, s.opt.Host, s.d.Virt, s.d.Templates)
	}
	if s.d.Snapshots == nil {
		s.d.Snapshots = vmsnapshots.Register(s.d.Tasks, s.opt.Host, s.d.Virt)
	}
	s.d.Tasks.OnChange(s.d.Events.PublishTask)
	if s.d.Virt != nil {
		stopGuests := s.d.Events.WatchGuests(s.opt.Host, s.d.Virt)
		stopResources := s.d.Events.WatchResources(s.opt.Host, s.d.Virt) // pools and networks (issue 9)
		s.stopWatch = func() { stopResources(); stopGuests() }
	}
	return nil
}

// CloseStreams ends every event stream and stops the tasks: running ones
// end failed (interrupted) after their undos, within ctx. http.Server's
// Shutdown waits for open streams, so serve registers the first half
// with RegisterOnShutdown.
func (s *Server) CloseStreams() { s.d.Events.Close() }

// CloseTasks stops the task runner, waiting for undos up to ctx, and the
// guest watch.
func (s *Server) CloseTasks(ctx context.Context) {
	if s.d.Tasks != nil {
		s.d.Tasks.Close(ctx)
	}
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.stopUploads != nil {
		s.stopUploads()
	}
	s.d.Events.Close()
}

var taskStatuses = []string{store.TaskQueued, store.TaskRunning, store.TaskDone, store.TaskFailed, store.TaskCancelled}

// taskFilter parses GET /api/v1/tasks's query.
func taskFilter(c *gin.Context) (store.TaskFilter, error) {
	var f store.TaskFilter
	if st := c.Query("status"); st != "" {
		for _, v := range strings.Split(st, ",") {
			if !slices.Contains(taskStatuses, v) {
				return f, fault.CodeBadRequest.New("status must be among %s, not %q", strings.Join(taskStatuses, ", "), truncate(v, 16))
			}
			f.Status = append(f.Status, v)
		}
	}
	f.Kind, f.Target, f.Owner = c.Query("kind"), c.Query("target"), c.Query("owner")
	for _, v := range []string{f.Kind, f.Target, f.Owner} {
		if len(v) > 256 {
			return f, fault.CodeBadRequest.New("kind, target and owner are at most 256 bytes")
		}
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxListLimit {
			return f, fault.CodeBadRequest.New("limit must be 1 to %d", store.MaxListLimit)
		}
		f.Limit = n
	}
	if cur := c.Query("cursor"); cur != "" {
		n, err := strconv.ParseInt(cur, 10, 64)
		if err != nil || n < 1 {
			return f, fault.CodeBadRequest.New("cursor must be a value of next")
		}
		f.BeforeID = n
	}
	return f, nil
}

func (s *Server) listTasks(c *gin.Context) error {
	f, err := taskFilter(c)
	if err != nil {
		return err
	}
	d, _ := sessionOf(c)
	p := d.Principal()
	if !tasks.SeesAll(s.d.Authz, p) {
		f.Owner = p.ID() // one's own, whatever was asked
	}
	infos, err := s.d.Tasks.List(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]api.Task, 0, len(infos))
	ts := make([]store.Task, len(infos))
	for i, in := range infos {
		out = append(out, tasks.View(s.d.Authz, p, in))
		ts[i] = in.Task
	}
	c.JSON(http.StatusOK, api.TaskList{Items: out, Next: f.Next(ts)})
	return nil
}

// resolveTask is the task scope: the task of the id if p may see it (its
// owner, or who sees all tasks); anyone else is told it does not exist. To
// cancel another's task takes task:cancel_all.
func (s *Server) resolveTask(c *gin.Context, p rbac.Principal, perm rbac.Permission, raw string) (any, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 || s.d.Tasks == nil {
		return nil, store.CodeTaskNotFound.New("task %q not found", truncate(raw, 24))
	}
	in, err := s.d.Tasks.Get(c.Request.Context(), id)
	if err != nil {
		return nil, err
	}
	if !tasks.MaySee(s.d.Authz, p, in.Task) {
		return nil, store.CodeTaskNotFound.New("task %d not found", id)
	}
	if perm == tasks.PermCancel && !tasks.MayCancel(s.d.Authz, p, in.Task) {
		return nil, fault.CodeForbidden.New("you may not cancel another user's task")
	}
	return in, nil
}

// validTaskID accepts what a task id can be, for the audit target.
func validTaskID(raw string) bool {
	n, err := strconv.ParseInt(raw, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == raw
}

func (s *Server) getTask(c *gin.Context) error {
	in, _ := objectOf[tasks.Info](c)
	d, _ := sessionOf(c)
	c.JSON(http.StatusOK, tasks.View(s.d.Authz, d.Principal(), in))
	return nil
}

func (s *Server) cancelTask(c *gin.Context) error {
	in, _ := objectOf[tasks.Info](c)
	d, _ := sessionOf(c)
	p := d.Principal()
	in, err := s.d.Tasks.Cancel(c.Request.Context(), in.ID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !in.Ended() {
		status = http.StatusAccepted // it ends once its undos have run
	}
	c.JSON(status, tasks.View(s.d.Authz, p, in))
	return nil
}
