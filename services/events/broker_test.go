package events

import (
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/policy"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
)

var (
	admin   = rbac.Principal{Realm: "local", Name: "admin", Roles: []string{rbac.RoleAdmin}}
	auditor = rbac.Principal{Realm: "test", Name: "audrey", Roles: []string{rbac.RoleAuditor}}
	alice   = rbac.Principal{Realm: "pam", Name: "alice", Groups: []string{"ops"}, Roles: []string{rbac.RoleUser}}
	bob     = rbac.Principal{Realm: "pam", Name: "bob", Roles: []string{rbac.RoleUser}}
)

func newBroker(t *testing.T, opt Options) *Broker {
	t.Helper()
	a, err := rbac.New(policy.Model, policy.Policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	return New(a, opt)
}

func grant(kind, name, role string) api.Grant {
	return api.Grant{Kind: kind, Realm: "pam", Name: name, Role: role}
}

// drain returns what is queued for s without waiting.
func drain(s *Sub) []Message {
	var out []Message
	for {
		select {
		case m := <-s.C():
			out = append(out, m)
		default:
			return out
		}
	}
}

func TestGuestVisibility(t *testing.T) {
	b := newBroker(t, Options{})
	subs := map[string]*Sub{}
	for name, p := range map[string]rbac.Principal{"admin": admin, "auditor": auditor, "alice": alice, "bob": bob} {
		subs[name], _, _ = b.Subscribe(p, "", false, 0)
	}
	vm := &api.VM{Name: "web", State: "running"}
	aliceOp := []api.Grant{grant("user", "alice", "operator")}
	opsView := []api.Grant{grant("group", "ops", "viewer")}
	cases := []struct {
		name string
		g    GuestChange
		want map[string]string // subscriber → type seen ("" none)
	}{
		{"state of a guest alice holds", GuestChange{Type: GuestState, Name: "web", VM: vm, Before: aliceOp, After: aliceOp, WasKnown: true, Known: true},
			map[string]string{"admin": "state", "auditor": "state", "alice": "state", "bob": ""}},
		{"state of a guest nobody holds", GuestChange{Type: GuestState, Name: "db", VM: vm, WasKnown: true, Known: true},
			map[string]string{"admin": "state", "auditor": "state", "alice": "", "bob": ""}},
		{"grant to alice is an add for her", GuestChange{Type: GuestGrants, Name: "db", VM: vm, After: aliceOp, WasKnown: true, Known: true},
			map[string]string{"admin": "grants", "auditor": "grants", "alice": "added", "bob": ""}},
		{"revoke is a remove for her", GuestChange{Type: GuestGrants, Name: "db", VM: vm, Before: aliceOp, WasKnown: true, Known: true},
			map[string]string{"admin": "grants", "alice": "removed", "bob": ""}},
		{"group grant", GuestChange{Type: GuestAdded, Name: "new", VM: vm, After: opsView, Known: true},
			map[string]string{"admin": "added", "alice": "added", "bob": ""}},
		{"undefined guest she saw", GuestChange{Type: GuestRemoved, Name: "new", Before: opsView, WasKnown: true},
			map[string]string{"admin": "removed", "alice": "removed", "bob": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.PublishGuest(c.g)
			for name, want := range c.want {
				got := drain(subs[name])
				switch {
				case want == "" && len(got) != 0:
					t.Errorf("%s saw %+v", name, got[0].Guest)
				case want != "" && (len(got) != 1 || got[0].Guest.Type != want):
					t.Errorf("%s: got %v, want one %s", name, got, want)
				case want == "removed" && got[0].Guest.VM != nil:
					t.Errorf("%s: removed carries a VM", name)
				case want != "" && want != "removed" && got[0].Guest.VM == nil:
					t.Errorf("%s: no VM", name)
				}
			}
		})
	}
	// The role is the subscriber's own.
	b.PublishGuest(GuestChange{Type: GuestState, Name: "web", VM: vm, Before: aliceOp, After: aliceOp, WasKnown: true, Known: true})
	if m := drain(subs["alice"]); m[0].Guest.VM.MyRole != "operator" {
		t.Errorf("alice's role %q", m[0].Guest.VM.MyRole)
	}
	if m := drain(subs["auditor"]); m[0].Guest.VM.MyRole != "auditor" {
		t.Errorf("auditor's role %q", m[0].Guest.VM.MyRole)
	}
	if vm.MyRole != "" {
		t.Error("the published VM was changed")
	}
}

func TestTaskVisibility(t *testing.T) {
	b := newBroker(t, Options{})
	sa, _, _ := b.Subscribe(alice, "", false, 0)
	sb, _, _ := b.Subscribe(bob, "", false, 0)
	sad, _, _ := b.Subscribe(admin, "", false, 0)
	sau, _, _ := b.Subscribe(auditor, "", false, 0)
	b.PublishTask(tasks.Info{Task: store.Task{ID: 7, Owner: alice.ID(), Status: store.TaskRunning}})
	if m := drain(sa); len(m) != 1 || m[0].Task.ID != 7 || len(m[0].Task.AllowedActions) != 1 {
		t.Fatalf("owner got %+v", m)
	}
	if m := drain(sb); len(m) != 0 {
		t.Fatalf("bob got %+v", m)
	}
	if m := drain(sad); len(m) != 1 || len(m[0].Task.AllowedActions) != 1 {
		t.Fatalf("admin got %+v", m)
	}
	if m := drain(sau); len(m) != 1 || len(m[0].Task.AllowedActions) != 0 {
		t.Fatalf("auditor got %+v (an auditor may not cancel)", m)
	}
}

func TestResume(t *testing.T) {
	b := newBroker(t, Options{Ring: 4})
	first := b.LastID()
	pub := func(owner rbac.Principal) {
		b.PublishTask(tasks.Info{Task: store.Task{ID: 1, Owner: owner.ID(), Status: store.TaskRunning}})
	}
	pub(alice)
	pub(bob)
	pub(alice)
	s, backlog, reset := b.Subscribe(alice, "", true, first+1)
	if reset || len(backlog) != 1 || backlog[0].ID != first+3 {
		t.Fatalf("resume: reset %v backlog %+v", reset, backlog)
	}
	s.Close()
	// Up to date: nothing to replay, no reset.
	if _, backlog, reset := b.Subscribe(alice, "", true, b.LastID()); reset || len(backlog) != 0 {
		t.Fatalf("current: %v %v", reset, backlog)
	}
	pub(alice)
	pub(alice) // the ring of 4 has dropped the first event
	if _, _, reset := b.Subscribe(alice, "", true, first); !reset {
		t.Fatal("a resume from before the ring did not reset")
	}
	if _, backlog, reset := b.Subscribe(alice, "", true, first+1); reset || len(backlog) != 3 {
		t.Fatalf("a resume at the ring's edge: reset %v, %d", reset, len(backlog))
	}
	// An id from another process (the future, or long past) resets.
	for _, id := range []uint64{b.LastID() + 1, 5} {
		if _, _, reset := b.Subscribe(alice, "", true, id); !reset {
			t.Fatalf("id %d resumed", id)
		}
	}
}

func TestSlowSubscriberDropped(t *testing.T) {
	b := newBroker(t, Options{Buffer: 2})
	slow, _, _ := b.Subscribe(admin, "", false, 0)
	fast, _, _ := b.Subscribe(admin, "", false, 0)
	for range 5 {
		b.PublishTask(tasks.Info{Task: store.Task{Owner: "x:y", Status: store.TaskRunning}})
		drain(fast)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("slow subscriber not dropped")
	}
	if slow.Reason() != EndReset {
		t.Fatalf("reason %q", slow.Reason())
	}
	select {
	case <-fast.Done():
		t.Fatal("fast subscriber dropped")
	default:
	}
}

func TestEndSession(t *testing.T) {
	b := newBroker(t, Options{})
	s1, _, _ := b.Subscribe(alice, "sess-1", false, 0)
	s2, _, _ := b.Subscribe(alice, "sess-2", false, 0)
	b.EndSession("sess-1", EndLogout)
	<-s1.Done()
	if s1.Reason() != EndLogout {
		t.Fatalf("reason %q", s1.Reason())
	}
	select {
	case <-s2.Done():
		t.Fatal("other session ended")
	default:
	}
	s1.Close()
	if n := b.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers", n)
	}
}
