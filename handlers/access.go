package handlers

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/virt"
)

func accessBody(gs []api.Grant) api.Access {
	if gs == nil {
		gs = []api.Grant{}
	}
	return api.Access{Items: gs}
}

func (s *Server) getAccess(c *gin.Context) error {
	g := guestOf(c)
	gs, ok := s.d.Virt.GrantsOf(g)
	if !ok {
		return virt.GuestNotFound(g.Name)
	}
	c.JSON(http.StatusOK, accessBody(gs))
	return nil
}

func (s *Server) putAccess(c *gin.Context) error {
	var req api.Access
	if err := decode(c, &req); err != nil {
		return err
	}
	return s.changeAccess(c, func(cur []api.Grant) ([]api.Grant, error) {
		return req.Items, s.checkGrants(c.Request.Context(), req.Items, cur)
	})
}

func (s *Server) patchAccess(c *gin.Context) error {
	var req api.AccessPatch
	if err := decode(c, &req); err != nil {
		return err
	}
	if len(req.Add)+len(req.Remove) == 0 {
		return fault.CodeBadRequest.New("nothing to add or remove")
	}
	return s.changeAccess(c, func(cur []api.Grant) ([]api.Grant, error) {
		next := virt.PatchGrants(cur, req.Add, req.Remove)
		return next, s.checkGrants(c.Request.Context(), next, cur)
	})
}

// checkGrants names every bad entry of next in one 422: its shape, then
// whether each new user or group exists in its realm.
func (s *Server) checkGrants(ctx context.Context, next, cur []api.Grant) error {
	var details []fault.Detail
	if err := virt.ValidateGrants(next); err != nil {
		if !fault.Is(err, virt.CodeInvalidGrants) {
			return err // too many: nothing to look up
		}
		details = fault.As(err).Details
	}
	more, err := s.d.Realms.CheckGrants(ctx, next, cur)
	if err != nil {
		return err
	}
	details = append(details, more...)
	if len(details) > 0 {
		slices.SortStableFunc(details, func(a, b fault.Detail) int { return strings.Compare(a.Field, b.Field) })
		return virt.CodeInvalidGrants.New("some grants are invalid; nothing was changed").WithDetails(details)
	}
	return nil
}

// changeAccess applies change atomically and records what changed.
func (s *Server) changeAccess(c *gin.Context, change func(cur []api.Grant) ([]api.Grant, error)) error {
	var before []api.Grant
	after, err := s.d.Virt.UpdateGrants(c.Request.Context(), c.Param("name"), func(cur []api.Grant) ([]api.Grant, error) {
		before = cur
		return change(cur)
	})
	if err != nil {
		return err
	}
	c.Set(keyReason, truncate(grantDiff(before, after), 500))
	c.JSON(http.StatusOK, accessBody(after))
	return nil
}

// grantDiff summarises a change for the audit log: +user:pam:bob=operator -group:ldap:ops=viewer.
func grantDiff(before, after []api.Grant) string {
	str := func(g api.Grant) string { return g.Kind + ":" + g.Realm + ":" + g.Name + "=" + g.Role }
	var parts []string
	for _, g := range after {
		if !slices.Contains(before, g) {
			parts = append(parts, "+"+str(g))
		}
	}
	for _, g := range before {
		if !slices.Contains(after, g) {
			parts = append(parts, "-"+str(g))
		}
	}
	return strings.Join(parts, " ")
}

// OnAccessChange calls fn with a guest's name whenever who may use that
// guest may have changed (its grants were edited, by the portal or with
// virsh, or it was undefined), and with "" after a full resync; consumers
// holding live sessions (consoles) re-check them. fn must be quick.
func (s *Server) OnAccessChange(fn func(guest string)) (cancel func()) {
	return s.d.Virt.Subscribe(func(e virt.Event) {
		switch e.Kind {
		case virt.EventMetadata, virt.EventUndefined:
			fn(e.Name)
		case virt.EventResync:
			fn("")
		}
	})
}
