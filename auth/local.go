package auth

import (
	"context"
	"sync"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
)

// Local is the break-glass realm: users in the portal's own database.
type Local struct {
	st        store.Users
	dummyOnce sync.Once
	dummy     string
}

// NewLocal returns the local realm.
func NewLocal(st store.Users) *Local { return &Local{st: st} }

// Name implements Realm.
func (l *Local) Name() string { return "local" }

// Label implements Realm.
func (l *Local) Label() string { return "Local" }

// Authenticate implements Realm.
func (l *Local) Authenticate(ctx context.Context, username, password string) (rbac.Principal, error) {
	if !ValidUsername(username) || len(username) > 64 {
		return rbac.Principal{}, Fail(ReasonInvalid, nil)
	}
	u, err := l.st.GetUser(ctx, username)
	if fault.Is(err, store.CodeUserNotFound) {
		// Spend the same time as a real check so that timing does not tell
		// which names exist.
		l.dummyOnce.Do(func() { l.dummy, _ = HashPassword(RandomPassword()) })
		_, _ = VerifyPassword(l.dummy, password)
		return rbac.Principal{}, Fail(ReasonUnknownUser, nil)
	}
	if err != nil {
		return rbac.Principal{}, Fail(ReasonUnavailable, err)
	}
	ok, err := VerifyPassword(u.Hash, password)
	if err != nil {
		return rbac.Principal{}, Fail(ReasonBadPassword, err)
	}
	if !ok {
		return rbac.Principal{}, Fail(ReasonBadPassword, nil)
	}
	if u.Disabled {
		return rbac.Principal{}, Fail(ReasonDisabled, nil)
	}
	return l.principal(u), nil
}

func (l *Local) principal(u store.User) rbac.Principal {
	role := rbac.RoleUser
	if u.Admin {
		role = rbac.RoleAdmin
	}
	return rbac.Principal{Realm: l.Name(), Name: u.Name, Roles: []string{role}}
}

// Refresh implements Refresher: a demoted, disabled or deleted local user
// loses their rights on the next refresh.
func (l *Local) Refresh(ctx context.Context, username string) (rbac.Principal, error) {
	u, err := l.st.GetUser(ctx, username)
	if fault.Is(err, store.CodeUserNotFound) {
		return rbac.Principal{}, Fail(ReasonUnknownUser, nil)
	}
	if err != nil {
		return rbac.Principal{}, Fail(ReasonUnavailable, err)
	}
	if u.Disabled {
		return rbac.Principal{}, Fail(ReasonDisabled, nil)
	}
	return l.principal(u), nil
}

// SearchUsers implements Directory over the local users.
func (l *Local) SearchUsers(ctx context.Context, q string, limit int) (api.DirList, error) {
	users, err := l.st.ListUsers(ctx, q, limit+1)
	if err != nil {
		return api.DirList{}, err
	}
	out := api.DirList{Items: []api.DirEntry{}}
	for i, u := range users {
		if i == limit {
			out.Truncated = true
			break
		}
		out.Items = append(out.Items, api.DirEntry{Kind: "user", Realm: l.Name(), Name: u.Name})
	}
	return out, nil
}

// SearchGroups implements Directory: the local realm has no groups.
func (l *Local) SearchGroups(context.Context, string, int) (api.DirList, error) {
	return api.DirList{Items: []api.DirEntry{}}, nil
}

// LookupUser implements Lookup.
func (l *Local) LookupUser(ctx context.Context, name string) (bool, error) {
	if !ValidUsername(name) {
		return false, nil
	}
	_, err := l.st.GetUser(ctx, name)
	if fault.Is(err, store.CodeUserNotFound) {
		return false, nil
	}
	return err == nil, err
}

// LookupGroup implements Lookup: the local realm has no groups.
func (l *Local) LookupGroup(context.Context, string) (bool, error) { return false, nil }
