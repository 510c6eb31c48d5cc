package templates

import (
	"context"
	"fmt"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// resolver looks up each pool, network and volume once per answer.
type resolver struct {
	ctx    context.Context
	host   Host
	limits *api.HostLimits
	pools  map[string]error
	nets   map[string]error
	vols   map[[2]string]error
}

func (s *Service) resolver(ctx context.Context) *resolver {
	return &resolver{ctx: ctx, host: s.host, pools: map[string]error{}, nets: map[string]error{}, vols: map[[2]string]error{}}
}

// missing turns a lookup's error into "gone" (true), a failure to pass on,
// or nil.
func missing(err error) (bool, error) {
	if err == nil {
		return false, nil
	}
	if fault.IsKind(err, fault.NotFound) {
		return true, nil
	}
	return false, err
}

func (r *resolver) pool(name string) (bool, error) {
	err, ok := r.pools[name]
	if !ok {
		_, err = r.host.Pool(r.ctx, name)
		r.pools[name] = err
	}
	return missing(err)
}

func (r *resolver) network(name string) (bool, error) {
	err, ok := r.nets[name]
	if !ok {
		_, err = r.host.Network(r.ctx, name)
		r.nets[name] = err
	}
	return missing(err)
}

// volume reports a volume gone; a pool that is there but stopped (its
// volumes cannot be listed) is a problem of its own.
func (r *resolver) volume(pool, name string) (gone bool, stopped bool, err error) {
	k := [2]string{pool, name}
	verr, ok := r.vols[k]
	if !ok {
		_, verr = r.host.Volume(r.ctx, pool, name)
		r.vols[k] = verr
	}
	if fault.IsKind(verr, fault.Conflict) {
		return false, true, nil
	}
	gone, err = missing(verr)
	return gone, false, err
}

// fill sets t.Problems: every pool, network, ISO or image it names that is
// gone, and UEFI where the host lost its firmware.
func (r *resolver) fill(t *api.Template) error {
	ps := []api.TemplateProblem{}
	add := func(field, code, format string, args ...any) {
		ps = append(ps, api.TemplateProblem{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if src := t.Source; src.Kind != api.SourceNone && src.Kind != "" {
		gone, err := r.pool(src.Pool)
		if err != nil {
			return err
		}
		if gone {
			add("source.pool", "pool_not_found", "pool %q is gone", src.Pool)
		} else {
			vgone, stopped, err := r.volume(src.Pool, src.Volume)
			switch {
			case err != nil:
				return err
			case stopped:
				add("source.pool", "pool_inactive", "pool %q is stopped", src.Pool)
			case vgone:
				add("source.volume", "volume_not_found", "volume %q is gone from pool %q", src.Volume, src.Pool)
			}
		}
	}
	for i, d := range t.Disks {
		gone, err := r.pool(d.Pool)
		if err != nil {
			return err
		}
		if gone {
			add(fmt.Sprintf("disks[%d].pool", i), "pool_not_found", "pool %q is gone", d.Pool)
		}
	}
	for i, n := range t.NICs {
		gone, err := r.network(n.Network)
		if err != nil {
			return err
		}
		if gone {
			add(fmt.Sprintf("nics[%d].network", i), "network_not_found", "network %q is gone", n.Network)
		}
	}
	if t.Firmware == "uefi" {
		if r.limits == nil {
			l, err := r.host.HostLimits(r.ctx)
			if err != nil {
				return err
			}
			r.limits = &l
		}
		if !r.limits.UEFI {
			add("firmware", "uefi_not_available", "UEFI firmware (OVMF) is not installed on this host")
		}
	}
	t.Problems = ps
	return nil
}
