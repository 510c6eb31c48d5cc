package virt

import (
	"sync"
	"time"

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
