package virt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// PoolNotFound is the error for a pool that does not exist.
func PoolNotFound(name string) error { return CodePoolNotFound.New("pool %q not found", name) }

// storageFail maps a libvirt storage error to a fault: missing pools and
// volumes, existing names and refused states read plainly; anything else
// goes through fail.
func (m *Manager) storageFail(op, pool, vol string, err error) error {
	if err == nil || fault.As(err) != nil {
		return err
	}
	var le libvirt.Error
	if errors.As(err, &le) {
		switch le.Code {
		case libvirt.ERR_NO_STORAGE_POOL:
			return PoolNotFound(pool)
		case libvirt.ERR_NO_STORAGE_VOL:
			return CodeVolumeNotFound.New("volume %q not found in pool %q", vol, pool)
		case libvirt.ERR_STORAGE_VOL_EXIST:
			return CodeVolumeExists.New("pool %q already has a volume %q", pool, vol)
		case libvirt.ERR_OPERATION_INVALID:
			// libvirt's wording ("storage pool 'x' is not active") names
			// the pool only.
			return CodePoolState.Wrap(err, "%s", le.Message)
		case libvirt.ERR_NO_SUPPORT:
			return notSupported("the host's driver cannot %s", op)
		}
	}
	return m.fail(op, "", err)
}

// lookupPool validates name and finds the pool; the caller frees it and
// releases c.
func (m *Manager) lookupPool(ctx context.Context, name string) (*libvirt.Connect, *libvirt.StoragePool, error) {
	if err := ValidatePoolName(name); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c, err := m.acquire()
	if err != nil {
		return nil, nil, err
	}
	p, err := c.LookupStoragePoolByName(name)
	if err != nil {
		release(c)
		return nil, nil, m.storageFail("find pool", name, "", err)
	}
	return c, p, nil
}

// withPool runs fn on the named pool.
func (m *Manager) withPool(ctx context.Context, name string, fn func(c *libvirt.Connect, p *libvirt.StoragePool) error) error {
	c, p, err := m.lookupPool(ctx, name)
	if err != nil {
		return err
	}
	defer release(c)
	defer p.Free()
	return fn(c, p)
}

func poolState(s libvirt.StoragePoolState) string {
	switch s {
	case libvirt.STORAGE_POOL_INACTIVE:
		return api.PoolInactive
	case libvirt.STORAGE_POOL_BUILDING:
		return api.PoolBuilding
	case libvirt.STORAGE_POOL_RUNNING:
		return api.PoolRunning
	case libvirt.STORAGE_POOL_DEGRADED:
		return api.PoolDegraded
	}
	return api.PoolInaccessible
}

// describePool reads one pool; the path is always filled (callers drop it
// for those who may not see it).
func (m *Manager) describePool(p *libvirt.StoragePool) (api.Pool, error) {
	var out api.Pool
	var err error
	if out.Name, err = p.GetName(); err != nil {
		return out, m.storageFail("read pool", "", "", err)
	}
	info, err := p.GetInfo()
	if err != nil {
		return out, m.storageFail("read pool", out.Name, "", err)
	}
	out.State = poolState(info.State)
	out.Capacity, out.Allocation, out.Available = info.Capacity, info.Allocation, info.Available
	if out.Autostart, err = p.GetAutostart(); err != nil {
		return out, m.storageFail("read pool", out.Name, "", err)
	}
	if out.Persistent, err = p.IsPersistent(); err != nil {
		return out, m.storageFail("read pool", out.Name, "", err)
	}
	doc, err := p.GetXMLDesc(0)
	if err != nil {
		return out, m.storageFail("read pool", out.Name, "", err)
	}
	var x libvirtxml.StoragePool
	if err := x.Unmarshal(doc); err != nil {
		return out, m.fail("read pool", "", fmt.Errorf("pool %s: %w", out.Name, err))
	}
	out.Type = x.Type
	if x.Target != nil {
		out.Path = x.Target.Path
	}
	if info.State == libvirt.STORAGE_POOL_RUNNING || info.State == libvirt.STORAGE_POOL_DEGRADED {
		if n, err := p.NumOfStorageVolumes(); err == nil {
			out.Volumes = n
		}
	}
	return out, nil
}

// ListPools returns the host's pools, sorted by name.
func (m *Manager) ListPools(ctx context.Context) ([]api.Pool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := m.acquire()
	if err != nil {
		return nil, err
	}
	defer release(c)
	pools, err := c.ListAllStoragePools(0)
	if err != nil {
		return nil, m.storageFail("list pools", "", "", err)
	}
	return describeAll(pools, m.describePool,
		func(err error) bool { return fault.Is(err, CodePoolNotFound) },
		func(p api.Pool) string { return p.Name })
}

