// Package rbac decides whether a caller may perform an action, with Casbin as
// the decision engine over roles and the guest's grants resolved beforehand.
package rbac

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	stringadapter "github.com/casbin/casbin/v2/persist/string-adapter"

	"github.com/virtportal/virtportal/api"
)

// Global roles.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
	RoleUser    = "user"
	// RoleCreator is held beside user or auditor: it may create guests
	// from templates (vm:create).
	RoleCreator = "creator"
)

// Per-guest roles: the names api defines, here for the policy's readers.
const (
	RoleViewer   = api.RoleViewer
	RoleOperator = api.RoleOperator
	RoleManager  = api.RoleManager
)

// GuestRoles lists the per-guest roles from least to most powerful.
var GuestRoles = api.GuestRoles

// Permission is what a route needs: an object and an action.
type Permission struct {
	Object string
	Action string
}

// Public is the permission of routes open to everybody.
var Public = Permission{Object: "public", Action: "public"}

// IsPublic reports whether p needs no login.
func (p Permission) IsPublic() bool { return p == Public }

// IsZero reports whether p was left unset (a start-up error in a route table).
func (p Permission) IsZero() bool { return p.Object == "" || p.Action == "" }

func (p Permission) String() string { return p.Object + ":" + p.Action }

// ParsePermission reads "object:action" (lower-case letters and '_').
func ParsePermission(s string) (Permission, bool) {
	o, a, ok := strings.Cut(s, ":")
	word := func(w string) bool {
		return w != "" && len(w) <= 32 && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz_") == ""
	}
	if !ok || !word(o) || !word(a) {
		return Permission{}, false
	}
	return Permission{Object: o, Action: a}, true
}

// Principal is an authenticated caller.
type Principal struct {
	Realm  string
	Name   string
	Groups []string // group names within the realm
	Roles  []string // global roles
	// Only limits the caller to these permissions whatever its roles (an
	// API token made for one job, e.g. metrics:read); nil: no limit.
	Only []Permission
}

// Permits reports whether p's limit (Only) leaves perm open.
func (p Principal) Permits(perm Permission) bool {
	return p.Only == nil || perm.IsPublic() || slices.Contains(p.Only, perm)
}

// ID is the caller's identity, realm:name.
func (p Principal) ID() string { return p.Realm + ":" + p.Name }

// GrantSource answers which grants a guest carries and which guests grant
// someone something. Guests are named by host and name, never by name
// alone: a guest of the same name on another host is another guest.
// virt.Fleet (every host) and virt.Manager (its own host) implement it.
type GrantSource interface {
	GrantsOf(g api.GuestRef) ([]api.Grant, bool)
	GuestsGrantedTo(realm, user string, groups []string) []api.GuestRef
}

// Authorizer decides requests.
type Authorizer struct {
	enf    *casbin.SyncedEnforcer
	grants GrantSource

	// memo keeps Casbin's answers per (role, object, action). No person or
	// grant is part of the key, so nothing here can outlive a revoke; the
	// policy itself does not change while the server runs.
	memoMu sync.RWMutex
	memo   map[roleDecision]bool
}

type roleDecision struct{ role, obj, act string }

// memoCap bounds the memo: role names come from admin-written metadata too.
const memoCap = 4096

// New builds an Authorizer from a Casbin model and policy text; grants may be nil
// until per-guest grants are wired in.
func New(modelText, policyText string, grants GrantSource) (*Authorizer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("rbac: model: %w", err)
	}
	if err := checkPolicy(policyText); err != nil {
		return nil, err
	}
	// No Casbin cache: the memo below already keeps every answer.
	enf, err := casbin.NewSyncedEnforcer(m, stringadapter.NewAdapter(policyText))
	if err != nil {
		return nil, fmt.Errorf("rbac: enforcer: %w", err)
	}
	return &Authorizer{enf: enf, grants: grants, memo: map[roleDecision]bool{}}, nil
}

// checkPolicy refuses lines the string adapter would silently drop.
func checkPolicy(text string) error {
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		for j := range fields {
			fields[j] = strings.TrimSpace(fields[j])
		}
		switch {
		case fields[0] == "p" && len(fields) == 4, fields[0] == "g" && len(fields) == 3:
		default:
			return fmt.Errorf("rbac: policy line %d: want \"p, role, object, action\" or \"g, role, parent\": %q", i+1, line)
		}
		if slices.Contains(fields, "") {
			return fmt.Errorf("rbac: policy line %d has an empty field", i+1)
		}
	}
	return nil
}

