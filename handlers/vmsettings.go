package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Guest settings (issue 11): processor, memory, identity and boot, the
// display and the serial console.

func (s *Server) getVMSettings(c *gin.Context) error {
	st, err := s.d.Virt.Settings(c.Request.Context(), guestOf(c).Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (s *Server) putVM(c *gin.Context) error {
	var req api.VMUpdate
	if err := decode(c, &req); err != nil {
		return err
	}
	if req == (api.VMUpdate{}) {
		return fault.CodeBadRequest.New("nothing to change: give at least one field")
	}
	res, err := s.d.Virt.UpdateSettings(c.Request.Context(), guestOf(c).Name, req)
	if err != nil {
		return err
	}
	c.Set(keyReason, truncate(settingsDiff(res, func(f string) string { return settingValue(res.Settings, f) }), 500))
	c.JSON(http.StatusOK, res)
	return nil
}

func (s *Server) putVMGraphics(c *gin.Context) error {
	var req api.VMGraphicsUpdate
	if err := decode(c, &req); err != nil {
		return err
	}
	if req == (api.VMGraphicsUpdate{}) {
		return fault.CodeBadRequest.New("nothing to change: give at least one field")
	}
	d, _ := sessionOf(c)
	res, err := s.d.Virt.UpdateGraphics(c.Request.Context(), guestOf(c).Name, req, isAdmin(d.Principal()))
	if err != nil {
		return err
	}
	// The password itself is never recorded: only that it changed.
	c.Set(keyReason, truncate(settingsDiff(res, func(f string) string { return settingValue(res.Settings, f) }), 500))
	c.JSON(http.StatusOK, res)
	return nil
}

// settingsDiff words what changed for the audit log: field=value (when),
// sorted; secrets appear as "set" or "removed".
func settingsDiff(res api.VMUpdateResult, value func(string) string) string {
	fields := make([]string, 0, len(res.Applied))
	for f := range res.Applied {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		p := f + "=" + value(f)
		if res.Applied[f] == api.AppliesNextBoot {
			p += " (next boot)"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

// settingValue is a changed field's new value for the audit log.
func settingValue(st api.VMSettings, field string) string {
	switch field {
	case "name":
		return st.Name
	case "title", "description":
		return "changed"
	case "autostart":
		return fmt.Sprint(st.Autostart)
	case "vcpus":
		return fmt.Sprint(st.VCPUs)
	case "max_vcpus":
		return fmt.Sprint(st.MaxVCPUs)
	case "topology":
		if t := st.Topology; t != nil {
			return fmt.Sprintf("%dx%dx%d", t.Sockets, t.Cores, t.Threads)
		}
	case "cpu_mode":
		return strings.TrimSuffix(st.CPUMode+" "+st.CPUModel, " ")
	case "memory_mib":
		return fmt.Sprint(st.MemoryMiB)
	case "max_memory_mib":
		return fmt.Sprint(st.MaxMemoryMiB)
	case "boot_order":
		return strings.Join(st.BootOrder, ",")
	case "boot_menu":
		return fmt.Sprint(st.BootMenu)
	case "graphics.type":
		return st.Graphics.Type
	case "graphics.listen":
		return st.Graphics.Listen
	case "graphics.keymap":
		return st.Graphics.Keymap
	case "graphics.password":
		if !st.Graphics.PasswordSet {
			return "removed"
		}
		if t := st.Graphics.PasswordValidTo; t != nil {
			return "set, valid until " + t.Format("2006-01-02T15:04:05Z")
		}
		return "set"
	case "serial":
		return fmt.Sprint(st.Serial)
	}
	return ""
}
