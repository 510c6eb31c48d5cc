package networks

import (
	"context"
	"testing"

	"github.com/virtportal/virtportal/api"
)

// fakeHost lists fixed networks; the rest of Host is not called here.
type fakeHost struct {
	Host
	nets []api.Network
}

func (f fakeHost) ListNetworks(context.Context) ([]api.Network, error) { return f.nets, nil }

func TestNetworksOfGuests(t *testing.T) {
	s := New(fakeHost{nets: []api.Network{
		{Name: "default", Kind: api.NetNAT, Subnet: "192.168.122.0/24", UsedBy: []string{"web01", "web02"}},
		{Name: "isolated", Kind: api.NetIsolated, UsedBy: []string{"db01"}},
		{Name: "spare", Kind: api.NetNAT, UsedBy: []string{}},
	}})
	for _, tc := range []struct {
		name   string
		guests []string
		want   []string
	}{
		{"no guests", nil, nil},
		{"one guest", []string{"web02"}, []string{"default"}},
		{"two networks", []string{"db01", "web01"}, []string{"default", "isolated"}},
		{"a guest on none", []string{"other"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.NetworksOfGuests(context.Background(), tc.guests)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %v", got, tc.want)
			}
			for i, n := range got {
				if n.Name != tc.want[i] || n.Subnet != "" || n.Kind != "" || len(n.UsedBy) != 0 {
					t.Fatalf("got %+v: more than names, or not %v", got, tc.want)
				}
			}
		})
	}
}
