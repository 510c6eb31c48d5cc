package auth

import (
	"slices"
	"testing"
)

func TestRoleMap(t *testing.T) {
	m := RoleMap{AdminGroups: []string{"sudo", "cn=Admins,ou=groups,dc=example,dc=org"}, AdminUsers: []string{"root2"},
		AuditorGroups: []string{"audit"}, AuditorUsers: []string{"eve"}}
	cases := []struct {
		user   string
		groups []string
		want   string
	}{
		{"alice", []string{"sudo"}, "admin"},
		{"alice", []string{"SUDO"}, "admin"},
		{"bob", []string{"admins", "CN=admins,OU=groups,DC=example,DC=org"}, "admin"},
		{"root2", nil, "admin"},
		{"carol", []string{"audit", "users"}, "auditor"},
		{"eve", nil, "auditor"},
		{"dave", []string{"users", "sudoers"}, "user"},
		{"dave", nil, "user"},
	}
	for _, tc := range cases {
		t.Run(tc.user+"/"+tc.want, func(t *testing.T) {
			if got := m.Roles(tc.user, tc.groups); !slices.Equal(got, []string{tc.want}) {
				t.Fatalf("got %v want %s", got, tc.want)
			}
		})
	}
}

// Creators hold the creator role beside user or auditor; admins need none.
func TestRoleMapCreators(t *testing.T) {
	m := RoleMap{AdminGroups: []string{"sudo"}, AuditorUsers: []string{"eve"},
		CreatorGroups: []string{"devs"}, CreatorUsers: []string{"carl", "eve", "root2"}}
	for _, tc := range []struct {
		user   string
		groups []string
		want   []string
	}{
		{"carl", nil, []string{"user", "creator"}},
		{"dana", []string{"DEVS"}, []string{"user", "creator"}},
		{"eve", nil, []string{"auditor", "creator"}},
		{"root2", []string{"sudo"}, []string{"admin"}},
		{"dave", []string{"users"}, []string{"user"}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			if got := m.Roles(tc.user, tc.groups); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
		})
	}
}
