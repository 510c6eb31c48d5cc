package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/networks"
	"github.com/virtportal/virtportal/virt"
)

// Network permissions. Seeing networks at all (network:read) decides
// whether a network is hidden (404) or refused (403).
var (
	permNetRead   = perm("network", "read")
	permNetManage = perm("network", "manage")
)

func networkScope(param string) Scope { return Scope{Kind: "network", Param: param} }

// networkRef is the network a network-scoped route acts on.
type networkRef struct{ Name string }

func validNetworkName(id string) bool { return virt.ValidateNetworkName(id) == nil }

// nets is the network service of the host.
func (s *Server) nets() *networks.Service { return networks.New(s.d.Virt) }

// resolveNetwork validates the names, decides perm and finds the network.
func (s *Server) resolveNetwork(c *gin.Context, p rbac.Principal, perm rbac.Permission, name string) (any, error) {
	if err := s.checkHostParam(c); err != nil {
		return nil, err
	}
	if err := virt.ValidateNetworkName(name); err != nil {
		return nil, err
	}
	err := s.decideSeen(p, permNetRead, perm, virt.NetworkNotFound(name), func() error {
		_, err := s.d.Virt.Network(c.Request.Context(), name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return networkRef{Name: name}, nil
}

// listNetworks lists every network for those who may read networks;
// others (users of guests) get the names of the networks their guests use.
func (s *Server) listNetworks(c *gin.Context) error {
	ctx := c.Request.Context()
	d, _ := sessionOf(c)
	full, err := s.d.Authz.Allowed(d.Principal(), permNetRead)
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
		ns, err := s.nets().NetworksOfGuests(ctx, names)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, api.NetworkList{Items: ns, AllowedActions: []string{}})
		return nil
	}
	ns, err := s.nets().ListNetworks(ctx)
	if err != nil {
		return err
	}
	actions := []string{}
	for _, a := range []rbac.Permission{permNetRead, permNetManage} {
		if ok, err := s.d.Authz.Allowed(d.Principal(), a); err == nil && ok {
			actions = append(actions, a.Object+"."+a.Action)
		}
	}
	c.JSON(http.StatusOK, api.NetworkList{Items: ns, AllowedActions: actions})
	return nil
}

func (s *Server) freeSubnet(c *gin.Context) error {
	f, err := s.nets().FreeSubnet(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, f)
	return nil
}

func (s *Server) createNetwork(c *gin.Context) error {
	var req api.NetworkRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if validNetworkName(req.Name) {
		c.Set(keyTarget, "network:"+req.Name)
	}
	// GET …/networks/free-subnet is a route of its own: a network of that
	// name could not be read.
	if req.Name == "free-subnet" {
		return fault.CodeInvalidName.New("the network name %q is reserved", req.Name)
	}
	c.Set(keyReason, "kind="+req.Kind)
	n, err := s.nets().CreateNetwork(c.Request.Context(), req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, n)
	return nil
}

func (s *Server) getNetwork(c *gin.Context) error {
	ref, _ := objectOf[networkRef](c)
	n, err := s.nets().Network(c.Request.Context(), ref.Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, n)
	return nil
}

func (s *Server) deleteNetwork(c *gin.Context) error {
	ref, _ := objectOf[networkRef](c)
	if err := s.nets().DeleteNetwork(c.Request.Context(), ref.Name); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// networkAction runs start or stop.
func (s *Server) networkAction(action string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		ref, _ := objectOf[networkRef](c)
		var n api.Network
		var err error
		if action == "start" {
			n, err = s.nets().StartNetwork(c.Request.Context(), ref.Name)
		} else {
			n, err = s.nets().StopNetwork(c.Request.Context(), ref.Name)
		}
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, n)
		return nil
	}
}

func (s *Server) setNetworkAutostart(c *gin.Context) error {
	ref, _ := objectOf[networkRef](c)
	var req api.Autostart
	if err := decode(c, &req); err != nil {
		return err
	}
	c.Set(keyReason, "autostart="+strconv.FormatBool(req.Autostart))
	n, err := s.nets().SetNetworkAutostart(c.Request.Context(), ref.Name, req.Autostart)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, n)
	return nil
}

func (s *Server) networkLeases(c *gin.Context) error {
	ref, _ := objectOf[networkRef](c)
	ls, err := s.nets().NetworkLeases(c.Request.Context(), ref.Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, api.LeaseList{Items: ls})
	return nil
}

func (s *Server) hostInterfaces(c *gin.Context) error {
	if err := s.checkHostParam(c); err != nil {
		return err
	}
	ifs, err := s.nets().HostInterfaces(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, api.HostInterfaceList{Items: ifs})
	return nil
}
