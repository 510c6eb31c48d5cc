package virt

import (
	"slices"
	"strings"
)

// describeAll describes each object of a libvirt listing and frees it. An
// object that vanished meanwhile (gone says so) is skipped; the first
// other failure fails the listing. The result is sorted by name.
func describeAll[O any, P interface {
	*O
	Free() error
}, T any](objs []O, describe func(P) (T, error), gone func(error) bool, name func(T) string) ([]T, error) {
	out := make([]T, 0, len(objs))
	var first error
	for i := range objs {
		v, err := describe(P(&objs[i]))
		_ = P(&objs[i]).Free()
		switch {
		case err == nil:
			out = append(out, v)
		case first == nil && !gone(err):
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(name(a), name(b)) })
	return out, nil
}
