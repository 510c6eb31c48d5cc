package tasks

import (
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
)

// Permissions on tasks: everyone with task:read sees their own tasks;
// task:read_all sees everyone's (admins, auditors); task:cancel cancels
// one's own, task:cancel_all anyone's (admins).
var (
	PermRead      = rbac.Permission{Object: "task", Action: "read"}
	PermReadAll   = rbac.Permission{Object: "task", Action: "read_all"}
	PermCancel    = rbac.Permission{Object: "task", Action: "cancel"}
	PermCancelAll = rbac.Permission{Object: "task", Action: "cancel_all"}
)

// ActionCancel is the allowed action the UI offers as a Cancel button.
const ActionCancel = "task.cancel"

// Authorizer is what the task rules ask; *rbac.Authorizer is one.
type Authorizer interface {
	Allowed(p rbac.Principal, perm rbac.Permission) (bool, error)
}

// SeesAll reports whether p may see every user's tasks (an error: no).
func SeesAll(a Authorizer, p rbac.Principal) bool {
	ok, err := a.Allowed(p, PermReadAll)
	return err == nil && ok
}

// MaySee reports whether p may see task t: its owner or an admin or auditor.
func MaySee(a Authorizer, p rbac.Principal, t store.Task) bool {
	if t.Owner == p.ID() {
		ok, err := a.Allowed(p, PermRead)
		return err == nil && ok
	}
	return SeesAll(a, p)
}

// MayCancel reports whether p may cancel t (ended or not).
func MayCancel(a Authorizer, p rbac.Principal, t store.Task) bool {
	perm := PermCancelAll
	if t.Owner == p.ID() {
		perm = PermCancel
	}
	ok, err := a.Allowed(p, perm)
	return err == nil && ok
}

// View renders a task for caller p, with the actions p may take on it.
func View(a Authorizer, p rbac.Principal, in Info) api.Task {
	t := in.Task
	out := api.Task{ID: t.ID, Kind: t.Kind, Owner: t.Owner, Host: t.Host, Target: t.Target, Status: t.Status,
		Progress: t.Progress, Message: t.Message, Result: t.Result, QueuePosition: in.QueuePosition,
		Created: t.Created, Started: timePtr(t.Started), Finished: timePtr(t.Finished), AllowedActions: []string{}}
	if t.ErrorCode != "" {
		out.Error = &api.TaskError{Code: t.ErrorCode, Message: t.ErrorMessage}
	}
	if !t.Ended() && MayCancel(a, p, t) {
		out.AllowedActions = append(out.AllowedActions, ActionCancel)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