// roleAllows asks Casbin whether one role may perform obj:act.
func (a *Authorizer) roleAllows(role string, perm Permission) (bool, error) {
	key := roleDecision{role, perm.Object, perm.Action}
	a.memoMu.RLock()
	ok, hit := a.memo[key]
	a.memoMu.RUnlock()
	if hit {
		return ok, nil
	}
	ok, err := a.enf.Enforce(role, perm.Object, perm.Action)
	if err != nil {
		return false, fmt.Errorf("rbac: enforce %s %s: %w", role, perm, err)
	}
	a.memoMu.Lock()
	if len(a.memo) < memoCap {
		a.memo[key] = ok
	}
	a.memoMu.Unlock()
	return ok, nil
}

// Allowed decides a request that is not about one guest.
func (a *Authorizer) Allowed(p Principal, perm Permission) (bool, error) {
	if perm.IsPublic() {
		return true, nil
	}
	if !p.Permits(perm) {
		return false, nil
	}
	for _, r := range p.Roles {
		ok, err := a.roleAllows(r, perm)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// GuestRolesOf returns the per-guest roles p holds on guest g through direct and group grants.
func (a *Authorizer) GuestRolesOf(p Principal, g api.GuestRef) []string {
	if a.grants == nil {
		return nil
	}
	grants, ok := a.grants.GrantsOf(g)
	if !ok {
		return nil
	}
	return RolesIn(p, grants)
}

// AllowedOn decides a request about guest g: the caller's global roles and
// their roles on that guest are asked in turn.
func (a *Authorizer) AllowedOn(p Principal, perm Permission, g api.GuestRef) (bool, error) {
	if !p.Permits(perm) {
		return false, nil
	}
	ok, err := a.Allowed(p, perm)
	if err != nil || ok {
		return ok, err
	}
	return a.anyAllows(a.GuestRolesOf(p, g), perm)
}

// anyAllows reports whether one of roles may perform perm.
func (a *Authorizer) anyAllows(roles []string, perm Permission) (bool, error) {
	for _, r := range roles {
		if ok, err := a.roleAllows(r, perm); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// GuestRole is a guest, the caller's effective role on it and every role
// the guest's grants give the caller.
type GuestRole struct {
	Guest api.GuestRef
	Role  string
	Roles []string
}

// GuestsAllowed returns the guests on which p's grants allow perm, walking
// p's grants rather than every guest.
func (a *Authorizer) GuestsAllowed(p Principal, perm Permission) ([]api.GuestRef, error) {
	grs, err := a.GrantedRoles(p, perm)
	refs := make([]api.GuestRef, len(grs))
	for i, gr := range grs {
		refs[i] = gr.Guest
	}
	return refs, err
}

// GrantedRoles is GuestsAllowed with p's role on each guest (as RoleOn),
// reading each guest's grants once.
func (a *Authorizer) GrantedRoles(p Principal, perm Permission) ([]GuestRole, error) {
	if a.grants == nil || !p.Permits(perm) {
		return nil, nil
	}
	global, err := a.Allowed(p, perm)
	if err != nil {
		return nil, err
	}
	var out []GuestRole
	for _, g := range a.grants.GuestsGrantedTo(p.Realm, p.Name, p.Groups) {
		roles := a.GuestRolesOf(p, g)
		ok := global
		if !ok {
			if ok, err = a.anyAllows(roles, perm); err != nil {
				return nil, err
			}
		}
		if ok {
			out = append(out, GuestRole{Guest: g, Role: roleOf(p, roles), Roles: roles})
		}
	}
	return out, nil
}

// RoleOn names p's effective role on guest g: a global admin or auditor
// role first, else the strongest per-guest role, else "".
func (a *Authorizer) RoleOn(p Principal, g api.GuestRef) string {
	if r := globalRole(p); r != "" {
		return r
	}
	return roleOf(p, a.GuestRolesOf(p, g))
}

// globalRole is p's admin or auditor role, if any.
func globalRole(p Principal) string {
	for _, r := range []string{RoleAdmin, RoleAuditor} {
		if slices.Contains(p.Roles, r) {
			return r
		}
	}
	return ""
}

// roleOf is p's effective role given its roles from a guest's grants.
func roleOf(p Principal, guestRoles []string) string {
	if r := globalRole(p); r != "" {
		return r
	}
	best := -1
	for _, r := range guestRoles {
		best = max(best, slices.Index(GuestRoles, r))
	}
	if best < 0 {
		return ""
	}
	return GuestRoles[best]
}

// SeesAll reports whether p's global roles let it read every guest.
func (a *Authorizer) SeesAll(p Principal) (bool, error) {
	return a.Allowed(p, Permission{Object: "vm", Action: "read"})
}

// RoleAllows reports whether role may perform perm, for the UI and the matrix test.
func (a *Authorizer) RoleAllows(role string, perm Permission) (bool, error) {
	return a.roleAllows(role, perm)
}
