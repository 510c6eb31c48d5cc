package handlers

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/vmdisks"
	"github.com/virtportal/virtportal/virt"
)

// Guest disks and CD-ROM media (issue 11). Host paths are shown to and
// named by administrators only; everyone else uses pool volumes of the
// pools their guests use (and, for creators, their realm's creator pools).

var (
	permVMEdit  = perm("vm", "edit")
	permVMMedia = perm("vm", "media")
)

// diskCaller is what the caller may use for the guest's disks.
func (s *Server) diskCaller(c *gin.Context) (vmdisks.Caller, error) {
	d, _ := sessionOf(c)
	p := d.Principal()
	if isAdmin(p) {
		return vmdisks.Caller{HostPaths: true}, nil
	}
	ctx := c.Request.Context()
	vms, err := s.guests.List(ctx, p, virt.ListQuery{})
	if err != nil {
		return vmdisks.Caller{}, err
	}
	names := make([]string, len(vms))
	for i, vm := range vms {
		names[i] = vm.Name
	}
	ps, err := s.d.Storage.PoolsOfGuests(ctx, names)
	if err != nil {
		return vmdisks.Caller{}, err
	}
	pools := []string{}
	for _, pl := range ps {
		pools = append(pools, pl.Name)
	}
	for _, pl := range s.creatorPools(p) {
		if !slices.Contains(pools, pl) {
			pools = append(pools, pl)
		}
	}
	return vmdisks.Caller{Pools: pools}, nil
}

// diskView hides host paths from those who may not see them.
func (s *Server) diskView(c *gin.Context, d *api.GuestDisk) {
	if !s.seesPaths(c) {
		d.Path = ""
	}
}

func (s *Server) listDisks(c *gin.Context) error {
	g := guestOf(c)
	out, err := s.d.Disks.List(c.Request.Context(), g.Name)
	if err != nil {
		return err
	}
	for i := range out.Items {
		s.diskView(c, &out.Items[i])
	}
	d, _ := sessionOf(c)
	p := d.Principal()
	out.AllowedActions = []string{}
	for _, a := range []rbac.Permission{permVMEdit, permVMMedia} {
		if ok, err := s.d.Authz.AllowedOn(p, a, g); err == nil && ok {
			out.AllowedActions = append(out.AllowedActions, a.Action)
		}
	}
	out.HostPaths = isAdmin(p) && s.d.Disks.HostPathsAllowed()
	c.JSON(http.StatusOK, out)
	return nil
}

// attachDisk attaches a disk or CD-ROM drive: 200 with the change, or
// 202 with the task when a new volume is made for it.
func (s *Server) attachDisk(c *gin.Context) error {
	var req api.DiskAttach
	if err := decode(c, &req); err != nil {
		return err
	}
	switch {
	case req.Path != "":
		// Quoted: the audit shows control characters of a refused path.
		c.Set(keyReason, "source=path "+strconv.Quote(truncate(req.Path, 300)))
	case req.NewVolume != nil:
		c.Set(keyReason, "source=new "+truncate(req.NewVolume.Pool+"/"+req.NewVolume.Name, 300))
	case req.Pool != "":
		c.Set(keyReason, "source=volume "+truncate(req.Pool+"/"+req.Volume, 300))
	}
	who, err := s.diskCaller(c)
	if err != nil {
		return err
	}
	d, _ := sessionOf(c)
	ch, in, err := s.d.Disks.Attach(c.Request.Context(), d.ID(), guestOf(c).Name, who, req)
	if err != nil {
		return err
	}
	if in != nil {
		reason := c.GetString(keyReason)
		s.accepted(c, *in)
		c.Set(keyReason, reason+"; "+c.GetString(keyReason))
		return nil
	}
	s.diskView(c, &ch.Disk)
	c.Set(keyReason, c.GetString(keyReason)+"; target="+ch.Disk.Target+"; applies="+ch.Applies)
	c.JSON(http.StatusOK, ch)
	return nil
}

// detachDisk removes a drive; ?delete_volume=true deletes its volume too.
func (s *Server) detachDisk(c *gin.Context) error {
	del := false
	switch v := c.Query("delete_volume"); v {
	case "", "false", "0":
	case "true", "1":
		del = true
	default:
		return fault.CodeBadRequest.New("delete_volume must be true or false, not %q", truncate(v, 16))
	}
	who, err := s.diskCaller(c)
	if err != nil {
		return err
	}
	ch, err := s.d.Disks.Detach(c.Request.Context(), guestOf(c).Name, c.Param("target"), who, del)
	if err != nil {
		return err
	}
	s.diskView(c, &ch.Disk)
	c.Set(keyReason, "target="+ch.Disk.Target+"; applies="+ch.Applies+map[bool]string{true: "; volume deleted", false: ""}[ch.VolumeDeleted])
	c.JSON(http.StatusOK, ch)
	return nil
}

// insertMedia puts an ISO volume into a CD-ROM drive.
func (s *Server) insertMedia(c *gin.Context) error {
	var req api.DiskMedia
	if err := decode(c, &req); err != nil {
		return err
	}
	c.Set(keyReason, "media="+truncate(req.Pool+"/"+req.Volume, 300))
	return s.changeMedia(c, &req)
}

// ejectMedia empties a CD-ROM drive.
func (s *Server) ejectMedia(c *gin.Context) error { return s.changeMedia(c, nil) }

func (s *Server) changeMedia(c *gin.Context, m *api.DiskMedia) error {
	who, err := s.diskCaller(c)
	if err != nil {
		return err
	}
	ch, err := s.d.Disks.Media(c.Request.Context(), guestOf(c).Name, c.Param("target"), who, m)
	if err != nil {
		return err
	}
	s.diskView(c, &ch.Disk)
	c.JSON(http.StatusOK, ch)
	return nil
}

// diskChoices are the pools and disk volumes the caller may attach.
func (s *Server) diskChoices(c *gin.Context) error { return s.choices(c, false) }

// isoChoices are the ISOs the caller may insert, with their OS.
func (s *Server) isoChoices(c *gin.Context) error { return s.choices(c, true) }

func (s *Server) choices(c *gin.Context, iso bool) error {
	who, err := s.diskCaller(c)
	if err != nil {
		return err
	}
	out, err := s.d.Disks.Choices(c.Request.Context(), who, iso)
	if err != nil {
		return err
	}
	if !s.seesPaths(c) {
		for i := range out.Volumes {
			out.Volumes[i].Path = ""
		}
		for i := range out.ISOs {
			out.ISOs[i].Path = ""
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}
