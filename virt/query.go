package virt

import (
	"cmp"
	"slices"
	"strings"

	"github.com/virtportal/virtportal/api"
)

// ListQuery filters and orders a guest list.
type ListQuery struct {
	States []string // api.State* values; empty means all
	Q      string   // case-insensitive substring of the name
	Sort   string   // a key of sortKeys, "-" prefix for descending; "" means name
}

var sortKeys = map[string]func(a, b *api.VM) int{
	"name":   func(a, b *api.VM) int { return cmp.Compare(a.Name, b.Name) },
	"state":  func(a, b *api.VM) int { return cmp.Compare(a.State, b.State) },
	"cpu":    func(a, b *api.VM) int { return cmp.Compare(a.CPUPercent, b.CPUPercent) },
	"memory": func(a, b *api.VM) int { return cmp.Compare(a.MemoryMiB, b.MemoryMiB) },
	"vcpus":  func(a, b *api.VM) int { return cmp.Compare(a.VCPUs, b.VCPUs) },
}

var knownStates = []string{api.StateRunning, api.StateBlocked, api.StatePaused, api.StateShutdown,
	api.StateShutoff, api.StateCrashed, api.StateSuspended, api.StateUnknown}

// Validate checks the query's values, naming the first bad one.
func (q ListQuery) Validate() error {
	for _, s := range q.States {
		if !slices.Contains(knownStates, s) {
			return CodeUnknownState.New("unknown state %q; known: %s", s, strings.Join(knownStates, ", "))
		}
	}
	if _, ok := sortKeys[strings.TrimPrefix(q.Sort, "-")]; !ok && q.Sort != "" {
		return CodeUnknownSort.New("unknown sort key %q; known: name, state, cpu, memory, vcpus (prefix - for descending)", q.Sort)
	}
	if len(q.Q) > 64 {
		return CodeSearchTooLong.New("search text longer than 64 bytes")
	}
	return nil
}

// Apply filters and sorts vms in place and returns the kept prefix; ties sort by name.
func (q ListQuery) Apply(vms []api.VM) []api.VM {
	needle := strings.ToLower(q.Q)
	kept := vms[:0]
	for _, vm := range vms {
		if len(q.States) > 0 && !slices.Contains(q.States, vm.State) {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(vm.Name), needle) {
			continue
		}
		kept = append(kept, vm)
	}
	key := strings.TrimPrefix(q.Sort, "-")
	desc := strings.HasPrefix(q.Sort, "-")
	byKey := sortKeys[key]
	if byKey == nil {
		byKey = sortKeys["name"]
	}
	// Descending reverses the key only; ties stay in name order, as people read them.
	slices.SortStableFunc(kept, func(a, b api.VM) int {
		c := byKey(&a, &b)
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a.Name, b.Name)
		}
		return c
	})
	return kept
}
