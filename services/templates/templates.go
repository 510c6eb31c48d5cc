// Package templates keeps the recipes of new guests (issue 10): CRUD and
// copy over the store, validation against the host, the problems of a
// template whose pool, network or volume is gone, and the OS defaults
// from osinfo.
package templates

import (
	"context"
	"fmt"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt/osinfo"
)

// Host is what the service needs of a host; *virt.Manager is one.
type Host interface {
	HostName() string
	Pool(ctx context.Context, name string) (api.Pool, error)
	Volume(ctx context.Context, pool, name string) (api.Volume, error)
	Network(ctx context.Context, name string) (api.Network, error)
	HostLimits(ctx context.Context) (api.HostLimits, error)
	OSInfo() *osinfo.DB
}

// Service is the templates of one host.
type Service struct {
	st   store.Templates
	host Host
	now  func() time.Time
}

// New returns the template service over st for host h; now nil: time.Now.
func New(st store.Templates, h Host, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, host: h, now: now}
}

// List returns the host's templates, each with its problems.
func (s *Service) List(ctx context.Context) ([]api.Template, error) {
	ts, err := s.st.ListTemplates(ctx, s.host.HostName())
	if err != nil {
		return nil, err
	}
	r := s.resolver(ctx)
	for i := range ts {
		if err := r.fill(&ts[i]); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// Template returns one template of this host with its problems filled in
// (guest creation refuses one that has any); template_not_found.
func (s *Service) Template(ctx context.Context, id int64) (api.Template, error) {
	t, err := s.st.Template(ctx, id)
	if err != nil {
		return api.Template{}, err
	}
	if t.Host != s.host.HostName() {
		return api.Template{}, store.CodeTemplateNotFound.New("no such template")
	}
	if err := s.resolver(ctx).fill(&t); err != nil {
		return api.Template{}, err
	}
	return t, nil
}

// check normalizes and validates in for this host.
func (s *Service) check(ctx context.Context, in *api.Template, admin bool) error {
	Normalize(in)
	l, err := s.host.HostLimits(ctx)
	if err != nil {
		return err
	}
	return Validate(*in, l, admin)
}

// Create stores a new template; admin may set any graphics listen address.
func (s *Service) Create(ctx context.Context, in api.Template, admin bool) (api.Template, error) {
	if err := s.check(ctx, &in, admin); err != nil {
		return api.Template{}, err
	}
	now := s.now().UTC()
	in.ID, in.Host, in.Created, in.Updated = 0, s.host.HostName(), now, now
	t, err := s.st.CreateTemplate(ctx, in)
	if err != nil {
		return api.Template{}, err
	}
	return s.Template(ctx, t.ID)
}

// Update replaces template id with in (its id, host and creation kept).
// Guests made from it keep what they were made with.
func (s *Service) Update(ctx context.Context, id int64, in api.Template, admin bool) (api.Template, error) {
	old, err := s.Template(ctx, id)
	if err != nil {
		return api.Template{}, err
	}
	// A listen address an administrator set survives a non-admin's edit
	// that leaves it as it was.
	if err := s.check(ctx, &in, admin || (in.Listen == old.Listen)); err != nil {
		return api.Template{}, err
	}
	in.ID, in.Host, in.Created, in.Updated = id, old.Host, old.Created, s.now().UTC()
	if _, err := s.st.UpdateTemplate(ctx, in); err != nil {
		return api.Template{}, err
	}
	return s.Template(ctx, id)
}

// Delete removes template id; guests made from it stay.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if _, err := s.Template(ctx, id); err != nil {
		return err
	}
	return s.st.DeleteTemplate(ctx, id)
}

// Copy stores a copy of template id named name ("" : "<name>-copy",
// then "-copy-2" and on while taken).
func (s *Service) Copy(ctx context.Context, id int64, name string) (api.Template, error) {
	t, err := s.Template(ctx, id)
	if err != nil {
		return api.Template{}, err
	}
	now := s.now().UTC()
	t.ID, t.Created, t.Updated, t.Problems = 0, now, now, nil
	if name != "" {
		t.Name = name
		// The copy passes the rules of a new template; its listen address
		// was an administrator's choice already.
		if err := s.check(ctx, &t, true); err != nil {
			return api.Template{}, err
		}
		c, err := s.st.CreateTemplate(ctx, t)
		if err != nil {
			return api.Template{}, err
		}
		return s.Template(ctx, c.ID)
	}
	base := t.Name
	for n := 1; n <= 100; n++ {
		suffix := "-copy"
		if n > 1 {
			suffix = fmt.Sprintf("-copy-%d", n)
		}
		t.Name = base
		if len(t.Name)+len(suffix) > MaxNameLen {
			t.Name = t.Name[:MaxNameLen-len(suffix)]
		}
		t.Name += suffix
		c, err := s.st.CreateTemplate(ctx, t)
		if fault.Is(err, store.CodeTemplateExists) {
			continue
		}
		if err != nil {
			return api.Template{}, err
		}
		return s.Template(ctx, c.ID)
	}
	return api.Template{}, store.CodeTemplateExists.New("name the copy: %s-copy … -copy-100 are taken", base)
}

// Defaults returns the OS defaults for os (osinfo id or short id; the
// generic profile when unknown) with what the host offers: UEFI falls
// back to BIOS where OVMF is missing and the OS does not need it.
func (s *Service) Defaults(ctx context.Context, os string) (api.OSDefaults, error) {
	l, err := s.host.HostLimits(ctx)
	if err != nil {
		return api.OSDefaults{}, err
	}
	d := osinfo.Generic()
	if db := s.host.OSInfo(); db != nil && os != "" {
		d = db.Defaults(os)
	}
	d.Host = &l
	d.SecureBoot = d.SecureBoot && l.SecureBoot
	return d, nil
}

// SearchOS lists up to limit operating systems whose short id or name
// contains q.
func (s *Service) SearchOS(q string, limit int) api.OSList {
	out := api.OSList{Items: []api.TemplateOS{}}
	for _, o := range s.host.OSInfo().Search(q, limit) {
		out.Items = append(out.Items, api.TemplateOS{ID: o.ID, ShortID: o.ShortID, Name: o.Name, Family: o.Family,
			Distro: o.Distro, Version: o.Version, Arch: "x86_64"})
	}
	return out
}
