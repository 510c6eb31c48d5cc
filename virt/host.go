package virt

import (
	"context"
	"fmt"
	"strings"

	"github.com/virtportal/virtportal/api"
)

// Host summarises the hypervisor host and the index's counts.
func (m *Manager) Host(ctx context.Context) (api.Host, error) {
	if err := ctx.Err(); err != nil {
		return api.Host{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.Host{}, err
	}
	defer release(c)
	h := api.Host{URI: m.cfg.URI, Demo: strings.HasPrefix(m.cfg.URI, "test:")}
	if h.Hostname, err = c.GetHostname(); err != nil {
		return api.Host{}, m.fail("host name", "", err)
	}
	if h.Driver, err = c.GetType(); err != nil {
		return api.Host{}, m.fail("driver type", "", err)
	}
	v, err := c.GetLibVersion()
	if err != nil {
		return api.Host{}, m.fail("libvirt version", "", err)
	}
	h.Version = fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
	ni, err := c.GetNodeInfo()
	if err != nil {
		return api.Host{}, m.fail("node info", "", err)
	}
	h.CPUs = int(ni.Cpus)
	h.MemoryMiB = ni.Memory >> 10
	if h.HostFacts, err = m.hostFacts(c); err != nil {
		return api.Host{}, err
	}
	m.mu.RLock()
	h.VMsTotal = len(m.sorted)
	for _, e := range m.sorted {
		if e.vm.State == api.StateRunning || e.vm.State == api.StateBlocked {
			h.VMsRunning++
		}
	}
	m.mu.RUnlock()
	return h, nil
}
