import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, formOf, GIB, templateBody, topologies } from './templates.js';

describe('templates', () => {
  it('offers topologies whose product is the vCPUs, threads within the host', () => {
    assert.deepEqual(topologies(4, 1), [{ sockets: 1, cores: 4, threads: 1 }, { sockets: 2, cores: 2, threads: 1 }, { sockets: 4, cores: 1, threads: 1 }]);
    const two = topologies(4, 2);
    assert.ok(two.some((x) => x.threads === 2));
    for (const x of two) assert.equal(x.sockets * x.cores * x.threads, 4);
    assert.deepEqual(topologies(0, 2), []);
    assert.deepEqual(topologies(1.5, 2), []);
  });
  it('fills the OS defaults, BIOS where the host has no UEFI', () => {
    const d = { os: { short_id: 'win11' }, disk_bus: 'sata', nic_model: 'e1000e', firmware: 'uefi', secure_boot: true, memory_mib: 4096, disk_size: 64 * GIB, vcpus: 2, host: { uefi: true } };
    const f = applyDefaults({ vcpus: 1 }, d);
    assert.equal(f.diskBus, 'sata');
    assert.equal(f.nicModel, 'e1000e');
    assert.equal(f.firmware, 'uefi');
    assert.equal(f.secureBoot, true);
    assert.equal(f.diskGiB, 64);
    assert.equal(f.vcpus, 2);
    const g = applyDefaults({ vcpus: 1 }, { ...d, host: { uefi: false } });
    assert.equal(g.firmware, 'bios');
    assert.equal(g.secureBoot, false);
  });
  it('builds a body the server reads and keeps extra disks and NICs', () => {
    const old = { name: 'x', vcpus: 2, max_vcpus: 2, memory_mib: 1024, firmware: 'bios', graphics: 'vnc', source: { kind: 'cloud_image', pool: 'p', volume: 'v.qcow2', linked: true },
      disks: [{ pool: 'p', size: 10 * GIB, bus: 'virtio' }, { pool: 'q', size: GIB }], nics: [{ network: 'n', model: 'virtio' }],
      cloud_init: { user: 'debian', ssh_keys: ['ssh-ed25519 AAAA a', 'ssh-rsa BBBB b'] } };
    const b = templateBody(formOf(old), old);
    assert.equal(b.disks.length, 2);
    assert.equal(b.disks[0].size, 10 * GIB);
    assert.deepEqual(b.disks[1], { pool: 'q', size: GIB });
    assert.deepEqual(b.cloud_init, { user: 'debian', ssh_keys: ['ssh-ed25519 AAAA a', 'ssh-rsa BBBB b'] });
    assert.deepEqual(b.source, { kind: 'cloud_image', pool: 'p', volume: 'v.qcow2', linked: true });
    assert.equal(b.secure_boot, false);
    const iso = templateBody({ ...formOf(old), sourceKind: 'iso' }, null);
    assert.equal(iso.cloud_init, undefined);
    assert.deepEqual(iso.boot_order, ['hd', 'cdrom']);
    assert.equal('linked' in iso.source, false);
  });
});
