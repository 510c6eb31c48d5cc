package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/virt"
)

// Storage permissions. Seeing pools at all (pool:read) decides whether a
// pool or volume is hidden (404) or refused (403); managing pools
// (pool:manage) also shows host paths.
var (
	permPoolRead   = perm("pool", "read")
	permPoolManage = perm("pool", "manage")
)

func poolScope(param string) Scope   { return Scope{Kind: "pool", Param: param} }
func volumeScope(param string) Scope { return Scope{Kind: "volume", Param: param} }

// poolRef is the pool a pool-scoped route acts on.
type poolRef struct{ Name string }

// volumeRef is the volume a volume-scoped route acts on.
type volumeRef struct{ Pool, Name string }

func validPoolName(id string) bool   { return virt.ValidatePoolName(id) == nil }
func validVolumeName(id string) bool { return virt.ValidateVolumeName(id) == nil }

// checkHostParam answers the {host} of a storage route: malformed 400,
// not this portal's host 404.
func (s *Server) checkHostParam(c *gin.Context) error {
	name := c.Param("host")
	if !validHostName(name) {
		return fault.CodeInvalidName.New("a host name must start with a letter or digit and contain only letters, digits, '.', '_', '+' and '-'")
	}
	if name != s.opt.Host {
		return CodeHostNotFound.New("host %q not found", name)
	}
	return nil
}

// decideStorage hides storage from callers who may not see pools (so
// names do not leak), then looks the object up (a missing one is 404 for
// everyone), then refuses perm to those who see but may not act.
func (s *Server) decideStorage(p rbac.Principal, perm rbac.Permission, hidden error, find func() error) error {
	return s.decideSeen(p, permPoolRead, perm, hidden, find)
}

// decideSeen hides objects from callers without see (so names do not
// leak), then looks the object up (a missing one is 404 for everyone),
// then refuses perm to those who see but may not act.
func (s *Server) decideSeen(p rbac.Principal, see, perm rbac.Permission, hidden error, find func() error) error {
	allowed := func(q rbac.Permission) (bool, error) {
		ok, err := s.d.Authz.Allowed(p, q)
		if err != nil {
			return false, fault.Internalf(err)
		}
		return ok, nil
	}
	seen, err := allowed(see)
	switch {
	case err != nil:
		return err
	case !seen:
		return hidden
	}
	if err := find(); err != nil {
		return err
	}
	ok, err := allowed(perm)
	switch {
	case err != nil:
		return err
	case !ok:
		return fault.CodeForbidden.New("your role may not %s %s", perm.Action, perm.Object)
	}
	return nil
}

