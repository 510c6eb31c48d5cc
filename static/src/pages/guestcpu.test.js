import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appliesWhen, settingsPatch } from './guestcpu.js';
import { DEVICE_SECTIONS, graphicsPatch } from './guestdevices.js';

describe('guest settings', () => {
  const cur = { name: 'web01', vcpus: 2, max_vcpus: 4, topology: null, cpu_mode: 'host-passthrough', cpu_model: '', memory_mib: 1024,
    max_memory_mib: 2048, title: '', description: '', autostart: false, boot_order: ['hd'], boot_menu: false };

  it('sends only what changed', () => {
    assert.deepEqual(settingsPatch(cur, { ...cur, topology: { sockets: 4, cores: 1, threads: 1 } }), {});
    assert.deepEqual(settingsPatch(cur, { ...cur, vcpus: 3, boot_order: ['cdrom', 'hd'] }), { vcpus: 3, boot_order: ['cdrom', 'hd'] });
    assert.deepEqual(settingsPatch(cur, { ...cur, max_vcpus: 8, topology: { sockets: 2, cores: 2, threads: 2 } }),
      { max_vcpus: 8, topology: { sockets: 2, cores: 2, threads: 2 } });
    assert.deepEqual(settingsPatch(cur, { ...cur, cpu_mode: 'custom', cpu_model: 'EPYC' }), { cpu_mode: 'custom', cpu_model: 'EPYC' });
    assert.deepEqual(settingsPatch(cur, { ...cur, name: 'web01-new' }), { name: 'web01-new' });
  });

  it('says when a change applies', () => {
    assert.equal(appliesWhen('max_vcpus', false), 'now');
    assert.equal(appliesWhen('vcpus', true), 'now');
    assert.equal(appliesWhen('boot_order', true), 'next_boot');
    assert.equal(appliesWhen('max_vcpus', true), 'off');
    assert.equal(appliesWhen('name', true), 'off');
  });

  it('never sends an empty password box, and sends a removal', () => {
    const g = { type: 'vnc', listen: '127.0.0.1', keymap: '', password_set: true };
    const f = { type: 'vnc', listen: '127.0.0.1', keymap: '', password: '', clearPassword: false, validTo: '' };
    assert.deepEqual(graphicsPatch(g, f), {});
    assert.deepEqual(graphicsPatch(g, { ...f, clearPassword: true }), { password: '' });
    assert.deepEqual(graphicsPatch(g, { ...f, password: 'abc', keymap: 'de' }), { keymap: 'de', password: 'abc' });
    assert.deepEqual(graphicsPatch(g, { ...f, type: 'spice' }), { type: 'spice' });
  });

  it('offers its device sections for others to extend', () => {
    assert.deepEqual(DEVICE_SECTIONS.map((s) => s.id), ['graphics', 'serial']);
  });
});