// Pool returns one pool.
func (m *Manager) Pool(ctx context.Context, name string) (api.Pool, error) {
	var out api.Pool
	err := m.withPool(ctx, name, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		var err error
		out, err = m.describePool(p)
		return err
	})
	return out, err
}

// DefinePool defines, builds (where the type needs it), starts a pool,
// and marks it to start with the host when asked. It is all or nothing: a
// step that fails stops and undefines the pool again, and deletes what its
// build made (a target folder that was not there before, a volume group
// made on the devices).
func (m *Manager) DefinePool(ctx context.Context, req api.PoolRequest) (api.Pool, error) {
	defer m.volumesChanged()
	plan, err := planPool(req)
	if err != nil {
		return api.Pool{}, err
	}
	if err := ctx.Err(); err != nil {
		return api.Pool{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.Pool{}, err
	}
	defer release(c)
	if p, err := c.LookupStoragePoolByName(req.Name); err == nil {
		_ = p.Free()
		return api.Pool{}, CodePoolExists.New("a pool %q exists already", req.Name)
	} else if libvirtCode(err) != libvirt.ERR_NO_STORAGE_POOL {
		return api.Pool{}, m.storageFail("find pool", req.Name, "", err)
	}
	p, err := c.StoragePoolDefineXML(plan.doc, 0)
	if err != nil {
		return api.Pool{}, m.setupFail("define pool", req.Name, err)
	}
	defer p.Free()
	built := false
	undo := func(cause error) error {
		if active, _ := p.IsActive(); active {
			_ = p.Destroy()
		}
		if built && plan.deletable {
			if derr := p.Delete(0); derr != nil {
				m.log.Error("deleting what a failed pool's build made failed", "pool", req.Name, "err", derr)
			}
		}
		if uerr := p.Undefine(); uerr != nil {
			m.log.Error("undefining a half-made pool failed", "pool", req.Name, "err", uerr)
		}
		return cause
	}
	if plan.build {
		// A folder that existed before the build is someone's: it stays.
		// Where libvirt runs elsewhere we cannot tell, so it stays too.
		fresh := true
		if plan.folder {
			fresh = false
			if m.local() {
				if _, serr := os.Lstat(plan.path); errors.Is(serr, fs.ErrNotExist) {
					fresh = true
				}
			}
		}
		if plan.folder {
			// The folder is made first: a build failing after it (mkfs
			// refused) leaves it, so it goes too when it is new.
			built = fresh
		}
		err := p.Build(plan.flags)
		if plan.flags != 0 && isUnsupportedFlags(err) && strings.HasPrefix(m.cfg.URI, "test:") {
			err = p.Build(0) // the test driver takes no flags and writes nothing
		}
		if err != nil {
			return api.Pool{}, undo(m.setupFail("build pool", req.Name, err))
		}
		built = fresh
	}
	if err := p.Create(0); err != nil {
		return api.Pool{}, undo(m.setupFail("start pool", req.Name, err))
	}
	if req.Autostart {
		if err := p.SetAutostart(true); err != nil {
			return api.Pool{}, undo(m.storageFail("set autostart", req.Name, "", err))
		}
	}
	return m.describePool(p)
}

// local reports whether libvirt runs on this machine (its paths are ours).
func (m *Manager) local() bool {
	return remoteHost(m.cfg.URI) == "" && !strings.HasPrefix(m.cfg.URI, "test:")
}

// StartPool starts an inactive pool.
func (m *Manager) StartPool(ctx context.Context, name string) (api.Pool, error) {
	defer m.volumesChanged()
	return m.poolChange(ctx, name, "start pool", func(p *libvirt.StoragePool) error {
		if active, err := p.IsActive(); err == nil && active {
			return CodePoolActive.New("pool %q is already running", name)
		}
		if err := p.Create(0); err != nil {
			return m.setupFail("start pool", name, err)
		}
		return nil
	})
}

// StopPool stops an active pool, refused while running guests use its
// volumes.
func (m *Manager) StopPool(ctx context.Context, name string) (api.Pool, error) {
	defer m.volumesChanged()
	return m.poolChange(ctx, name, "stop pool", func(p *libvirt.StoragePool) error {
		if active, err := p.IsActive(); err == nil && !active {
			return CodePoolInactive.New("pool %q is not running", name)
		}
		path, err := poolPath(p)
		if err != nil {
			return err
		}
		if err := m.Ready(); err != nil {
			return err // without the index, users cannot be named
		}
		if users := m.poolUsers(name, path, true); len(users) > 0 {
			return CodePoolInUse.New("pool %q has volumes used by running guests: %s", name, strings.Join(users, ", ")).
				WithDetails(guestDetails(users))
		}
		return p.Destroy()
	})
}

// RefreshPool rescans a running pool's volumes.
func (m *Manager) RefreshPool(ctx context.Context, name string) (api.Pool, error) {
	defer m.volumesChanged()
	return m.poolChange(ctx, name, "refresh pool", func(p *libvirt.StoragePool) error {
		if active, err := p.IsActive(); err == nil && !active {
			return CodePoolInactive.New("pool %q is not running", name)
		}
		return p.Refresh(0)
	})
}

// SetPoolAutostart sets whether the pool starts with the host.
func (m *Manager) SetPoolAutostart(ctx context.Context, name string, on bool) (api.Pool, error) {
	return m.poolChange(ctx, name, "set autostart", func(p *libvirt.StoragePool) error {
		return p.SetAutostart(on)
	})
}

// DeletePool undefines an inactive pool no guest uses. Its folder and
// volumes stay on disk: removing data is a separate, deliberate act.
func (m *Manager) DeletePool(ctx context.Context, name string) error {
	defer m.volumesChanged()
	return m.withPool(ctx, name, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		active, err := p.IsActive()
		if err != nil {
			return m.storageFail("read pool", name, "", err)
		}
		if active {
			return CodePoolActive.New("pool %q is running; stop it first", name)
		}
		path, err := poolPath(p)
		if err != nil {
			return err
		}
		if err := m.Ready(); err != nil {
			return err // without the index, users cannot be named
		}
		if users := m.poolUsers(name, path, false); len(users) > 0 {
			return CodePoolInUse.New("pool %q has volumes used by guests: %s", name, strings.Join(users, ", ")).
				WithDetails(guestDetails(users))
		}
		if err := p.Undefine(); err != nil {
			return m.storageFail("delete pool", name, "", err)
		}
		return nil
	})
}

