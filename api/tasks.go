package api

import "time"

// TaskError is why a task failed: a stable code and a message.
type TaskError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Task is a long-running piece of work (GET /api/v1/tasks/{id}).
type Task struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	Owner    string `json:"owner"`
	Host     string `json:"host"`
	Target   string `json:"target"`
	Status   string `json:"status"` // queued, running, done, failed, cancelled
	Progress int    `json:"progress"`
	Message  string `json:"message"`
	Result   string `json:"result"`
	// Error is set when the task failed or was cancelled.
	Error *TaskError `json:"error,omitempty"`
	// QueuePosition is the place in the queue (1: next) of a queued task.
	QueuePosition int        `json:"queue_position,omitempty"`
	Created       time.Time  `json:"created"`
	Started       *time.Time `json:"started,omitempty"`
	Finished      *time.Time `json:"finished,omitempty"`
	// AllowedActions lists what the caller may do with the task ("task.cancel").
	AllowedActions []string `json:"allowed_actions"`
}

// TaskList is GET /api/v1/tasks.
type TaskList struct {
	Items []Task `json:"items"`
	// Next is the cursor of the next page (?cursor=), "" on the last.
	Next string `json:"next"`
}

// GuestEvent is the data of an `event: guest` on GET /api/v1/events.
type GuestEvent struct {
	Type string `json:"type"` // state, grants, added, removed
	Host string `json:"host"`
	Name string `json:"name"`
	VM   *VM    `json:"vm,omitempty"` // omitted for removed
}

// ResourceEvent is the data of an `event: pool` or `event: network` on
// GET /api/v1/events: a pool or network was defined, undefined, started,
// stopped, built (created) or deleted, here or with virsh; refetch it.
type ResourceEvent struct {
	Kind string `json:"-"`    // pool or network: the event's name
	Type string `json:"type"` // defined, undefined, started, stopped, created, deleted
	Host string `json:"host"`
	Name string `json:"name"`
}

// StreamEnd is the data of an `event: end`: why the stream closes.
type StreamEnd struct {
	Reason string `json:"reason"` // logout, revoked, expired
}
