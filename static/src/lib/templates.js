// Templates (issue 10): the API calls of the Templates page and the pure
// parts of its form (topology, the OS defaults applied, the body sent).

import { request } from './api.js';

const enc = encodeURIComponent;

export const templatesApi = {
  /** {items: [Template], allowed_actions} */
  list: (signal) => request('GET', '/templates', { signal }),
  create: (body) => request('POST', '/templates', { body }),
  update: (id, body) => request('PUT', `/templates/${enc(id)}`, { body }),
  remove: (id) => request('DELETE', `/templates/${enc(id)}`),
  copy: (id) => request('POST', `/templates/${enc(id)}/copy`),
  /** OSDefaults with the host's limits (host: {max_vcpus, threads_per_core, uefi, secure_boot}) */
  defaults: (host, os, signal) => request('GET', `/hosts/${enc(host)}/os-defaults`, { query: { os }, signal }),
  /** {items: [{id, short_id, name}]} */
  searchOS: (q, signal) => request('GET', '/os', { query: { q }, signal }),
};

export const SOURCE_KINDS = ['none', 'iso', 'cloud_image', 'disk'];
export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'ide'];
export const NIC_MODELS = ['virtio', 'e1000e', 'e1000', 'rtl8139'];
export const GRAPHICS = ['vnc', 'spice', 'none'];
export const GIB = 1024 ** 3;

/**
 * The topologies of n vCPUs a host offers: sockets × cores × threads = n,
 * threads at most threadsPerCore; one socket first.
 * @param {number} n
 * @param {number} threadsPerCore
 * @returns {Array<{sockets: number, cores: number, threads: number}>}
 */
export function topologies(n, threadsPerCore = 1) {
  const out = [];
  if (!Number.isInteger(n) || n < 1 || n > 4096) return out;
  for (let threads = 1; threads <= Math.max(1, threadsPerCore); threads++) {
    if (n % threads) continue;
    const rest = n / threads;
    for (let sockets = 1; sockets <= rest; sockets++) {
      if (rest % sockets === 0) out.push({ sockets, cores: rest / sockets, threads });
    }
  }
  return out;
}

/**
 * A template's form values with an OS's defaults filled in: devices,
 * firmware, machine and the recommended sizes where the form has none.
 * @param {Record<string, any>} form
 * @param {Record<string, any>} d OSDefaults
 */
export function applyDefaults(form, d) {
  const out = { ...form, os: { ...(d.os ?? {}) } };
  out.diskBus = d.disk_bus || form.diskBus;
  out.nicModel = d.nic_model || form.nicModel;
  out.firmware = d.firmware === 'uefi' && d.host && !d.host.uefi ? 'bios' : (d.firmware || 'bios');
  out.secureBoot = out.firmware === 'uefi' && Boolean(d.secure_boot);
  out.machine = d.machine || '';
  if (d.memory_mib) out.memoryMiB = Math.max(d.memory_mib, 256);
  if (d.disk_size) out.diskGiB = Math.ceil(d.disk_size / GIB);
  if (d.vcpus && d.vcpus > (form.vcpus ?? 1)) out.vcpus = d.vcpus;
  return out;
}

/**
 * The JSON body of a template from the form.
 * @param {Record<string, any>} f
 * @param {Record<string, any>|null} old the template edited: its disks and NICs beyond the first are kept
 */
export function templateBody(f, old = null) {
  const vcpus = Number(f.vcpus);
  const maxVCPUs = Number(f.maxVCPUs || f.vcpus);
  const body = {
    name: String(f.name ?? '').trim(),
    description: String(f.description ?? '').trim(),
    os: f.os ?? {},
    vcpus,
    max_vcpus: maxVCPUs,
    memory_mib: Number(f.memoryMiB),
    max_memory_mib: Number(f.maxMemoryMiB || f.memoryMiB),
    firmware: f.firmware || 'bios',
    secure_boot: f.firmware === 'uefi' && Boolean(f.secureBoot),
    machine: f.machine || '',
    source: { kind: f.sourceKind || 'none' },
    disks: [],
    nics: [],
    graphics: f.graphics || 'vnc',
  };
  if (f.topology) body.topology = f.topology;
  if (body.source.kind !== 'none') {
    body.source.pool = f.sourcePool;
    body.source.volume = f.sourceVolume;
    if (body.source.kind !== 'iso') body.source.linked = Boolean(f.linked);
  }
  if (f.diskPool) body.disks.push({ pool: f.diskPool, size: Math.round(Number(f.diskGiB) * GIB), format: 'qcow2', bus: f.diskBus || '' });
  body.disks.push(...(old?.disks ?? []).slice(1));
  if (f.network) body.nics.push({ network: f.network, model: f.nicModel || '' });
  body.nics.push(...(old?.nics ?? []).slice(1));
  if (f.listen) body.graphics_listen = f.listen;
  body.boot_order = body.source.kind === 'iso' ? ['hd', 'cdrom'] : ['hd'];
  if (body.source.kind === 'cloud_image') {
    const keys = String(f.sshKeys ?? '').split('\n').map((k) => k.trim()).filter(Boolean);
    const ci = { user: f.ciUser || undefined, ssh_keys: keys.length ? keys : undefined, password_hash: f.passwordHash || undefined,
      hostname_pattern: f.hostnamePattern || undefined, user_data: f.userData || undefined };
    body.cloud_init = JSON.parse(JSON.stringify(ci));
  }
  return body;
}

/**
 * The form values of a template (the editor's starting point).
 * @param {Record<string, any>} tp
 */
export function formOf(tp) {
  const d = tp.disks?.[0];
  const n = tp.nics?.[0];
  const ci = tp.cloud_init ?? {};
  return {
    name: tp.name ?? '', description: tp.description ?? '', os: tp.os ?? {},
    vcpus: tp.vcpus ?? 1, maxVCPUs: tp.max_vcpus ?? tp.vcpus ?? 1, topology: tp.topology ?? null,
    memoryMiB: tp.memory_mib ?? 1024, maxMemoryMiB: tp.max_memory_mib ?? tp.memory_mib ?? 1024,
    firmware: tp.firmware ?? 'bios', secureBoot: Boolean(tp.secure_boot), machine: tp.machine ?? '',
    sourceKind: tp.source?.kind ?? 'none', sourcePool: tp.source?.pool ?? '', sourceVolume: tp.source?.volume ?? '', linked: Boolean(tp.source?.linked),
    diskPool: d?.pool ?? '', diskGiB: d ? Math.max(1, Math.round(d.size / GIB)) : 20, diskBus: d?.bus ?? '',
    network: n?.network ?? '', nicModel: n?.model ?? '', graphics: tp.graphics ?? 'vnc', listen: tp.graphics_listen ?? '',
    ciUser: ci.user ?? '', sshKeys: (ci.ssh_keys ?? []).join('\n'), passwordHash: ci.password_hash ?? '',
    hostnamePattern: ci.hostname_pattern ?? '', userData: ci.user_data ?? '',
  };
}
