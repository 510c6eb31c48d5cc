package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/virtportal/virtportal/fault"
)

// Task statuses.
const (
	TaskQueued    = "queued"
	TaskRunning   = "running"
	TaskDone      = "done"
	TaskFailed    = "failed"
	TaskCancelled = "cancelled"
)

// CodeTaskNotFound: no such task, or one the caller may not see.
var CodeTaskNotFound = fault.Define("task_not_found", fault.NotFound)

// Task is one stored task.
type Task struct {
	ID           int64
	Kind         string // e.g. "vm.delete"
	Owner        string // identity, realm:name
	Host         string
	Target       string // e.g. "vm:web01"
	Status       string
	Progress     int // 0–100
	Message      string
	Result       string // the resulting resource, e.g. "vm:web01"
	ErrorCode    string
	ErrorMessage string
	Created      time.Time
	Started      time.Time
	Finished     time.Time
}

// Ended reports whether the task has reached a final status.
func (t Task) Ended() bool {
	return t.Status == TaskDone || t.Status == TaskFailed || t.Status == TaskCancelled
}

// TaskResource is something outside the database a task is about to create.
type TaskResource struct {
	ID     int64
	TaskID int64
	Kind   string // volume, domain, file
	Host   string
	Ident  string // pool/volume, domain name, path
}

// TaskFilter selects tasks; zero fields do not filter.
type TaskFilter struct {
	Status []string // any of
	Kind   string
	Target string
	Owner  string
	// BeforeID returns only tasks older than that id: the paging cursor.
	BeforeID int64
	// Limit <= 0 means DefaultListLimit; at most MaxListLimit.
	Limit int
}

// Next is the cursor of the page after items, a page ListTasks returned
// for f; "" when items was the last page.
func (f TaskFilter) Next(items []Task) string {
	if len(items) == 0 || len(items) < clampLimit(f.Limit) {
		return ""
	}
	return strconv.FormatInt(items[len(items)-1].ID, 10)
}

// Tasks is the store of tasks and their recorded resources.
type Tasks interface {
	// CreateTask inserts t (ignoring t.ID) and returns it with its id.
	CreateTask(ctx context.Context, t Task) (Task, error)
	// GetTask returns one task or CodeTaskNotFound.
	GetTask(ctx context.Context, id int64) (Task, error)
	// UpdateTask writes t's status, progress, message, result, error and times.
	UpdateTask(ctx context.Context, t Task) error
	// ListTasks returns the matching tasks, newest first.
	ListTasks(ctx context.Context, f TaskFilter) ([]Task, error)
	// AddTaskResource records r for its task and returns its id.
	AddTaskResource(ctx context.Context, r TaskResource) (int64, error)
	// TaskResources lists the resources recorded for task id (0: of every task), oldest first.
	TaskResources(ctx context.Context, taskID int64) ([]TaskResource, error)
	// DeleteTaskResource forgets one record.
	DeleteTaskResource(ctx context.Context, id int64) error
	// ClearTaskResources forgets every record of a task.
	ClearTaskResources(ctx context.Context, taskID int64) error
	// PurgeTasks deletes ended tasks finished before t and says how many.
	PurgeTasks(ctx context.Context, before time.Time) (int, error)
}

var _ Tasks = (*Store)(nil)

// CreateTask implements Tasks.
func (s *Store) CreateTask(ctx context.Context, t Task) (Task, error) {
	if t.Created.IsZero() {
		t.Created = time.Now().UTC()
	}
	err := s.w.QueryRowContext(ctx,
		`INSERT INTO tasks (kind, owner, host, target, status, progress, message, result,
		   error_code, error_message, created_at, started_at, finished_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 RETURNING id`,
		t.Kind, t.Owner, t.Host, t.Target, t.Status, t.Progress, t.Message, t.Result,
		t.ErrorCode, t.ErrorMessage, toNS(t.Created), toNS(t.Started), toNS(t.Finished)).Scan(&t.ID)
	if err != nil {
		return Task{}, fmt.Errorf("store: create task: %w", err)
	}
	return t, nil
}

const taskCols = `id, kind, owner, host, target, status, progress, message, result,
	error_code, error_message, created_at, started_at, finished_at`

