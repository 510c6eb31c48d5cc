package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/virtportal/virtportal/services/templates"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// demoTemplatesMarker records in the data dir that the demo templates were
// seeded, so that deleting them all does not bring them back.
const demoTemplatesMarker = "demo-templates-seeded"

// seedDemoTemplates gives a new demo host its three templates, once.
func seedDemoTemplates(ctx context.Context, dataDir string, st *store.Store, vm *virt.Manager) error {
	marker := filepath.Join(dataDir, demoTemplatesMarker)
	if _, err := os.Stat(marker); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	_, err := templates.New(st, vm, nil).SeedDemo(ctx, templates.DemoNames{Pool: virt.FixturePoolDefault, ISOPool: virt.FixturePoolISOs,
		Network: virt.FixtureNetDefault, CloudImage: virt.DemoCloudImage, DebianISO: virt.DemoDebianISO, WinISO: virt.DemoWindowsISO})
	if err != nil {
		return err
	}
	return os.WriteFile(marker, []byte("the demo templates were created; delete this file to create them again\n"), 0o600)
}