// poolChange runs one change on a pool and returns the pool afterwards.
func (m *Manager) poolChange(ctx context.Context, name, op string, fn func(p *libvirt.StoragePool) error) (api.Pool, error) {
	var out api.Pool
	err := m.withPool(ctx, name, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		if err := fn(p); err != nil {
			return m.storageFail(op, name, "", err)
		}
		var err error
		out, err = m.describePool(p)
		return err
	})
	return out, err
}

// poolPath is the pool's target path from its definition.
func poolPath(p *libvirt.StoragePool) (string, error) {
	doc, err := p.GetXMLDesc(libvirt.STORAGE_XML_INACTIVE)
	if isUnsupportedFlags(err) { // the test driver
		doc, err = p.GetXMLDesc(0)
	}
	if err != nil {
		return "", err
	}
	var x libvirtxml.StoragePool
	if err := x.Unmarshal(doc); err != nil {
		return "", fault.Internalf(err)
	}
	if x.Target == nil {
		return "", nil
	}
	return x.Target.Path, nil
}

// poolUsers names, from the index, the guests with a disk in the pool: a
// file below its target path or a <source pool=…> reference. activeOnly
// keeps the running ones.
func (m *Manager) poolUsers(pool, path string, activeOnly bool) []string {
	prefix := ""
	if path != "" && path != "/" {
		prefix = strings.TrimSuffix(path, "/") + "/"
	}
	ref := "vol:" + pool + "/"
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []string
	for _, e := range m.sorted { // sorted by name
		if activeOnly && !isActiveState(e.vm.State) {
			continue
		}
		for _, d := range e.disks {
			if strings.HasPrefix(d, ref) || (prefix != "" && strings.HasPrefix(d, prefix)) {
				out = append(out, e.vm.Name)
				break
			}
		}
	}
	return out
}

// guestDetails lists guests as error details, so a client can link them.
func guestDetails(names []string) []fault.Detail {
	out := make([]fault.Detail, len(names))
	for i, n := range names {
		out[i] = fault.Detail{Field: "guest", Message: n}
	}
	return out
}

// PoolUsers names, from the index, the guests with a disk in pool p (as
// listed: its path must be filled).
func (m *Manager) PoolUsers(p api.Pool) []string { return m.poolUsers(p.Name, p.Path, false) }