func scanTask(sc interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var created, started, finished int64
	err := sc.Scan(&t.ID, &t.Kind, &t.Owner, &t.Host, &t.Target, &t.Status, &t.Progress, &t.Message,
		&t.Result, &t.ErrorCode, &t.ErrorMessage, &created, &started, &finished)
	t.Created, t.Started, t.Finished = fromNS(created), fromNS(started), fromNS(finished)
	return t, err
}

// GetTask implements Tasks.
func (s *Store) GetTask(ctx context.Context, id int64) (Task, error) {
	t, err := scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, CodeTaskNotFound.New("task %d not found", id)
	}
	if err != nil {
		return Task{}, fmt.Errorf("store: get task: %w", err)
	}
	return t, nil
}

// UpdateTask implements Tasks.
func (s *Store) UpdateTask(ctx context.Context, t Task) error {
	n, err := s.execCount(ctx, "update task",
		`UPDATE tasks SET status = ?, progress = ?, message = ?, result = ?, error_code = ?,
		   error_message = ?, started_at = ?, finished_at = ?
		 WHERE id = ?`,
		t.Status, t.Progress, t.Message, t.Result, t.ErrorCode, t.ErrorMessage,
		toNS(t.Started), toNS(t.Finished), t.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return CodeTaskNotFound.New("task %d not found", t.ID)
	}
	return nil
}

// ListTasks implements Tasks.
func (s *Store) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Status)-1)+")")
		for _, st := range f.Status {
			args = append(args, st)
		}
	}
	for _, m := range []struct{ col, v string }{{"kind", f.Kind}, {"target", f.Target}, {"owner", f.Owner}} {
		if m.v != "" {
			where = append(where, m.col+" = ?")
			args = append(args, m.v)
		}
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	query := `SELECT ` + taskCols + ` FROM tasks`
	if len(where) > 0 {
		// Only fixed fragments are joined; every value is a placeholder.
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, clampLimit(f.Limit))
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list tasks: %w", err)
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list tasks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tasks: %w", err)
	}
	return out, nil
}

// AddTaskResource implements Tasks.
func (s *Store) AddTaskResource(ctx context.Context, r TaskResource) (int64, error) {
	var id int64
	err := s.w.QueryRowContext(ctx,
		`INSERT INTO task_resources (task_id, kind, host, ident, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		r.TaskID, r.Kind, r.Host, r.Ident, toNS(time.Now())).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: add task resource: %w", err)
	}
	return id, nil
}

// TaskResources implements Tasks.
func (s *Store) TaskResources(ctx context.Context, taskID int64) ([]TaskResource, error) {
	query := `SELECT id, task_id, kind, host, ident FROM task_resources`
	var args []any
	if taskID != 0 {
		query += ` WHERE task_id = ?`
		args = append(args, taskID)
	}
	rows, err := s.r.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: task resources: %w", err)
	}
	defer rows.Close()
	var out []TaskResource
	for rows.Next() {
		var r TaskResource
		if err := rows.Scan(&r.ID, &r.TaskID, &r.Kind, &r.Host, &r.Ident); err != nil {
			return nil, fmt.Errorf("store: task resources: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteTaskResource implements Tasks.
func (s *Store) DeleteTaskResource(ctx context.Context, id int64) error {
	_, err := s.execCount(ctx, "delete task resource", `DELETE FROM task_resources WHERE id = ?`, id)
	return err
}

// ClearTaskResources implements Tasks.
func (s *Store) ClearTaskResources(ctx context.Context, taskID int64) error {
	_, err := s.execCount(ctx, "clear task resources", `DELETE FROM task_resources WHERE task_id = ?`, taskID)
	return err
}

// PurgeTasks implements Tasks. Tasks that still hold resource records are
// kept: the sweep has not yet removed what they left.
func (s *Store) PurgeTasks(ctx context.Context, before time.Time) (int, error) {
	return s.execCount(ctx, "purge tasks",
		`DELETE FROM tasks WHERE status IN ('done', 'failed', 'cancelled') AND finished_at < ?
		   AND NOT EXISTS (SELECT 1 FROM task_resources r WHERE r.task_id = tasks.id)`, toNS(before))
}
