import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POOL_FIELDS, POOL_TYPES, cleanPath, formField, poolRequest } from './pools.js';

describe('pool form', () => {
  it('knows every type the server defines', () => {
    assert.deepEqual([...POOL_TYPES].sort(), ['dir', 'disk', 'fs', 'iscsi', 'logical', 'netfs', 'scsi']);
    for (const ty of POOL_TYPES) assert.ok(Array.isArray(POOL_FIELDS[ty]), ty);
  });

  it('accepts clean paths only', () => {
    for (const p of ['/srv/p', '/var/lib/libvirt/images']) assert.ok(cleanPath(p), p);
    for (const p of ['', '/', 'srv/p', '/srv/../etc', '/srv//p', '/srv/p/', '/srv/a b', '/srv/ä', '/srv/./p']) assert.ok(!cleanPath(p), p);
  });

  const cases = [
    ['dir', { name: 'p1', type: 'dir', path: '/srv/p1', autostart: true }, { body: { name: 'p1', type: 'dir', path: '/srv/p1', autostart: true } }],
    ['dir without a path', { name: 'p1', type: 'dir' }, { problem: 'pools.new.pathRequired', field: 'path' }],
    ['hostile name', { name: '../x', type: 'dir', path: '/srv/p' }, { problem: 'pools.new.nameInvalid', field: 'name' }],
    ['look-alike name', { name: 'p\u0430', type: 'dir', path: '/srv/p' }, { problem: 'pools.new.nameInvalid', field: 'name' }],
    ['dotdot path', { name: 'p', type: 'dir', path: '/srv/../etc' }, { problem: 'pools.new.pathInvalid', field: 'path' }],
    ['netfs', { name: 'nas', type: 'netfs', path: '/mnt/nas', host: 'nas.example.org', dir: '/export', format: 'nfs' },
      { body: { name: 'nas', type: 'netfs', path: '/mnt/nas', autostart: false, source: { host: 'nas.example.org', dir: '/export', format: 'nfs' } } }],
    ['netfs hostile host', { name: 'nas', type: 'netfs', path: '/mnt/nas', host: 'nas;rm', dir: '/export' }, { problem: 'pools.new.hostInvalid', field: 'host' }],
    ['logical build', { name: 'vg', type: 'logical', vg: 'data', devices: '/dev/sdb, /dev/sdc', build: true },
      { body: { name: 'vg', type: 'logical', path: '', autostart: false, source: { devices: ['/dev/sdb', '/dev/sdc'], name: 'data' }, build: true } }],
    ['logical build without devices', { name: 'vg', type: 'logical', build: true }, { problem: 'pools.new.deviceForBuild', field: 'devices' }],
    ['fs device outside /dev', { name: 'f', type: 'fs', path: '/srv/f', devices: '/etc/passwd' }, { problem: 'pools.new.deviceInvalid', field: 'devices' }],
    ['fs build needs a format', { name: 'f', type: 'fs', path: '/srv/f', devices: '/dev/sdb', format: 'auto', build: true }, { problem: 'pools.new.formatForBuild', field: 'format' }],
    ['disk two devices', { name: 'd', type: 'disk', devices: '/dev/sdb /dev/sdc' }, { problem: 'pools.new.deviceOne', field: 'devices' }],
    ['iscsi', { name: 's', type: 'iscsi', host: '192.0.2.7', port: '3260', iqn: 'iqn.2004-04.org.example:d1' },
      { body: { name: 's', type: 'iscsi', path: '', autostart: false, source: { host: '192.0.2.7', port: 3260, iqn: 'iqn.2004-04.org.example:d1' } } }],
    ['iscsi bad iqn', { name: 's', type: 'iscsi', host: 'san', iqn: 'disk1' }, { problem: 'pools.new.iqnInvalid', field: 'iqn' }],
    ['iscsi bad port', { name: 's', type: 'iscsi', host: 'san', port: '70000', iqn: 'iqn.2004-04.org.example:d1' }, { problem: 'pools.new.portInvalid', field: 'port' }],
    ['scsi adapter', { name: 'h', type: 'scsi', adapter: 'host0/../x' }, { problem: 'pools.new.adapterInvalid', field: 'adapter' }],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => assert.deepEqual(poolRequest(input), want));
  }

  it('maps the API details to form fields', () => {
    assert.equal(formField('source.host'), 'host');
    assert.equal(formField('source.name'), 'vg');
    assert.equal(formField('name'), 'name');
    assert.equal(formField('path'), 'path');
    assert.equal(formField('source.secret'), null);
  });
});
