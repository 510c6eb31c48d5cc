package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// ErrAmbiguous is a Lookup's answer when several entries carry the name: a
// verdict about the name, not a directory that is down.
var ErrAmbiguous = errors.New("several entries have this name")

// Lookup is a realm that can tell whether a user or a group exists, so that
// grants are only given to real people and groups.
type Lookup interface {
	LookupUser(ctx context.Context, name string) (bool, error)
	LookupGroup(ctx context.Context, name string) (bool, error)
}

// CheckGrants returns a problem for each grant whose realm is not enabled or
// whose user or group does not exist there; grants already in known are not
// looked up again (a realm may have been disabled since they were given).
// A directory that cannot answer is an error (Unavailable), not a verdict.
func (r *Realms) CheckGrants(ctx context.Context, grants, known []api.Grant) ([]fault.Detail, error) {
	var out []fault.Detail
	for i, g := range grants {
		field := fmt.Sprintf("grants[%d]", i)
		if slices.ContainsFunc(known, func(k api.Grant) bool { return k.Kind == g.Kind && k.Realm == g.Realm && k.Name == g.Name }) {
			continue
		}
		realm, ok := r.Get(g.Realm)
		if !ok {
			out = append(out, fault.Detail{Field: field, Message: fmt.Sprintf("realm %q is not enabled", g.Realm)})
			continue
		}
		lk, ok := realm.(Lookup)
		if !ok {
			out = append(out, fault.Detail{Field: field, Message: fmt.Sprintf("realm %q cannot look up users and groups", g.Realm)})
			continue
		}
		var exists bool
		var err error
		switch g.Kind {
		case "user":
			exists, err = lk.LookupUser(ctx, g.Name)
		case "group":
			exists, err = lk.LookupGroup(ctx, g.Name)
		default:
			continue // the shape check names it
		}
		if errors.Is(err, ErrAmbiguous) {
			out = append(out, fault.Detail{Field: field, Message: fmt.Sprintf("several entries are called %q in realm %s; grant one of their groups instead", g.Name, g.Realm)})
			continue
		}
		if err != nil {
			return nil, CodeDirectoryUnavailable.New("the %s directory is unavailable: cannot check %s %q", realm.Label(), g.Kind, g.Name)
		}
		if !exists {
			out = append(out, fault.Detail{Field: field, Message: fmt.Sprintf("no %s %q in realm %s", g.Kind, g.Name, g.Realm)})
		}
	}
	return out, nil
}
