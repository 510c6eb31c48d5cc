// The new-pool form's rules (the server's, said early): which source
// fields each pool type takes, and the request body from what was typed.
// Pure; pages/poolactions.js draws.

/** Pool types the server defines, in the form's order. */
export const POOL_TYPES = Object.freeze(['dir', 'fs', 'netfs', 'logical', 'disk', 'iscsi', 'scsi']);

/** Formats per type (the first is the default). */
export const POOL_FORMATS = Object.freeze({
  fs: Object.freeze(['auto', 'ext4', 'ext3', 'ext2', 'xfs', 'vfat']),
  netfs: Object.freeze(['nfs', 'cifs', 'glusterfs']),
  disk: Object.freeze(['gpt', 'dos']),
});

/** The source fields each type shows, and whether it may build its devices. */
export const POOL_FIELDS = Object.freeze({
  dir: Object.freeze([]),
  fs: Object.freeze(['devices', 'format', 'build']),
  netfs: Object.freeze(['host', 'dir', 'format']),
  logical: Object.freeze(['name', 'devices', 'build']),
  disk: Object.freeze(['devices', 'format', 'build']),
  iscsi: Object.freeze(['host', 'port', 'iqn', 'initiator']),
  scsi: Object.freeze(['adapter']),
});

/** Types whose target path the server fills when none is given. */
export const PATH_OPTIONAL = Object.freeze(['logical', 'disk', 'iscsi', 'scsi']);

/** The longest pool name the server accepts, in bytes. */
export const POOL_NAME_MAX = 64;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const PATH_RE = /^\/[\x21-\x7e]*$/;
const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$|^[0-9a-fA-F:.]+$/;
const IQN_RE = /^(iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[A-Za-z0-9.:_-]+)?|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16}([0-9A-Fa-f]{16})?)$/;

/** Whether p is an absolute, clean path below / (no "..", "//", trailing "/"). */
export function cleanPath(p) {
  if (!PATH_RE.test(p) || p === '/' || p.endsWith('/') || p.length > 1024) return false;
  return !p.split('/').slice(1).some((seg) => seg === '' || seg === '.' || seg === '..');
}

/**
 * The request body for POST …/pools from the form's values, or the first
 * problem: a catalog key and the field it belongs to.
 * @param {Record<string, any>} v name, type, path, autostart, build, and the source fields (devices as text)
 * @returns {{body?: object, problem?: string, field?: string}}
 */
export function poolRequest(v) {
  const name = String(v.name ?? '').trim();
  const type = String(v.type ?? '');
  if (!name) return { problem: 'pools.new.nameRequired', field: 'name' };
  if (new TextEncoder().encode(name).length > POOL_NAME_MAX) return { problem: 'pools.new.nameTooLong', field: 'name' };
  if (!NAME_RE.test(name)) return { problem: 'pools.new.nameInvalid', field: 'name' };
  if (!POOL_TYPES.includes(type)) return { problem: 'pools.new.typeInvalid', field: 'type' };
  const path = String(v.path ?? '').trim();
  if (!path && !PATH_OPTIONAL.includes(type)) return { problem: 'pools.new.pathRequired', field: 'path' };
  if (path && !cleanPath(path)) return { problem: 'pools.new.pathInvalid', field: 'path' };
  const fields = POOL_FIELDS[type];
  const source = {};
  const text = (f) => String(v[f] ?? '').trim();
  if (fields.includes('devices')) {
    const devs = text('devices').split(/[\s,]+/).filter(Boolean);
    if (devs.some((d) => !d.startsWith('/dev/') || !cleanPath(d))) return { problem: 'pools.new.deviceInvalid', field: 'devices' };
    if (type !== 'logical' && devs.length !== 1) return { problem: 'pools.new.deviceOne', field: 'devices' };
    if (type === 'logical' && v.build && devs.length === 0) return { problem: 'pools.new.deviceForBuild', field: 'devices' };
    if (devs.length) source.devices = devs;
  }
  if (fields.includes('host')) {
    if (!HOST_RE.test(text('host'))) return { problem: 'pools.new.hostInvalid', field: 'host' };
    source.host = text('host');
  }
  if (fields.includes('dir')) {
    if (!cleanPath(text('dir'))) return { problem: 'pools.new.pathInvalid', field: 'dir' };
    source.dir = text('dir');
  }
  if (fields.includes('port') && text('port')) {
    const port = Number(text('port'));
    if (!Number.isInteger(port) || port < 1 || port > 65535) return { problem: 'pools.new.portInvalid', field: 'port' };
    source.port = port;
  }
  if (fields.includes('iqn')) {
    if (!IQN_RE.test(text('iqn'))) return { problem: 'pools.new.iqnInvalid', field: 'iqn' };
    source.iqn = text('iqn');
  }
  if (fields.includes('initiator') && text('initiator')) {
    if (!IQN_RE.test(text('initiator'))) return { problem: 'pools.new.iqnInvalid', field: 'initiator' };
    source.initiator = text('initiator');
  }
  if (fields.includes('adapter')) {
    if (!/^host[0-9]{1,4}$/.test(text('adapter'))) return { problem: 'pools.new.adapterInvalid', field: 'adapter' };
    source.adapter = text('adapter');
  }
  if (fields.includes('name') && text('vg')) {
    if (!NAME_RE.test(text('vg'))) return { problem: 'pools.new.vgInvalid', field: 'vg' };
    source.name = text('vg');
  }
  if (fields.includes('format') && text('format')) source.format = text('format');
  const build = fields.includes('build') && Boolean(v.build);
  if (build && type === 'fs' && (source.format ?? 'auto') === 'auto') return { problem: 'pools.new.formatForBuild', field: 'format' };
  const body = { name, type, path, autostart: Boolean(v.autostart) };
  if (Object.keys(source).length) body.source = source;
  if (build) body.build = true;
  return { body };
}

/**
 * The form field an API error's detail names ("source.host" → "host",
 * "source.name" → "vg"), or null.
 * @param {string} field
 */
export function formField(field) {
  const f = String(field ?? '').replace(/^source\./, '');
  if (f === 'name' && String(field).startsWith('source.')) return 'vg';
  return ['name', 'type', 'path', 'devices', 'host', 'dir', 'port', 'iqn', 'initiator', 'adapter', 'format', 'build'].includes(f) ? f : null;
}
