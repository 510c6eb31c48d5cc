package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Codes of the template store.
var (
	CodeTemplateNotFound = fault.Define("template_not_found", fault.NotFound)
	CodeTemplateExists   = fault.Define("template_exists", fault.Conflict)
)

// Templates keeps the templates of new guests (issue 10). The store keeps
// what it is given: validation is the templates service's.
type Templates interface {
	// CreateTemplate stores t with a new id and returns it;
	// template_exists when its host has a template of that name.
	CreateTemplate(ctx context.Context, t api.Template) (api.Template, error)
	// Template returns one template; template_not_found if none.
	Template(ctx context.Context, id int64) (api.Template, error)
	// ListTemplates returns the templates of host ("" : every host), by name.
	ListTemplates(ctx context.Context, host string) ([]api.Template, error)
	// UpdateTemplate replaces every field of template t.ID but its id, host
	// and creation time; template_not_found, template_exists.
	UpdateTemplate(ctx context.Context, t api.Template) (api.Template, error)
	// DeleteTemplate removes it; template_not_found if none.
	DeleteTemplate(ctx context.Context, id int64) error
}

var _ Templates = (*Store)(nil)

const templateCols = `id, host, name, description, os, vcpus, max_vcpus, topology, memory_mib, max_memory_mib, firmware,
	secure_boot, machine, source, disks, nics, graphics, listen, boot_order, cloud_init, created_at, updated_at`

// decodeStrict decodes one JSON value, refusing unknown fields and
// anything after it: a row written by a newer version is an error, not a
// silently narrowed template.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// templateJSON is the template's JSON columns, in column order.
func templateJSON(t api.Template) ([]any, error) {
	if t.Disks == nil {
		t.Disks = []api.TemplateDisk{}
	}
	if t.NICs == nil {
		t.NICs = []api.TemplateNIC{}
	}
	if t.BootOrder == nil {
		t.BootOrder = []string{}
	}
	var out []any
	for _, v := range []any{t.OS, t.Topology, t.Source, t.Disks, t.NICs, t.BootOrder, t.CloudInit} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	return out, nil
}

func scanTemplate(row interface{ Scan(...any) error }) (api.Template, error) {
	var t api.Template
	var osJ, topoJ, srcJ, disksJ, nicsJ, bootJ, ciJ string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Host, &t.Name, &t.Description, &osJ, &t.VCPUs, &t.MaxVCPUs, &topoJ, &t.MemoryMiB,
		&t.MaxMemoryMiB, &t.Firmware, &t.SecureBoot, &t.Machine, &srcJ, &disksJ, &nicsJ, &t.Graphics, &t.Listen,
		&bootJ, &ciJ, &created, &updated); err != nil {
		return api.Template{}, err
	}
	for _, f := range []struct {
		col string
		src string
		dst any
	}{{"os", osJ, &t.OS}, {"topology", topoJ, &t.Topology}, {"source", srcJ, &t.Source}, {"disks", disksJ, &t.Disks},
		{"nics", nicsJ, &t.NICs}, {"boot_order", bootJ, &t.BootOrder}, {"cloud_init", ciJ, &t.CloudInit}} {
		if err := decodeStrict([]byte(f.src), f.dst); err != nil {
			return api.Template{}, fmt.Errorf("template %d: column %s: %w", t.ID, f.col, err)
		}
	}
	if t.Disks == nil {
		t.Disks = []api.TemplateDisk{}
	}
	if t.NICs == nil {
		t.NICs = []api.TemplateNIC{}
	}
	t.Created, t.Updated = fromNS(created), fromNS(updated)
	t.Problems = []api.TemplateProblem{}
	return t, nil
}

