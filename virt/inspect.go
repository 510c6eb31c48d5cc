package virt

import (
	"context"
	"io"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/virt/diskimage"
)

// CodeImageReferences: an image from outside names other files (a backing
// file, an external data file, extents), which a guest using it would open.
var CodeImageReferences = fault.Define("image_references_files", fault.Unprocessable)

// InspectVolume reads the start of a volume through libvirt (so remote
// and block pools work) and reports what its header says.
func (m *Manager) InspectVolume(ctx context.Context, pool, name string) (diskimage.Report, error) {
	r, err := m.OpenVolume(ctx, pool, name, 0, diskimage.HeaderSize)
	if err != nil {
		return diskimage.Report{}, err
	}
	b, err := io.ReadAll(io.LimitReader(r, diskimage.HeaderSize))
	cerr := r.Close()
	if err != nil {
		return diskimage.Report{}, m.fail("read volume header", name, err)
	}
	if cerr != nil {
		return diskimage.Report{}, m.fail("read volume header", name, cerr)
	}
	return diskimage.Inspect(b), nil
}

// CheckImageSafe refuses a volume whose header names other files; callers
// delete what they made. See package diskimage for why.
func (m *Manager) CheckImageSafe(ctx context.Context, pool, name string) error {
	rep, err := m.InspectVolume(ctx, pool, name)
	if err != nil {
		return err
	}
	if !rep.Safe() {
		return CodeImageReferences.New("the %s image %q names a %s outside itself, which a guest using it would open; such images are refused", rep.Format, name, rep.References)
	}
	return nil
}
