package auth

import (
	"context"

	"github.com/virtportal/virtportal/api"
)

// Search looks for users (or groups) matching q in one realm, or in every
// realm with a directory when realm is "". In a merged search a directory
// that is down is named in Unavailable and the others still answer; asked
// alone, it is CodeDirectoryUnavailable. A realm that is not enabled is
// CodeUnknownRealm.
func (r *Realms) Search(ctx context.Context, realm, q string, limit int, groups bool) (api.DirList, error) {
	realms := r.All()
	if realm != "" {
		one, ok := r.Get(realm)
		if !ok {
			if len(realm) > 32 {
				realm = realm[:32] + "…"
			}
			return api.DirList{}, CodeUnknownRealm.New("unknown realm %q", realm)
		}
		realms = []Realm{one}
	}
	out := api.DirList{Items: []api.DirEntry{}}
	for _, rl := range realms {
		dir, ok := rl.(Directory)
		if !ok {
			continue
		}
		search := dir.SearchUsers
		if groups {
			search = dir.SearchGroups
		}
		res, err := search(ctx, q, limit)
		if err != nil {
			if LoginReason(err) != ReasonUnavailable {
				return api.DirList{}, err
			}
			if len(realms) == 1 {
				return api.DirList{}, CodeDirectoryUnavailable.New("the %s directory is unavailable", rl.Label())
			}
			out.Unavailable = append(out.Unavailable, rl.Name())
			continue
		}
		out.Items = append(out.Items, res.Items...)
		out.Truncated = out.Truncated || res.Truncated
	}
	return out, nil
}
