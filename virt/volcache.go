package virt

import (
	"slices"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
)

// volCacheTTL is how long a pool's volume listing is reused. libvirt has
// no volume events and no bulk volume call: describing 1,000 volumes
// takes three calls and an XML parse each. Changes made through the
// portal drop the cache at once; changes made elsewhere (virsh, a
// growing guest disk) show within this time.
const volCacheTTL = time.Second

// volCache holds recent volume listings by pool, without users (those
// come from the index on every request).
type volCache struct {
	mu    sync.Mutex
	gen   uint64
	pools map[string]volCacheEntry
}

type volCacheEntry struct {
	at   time.Time
	vols []api.Volume
}

// get returns a copy of pool's listing if it is fresh, and the generation
// a listing read now must be stored under.
func (c *volCache) get(pool string) ([]api.Volume, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.pools[pool]
	if !ok || time.Since(e.at) > volCacheTTL {
		return nil, c.gen, false
	}
	out := make([]api.Volume, len(e.vols))
	copy(out, e.vols)
	return out, c.gen, true
}

// put stores a listing read under generation gen, unless a change came since.
func (c *volCache) put(pool string, gen uint64, at time.Time, vols []api.Volume) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.pools == nil {
		c.pools = map[string]volCacheEntry{}
	}
	kept := make([]api.Volume, len(vols))
	copy(kept, vols)
	c.pools[pool] = volCacheEntry{at: at, vols: kept}
}

// changed drops every listing: a volume or pool was changed through the portal.
func (c *volCache) changed() {
	c.mu.Lock()
	c.gen++
	clear(c.pools)
	c.mu.Unlock()
}

// volumesChanged drops the cached volume listings.
func (m *Manager) volumesChanged() { m.vols.changed() }

// describeWorkers is how many volumes are described at once: libvirt's
// connection takes concurrent calls (round trips overlap on a remote
// host) and the XML is parsed on every core.
const describeWorkers = 4

// describeVolumes is describeAll for volumes, describing in parallel.
func describeVolumes(vols []libvirt.StorageVol, describe func(*libvirt.StorageVol) (api.Volume, error)) ([]api.Volume, error) {
	if len(vols) < 2*describeWorkers {
		return describeAll(vols, describe, isGone, func(v api.Volume) string { return v.Name })
	}
	type res struct {
		v   api.Volume
		err error
	}
	out := make([]res, len(vols))
	var wg sync.WaitGroup
	chunk := (len(vols) + describeWorkers - 1) / describeWorkers
	for lo := 0; lo < len(vols); lo += chunk {
		hi := min(lo+chunk, len(vols))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				out[i].v, out[i].err = describe(&vols[i])
				_ = vols[i].Free()
			}
		})
	}
	wg.Wait()
	list := make([]api.Volume, 0, len(vols))
	for _, r := range out {
		switch {
		case r.err == nil:
			list = append(list, r.v)
		case !isGone(r.err):
			return nil, r.err
		}
	}
	slices.SortFunc(list, func(a, b api.Volume) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}
