package auth

import (
	"context"
	"slices"
	"strings"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

// RoleMap maps a realm's users and groups to global roles. Group entries
// match a group's name or, for LDAP, its DN, ignoring case.
type RoleMap struct {
	AdminUsers    []string `yaml:"admin_users" usage:"users who are administrators"`
	AdminGroups   []string `yaml:"admin_groups" usage:"groups whose members are administrators"`
	AuditorUsers  []string `yaml:"auditor_users" usage:"users who are auditors"`
	AuditorGroups []string `yaml:"auditor_groups" usage:"groups whose members are auditors"`
	// Creators may make guests from templates (vm:create), besides their
	// global role; admins always may.
	CreatorUsers  []string `yaml:"creator_users" usage:"users who may create guests from templates"`
	CreatorGroups []string `yaml:"creator_groups" usage:"groups whose members may create guests from templates"`
	// CreatorPools are the pools where creators who are not admins may
	// place (or import) disks; empty: any pool.
	CreatorPools []string `yaml:"creator_pools" usage:"pools where creators who are not admins may place disks (empty: any)"`
}

// PoolLimiter is a realm whose creators may place disks only in some
// pools; nil or empty from CreatorPools: any pool.
type PoolLimiter interface {
	CreatorPools() []string
}

func matchAny(list []string, names []string) bool {
	return slices.ContainsFunc(list, func(x string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(x, n) })
	})
}

// Roles returns the global roles of user with groups: admin, else auditor,
// else user; auditors and users may also be creators.
func (m RoleMap) Roles(user string, groups []string) []string {
	var roles []string
	switch {
	case matchAny(m.AdminUsers, []string{user}) || matchAny(m.AdminGroups, groups):
		return []string{rbac.RoleAdmin}
	case matchAny(m.AuditorUsers, []string{user}) || matchAny(m.AuditorGroups, groups):
		roles = []string{rbac.RoleAuditor}
	default:
		roles = []string{rbac.RoleUser}
	}
	if matchAny(m.CreatorUsers, []string{user}) || matchAny(m.CreatorGroups, groups) {
		roles = append(roles, rbac.RoleCreator)
	}
	return roles
}

// Directory is a realm whose users and groups can be searched, for assigning
// guests; limit caps the answer and Truncated says when more matched.
type Directory interface {
	SearchUsers(ctx context.Context, q string, limit int) (api.DirList, error)
	SearchGroups(ctx context.Context, q string, limit int) (api.DirList, error)
}