// CreateTemplate implements Templates.
func (s *Store) CreateTemplate(ctx context.Context, t api.Template) (api.Template, error) {
	if t.Host == "" || t.Name == "" {
		return api.Template{}, errors.New("store: create template: no host or name")
	}
	js, err := templateJSON(t)
	if err != nil {
		return api.Template{}, fmt.Errorf("store: create template: %w", err)
	}
	// ON CONFLICT tells a taken name apart without decoding driver errors;
	// RETURNING answers no row then.
	err = s.w.QueryRowContext(ctx, `INSERT INTO templates (host, name, description, os, vcpus, max_vcpus, topology,
		memory_mib, max_memory_mib, firmware, secure_boot, machine, source, disks, nics, graphics, listen, boot_order,
		cloud_init, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING RETURNING id`,
		t.Host, t.Name, t.Description, js[0], t.VCPUs, t.MaxVCPUs, js[1], t.MemoryMiB, t.MaxMemoryMiB, t.Firmware,
		t.SecureBoot, t.Machine, js[2], js[3], js[4], t.Graphics, t.Listen, js[5], js[6], toNS(t.Created), toNS(t.Updated)).Scan(&t.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Template{}, CodeTemplateExists.New("a template called %q exists already", t.Name)
	}
	if err != nil {
		return api.Template{}, fmt.Errorf("store: create template: %w", err)
	}
	return s.Template(ctx, t.ID)
}

// Template implements Templates.
func (s *Store) Template(ctx context.Context, id int64) (api.Template, error) {
	t, err := scanTemplate(s.r.QueryRowContext(ctx, `SELECT `+templateCols+` FROM templates WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return api.Template{}, CodeTemplateNotFound.New("no such template")
	}
	if err != nil {
		return api.Template{}, fmt.Errorf("store: get template: %w", err)
	}
	return t, nil
}

// ListTemplates implements Templates.
func (s *Store) ListTemplates(ctx context.Context, host string) ([]api.Template, error) {
	q, args := `SELECT `+templateCols+` FROM templates`, []any{}
	if host != "" {
		q, args = q+` WHERE host = ?`, append(args, host)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY name, host, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list templates: %w", err)
	}
	defer rows.Close()
	out := []api.Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list templates: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list templates: %w", err)
	}
	return out, nil
}

// UpdateTemplate implements Templates.
func (s *Store) UpdateTemplate(ctx context.Context, t api.Template) (api.Template, error) {
	js, err := templateJSON(t)
	if err != nil {
		return api.Template{}, fmt.Errorf("store: update template: %w", err)
	}
	// OR IGNORE: a name taken on the host leaves the row as it was (0 rows).
	n, err := s.execCount(ctx, "update template", `UPDATE OR IGNORE templates SET name = ?, description = ?, os = ?,
		vcpus = ?, max_vcpus = ?, topology = ?, memory_mib = ?, max_memory_mib = ?, firmware = ?, secure_boot = ?,
		machine = ?, source = ?, disks = ?, nics = ?, graphics = ?, listen = ?, boot_order = ?, cloud_init = ?,
		updated_at = ? WHERE id = ?`,
		t.Name, t.Description, js[0], t.VCPUs, t.MaxVCPUs, js[1], t.MemoryMiB, t.MaxMemoryMiB, t.Firmware, t.SecureBoot,
		t.Machine, js[2], js[3], js[4], t.Graphics, t.Listen, js[5], js[6], toNS(t.Updated), t.ID)
	if err != nil {
		return api.Template{}, err
	}
	if n == 0 {
		old, err := s.Template(ctx, t.ID)
		if err != nil {
			return api.Template{}, err
		}
		var taken int
		if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM templates WHERE host = ? AND name = ? AND id <> ?`,
			old.Host, t.Name, t.ID).Scan(&taken); err != nil {
			return api.Template{}, fmt.Errorf("store: update template: %w", err)
		}
		if taken == 0 {
			return api.Template{}, errors.New("store: update template: refused by a constraint")
		}
		return api.Template{}, CodeTemplateExists.New("a template called %q exists already", t.Name)
	}
	return s.Template(ctx, t.ID)
}

// DeleteTemplate implements Templates.
func (s *Store) DeleteTemplate(ctx context.Context, id int64) error {
	n, err := s.execCount(ctx, "delete template", `DELETE FROM templates WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return CodeTemplateNotFound.New("no such template")
	}
	return nil
}