// resolvePool validates the names, decides perm and finds the pool.
func (s *Server) resolvePool(c *gin.Context, p rbac.Principal, perm rbac.Permission, name string) (any, error) {
	if err := s.checkHostParam(c); err != nil {
		return nil, err
	}
	if err := virt.ValidatePoolName(name); err != nil {
		return nil, err
	}
	err := s.decideStorage(p, perm, virt.PoolNotFound(name), func() error {
		_, err := s.d.Virt.Pool(c.Request.Context(), name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return poolRef{Name: name}, nil
}

// resolveVolume validates the names, decides perm and finds the volume.
func (s *Server) resolveVolume(c *gin.Context, p rbac.Principal, perm rbac.Permission, name string) (any, error) {
	if err := s.checkHostParam(c); err != nil {
		return nil, err
	}
	pool := c.Param("pool")
	if err := virt.ValidatePoolName(pool); err != nil {
		return nil, err
	}
	if err := virt.ValidateVolumeName(name); err != nil {
		return nil, err
	}
	// The audit names the pool too.
	c.Set(keyTarget, "volume:"+pool+"/"+name)
	err := s.decideStorage(p, perm, virt.PoolNotFound(pool), func() error {
		_, err := s.d.Virt.Volume(c.Request.Context(), pool, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return volumeRef{Pool: pool, Name: name}, nil
}

// seesPaths reports whether the caller may see host paths.
func (s *Server) seesPaths(c *gin.Context) bool {
	d, _ := sessionOf(c)
	ok, err := s.d.Authz.Allowed(d.Principal(), permPoolManage)
	return err == nil && ok
}

func (s *Server) poolView(c *gin.Context, p api.Pool) api.Pool {
	if !s.seesPaths(c) {
		p.Path = ""
	}
	return p
}

func (s *Server) volumeView(c *gin.Context, vs []api.Volume) []api.Volume {
	if !s.seesPaths(c) {
		for i := range vs {
			vs[i].Path = ""
		}
	}
	return vs
}

// listPools lists every pool for those who may read pools; others (users
// of guests) get the names and free space of the pools their guests use.
func (s *Server) listPools(c *gin.Context) error {
	ctx := c.Request.Context()
	d, _ := sessionOf(c)
	full, err := s.d.Authz.Allowed(d.Principal(), permPoolRead)
	if err != nil {
		return fault.Internalf(err)
	}
	if !full {
		vms, err := s.guests.List(ctx, d.Principal(), virt.ListQuery{})
		if err != nil {
			return err
		}
		names := make([]string, len(vms))
		for i, vm := range vms {
			names[i] = vm.Name
		}
		ps, err := s.d.Storage.PoolsOfGuests(ctx, names)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, api.PoolList{Items: ps, AllowedActions: []string{}})
		return nil
	}
	ps, err := s.d.Storage.ListPools(ctx)
	if err != nil {
		return err
	}
	for i := range ps {
		ps[i] = s.poolView(c, ps[i])
	}
	c.JSON(http.StatusOK, api.PoolList{Items: ps, AllowedActions: s.storageActions(d.Principal())})
	return nil
}

// storageActions lists what p may do with storage, for the page's buttons.
func (s *Server) storageActions(p rbac.Principal) []string {
	out := []string{}
	for _, a := range []rbac.Permission{permPoolRead, permPoolManage, perm("volume", "manage")} {
		if ok, err := s.d.Authz.Allowed(p, a); err == nil && ok {
			out = append(out, a.Object+"."+a.Action)
		}
	}
	return out
}

func (s *Server) definePool(c *gin.Context) error {
	var req api.PoolRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if validPoolName(req.Name) {
		c.Set(keyTarget, "pool:"+req.Name)
	}
	p, err := s.d.Storage.DefinePool(c.Request.Context(), req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, s.poolView(c, p))
	return nil
}

func (s *Server) getPool(c *gin.Context) error {
	ref, _ := objectOf[poolRef](c)
	p, err := s.d.Storage.Pool(c.Request.Context(), ref.Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.poolView(c, p))
	return nil
}

func (s *Server) deletePool(c *gin.Context) error {
	ref, _ := objectOf[poolRef](c)
	if err := s.d.Storage.DeletePool(c.Request.Context(), ref.Name); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// poolAction runs one of start, stop and refresh.
func (s *Server) poolAction(action string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		ref, _ := objectOf[poolRef](c)
		ctx := c.Request.Context()
		var p api.Pool
		var err error
		switch action {
		case "start":
			p, err = s.d.Storage.StartPool(ctx, ref.Name)
		case "stop":
			p, err = s.d.Storage.StopPool(ctx, ref.Name)
		default:
			p, err = s.d.Storage.RefreshPool(ctx, ref.Name)
		}
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, s.poolView(c, p))
		return nil
	}
}

func (s *Server) setPoolAutostart(c *gin.Context) error {
	ref, _ := objectOf[poolRef](c)
	var req api.Autostart
	if err := decode(c, &req); err != nil {
		return err
	}
	c.Set(keyReason, "autostart="+strconv.FormatBool(req.Autostart))
	p, err := s.d.Storage.SetPoolAutostart(c.Request.Context(), ref.Name, req.Autostart)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.poolView(c, p))
	return nil
}

func (s *Server) listVolumes(c *gin.Context) error {
	ref, _ := objectOf[poolRef](c)
	vs, err := s.d.Storage.ListVolumes(c.Request.Context(), ref.Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, api.VolumeList{Items: s.volumeView(c, vs)})
	return nil
}

// createVolume submits the creation: 202 with the task.
func (s *Server) createVolume(c *gin.Context) error {
	ref, _ := objectOf[poolRef](c)
	var req api.VolumeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if validVolumeName(req.Name) {
		c.Set(keyTarget, "volume:"+ref.Name+"/"+req.Name)
	}
	d, _ := sessionOf(c)
	in, err := s.d.Storage.SubmitCreateVolume(c.Request.Context(), d.ID(), ref.Name, req)
	if err != nil {
		return err
	}
	id := strconv.FormatInt(in.ID, 10)
	c.Set(keyReason, "task:"+id)
	c.Header("Location", "/api/v1/tasks/"+id)
	c.JSON(http.StatusAccepted, tasks.View(s.d.Authz, d.Principal(), in))
	return nil
}

func (s *Server) getVolume(c *gin.Context) error {
	ref, _ := objectOf[volumeRef](c)
	v, err := s.d.Storage.Volume(c.Request.Context(), ref.Pool, ref.Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.volumeView(c, []api.Volume{v})[0])
	return nil
}

func (s *Server) deleteVolume(c *gin.Context) error {
	ref, _ := objectOf[volumeRef](c)
	if err := s.d.Storage.DeletePoolVolume(c.Request.Context(), ref.Pool, ref.Name); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) resizeVolume(c *gin.Context) error {
	ref, _ := objectOf[volumeRef](c)
	var req api.VolumeResize
	if err := decode(c, &req); err != nil {
		return err
	}
	c.Set(keyReason, "capacity="+strconv.FormatUint(req.Capacity, 10))
	v, err := s.d.Storage.ResizeVolume(c.Request.Context(), ref.Pool, ref.Name, req.Capacity)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.volumeView(c, []api.Volume{v})[0])
	return nil
}
