// Networks as the Networks page shows them, and the checks of the
// new-network form (the server's rules, said early). Pure.

/** Kinds the form creates (api.NetworkRequest); the first is the default. */
export const FORM_KINDS = Object.freeze(['nat', 'isolated', 'bridge', 'direct']);

/** Whether a kind has its own subnet (the others use the host's network). */
export const hasSubnet = (kind) => kind === 'nat' || kind === 'isolated';

/**
 * The host interfaces a kind can use: bridges for a bridge network, the
 * others (ethernet, bond, vlan) for a direct one.
 * @param {string} kind
 * @param {{name: string, kind: string}[]} ifaces
 */
export function interfacesFor(kind, ifaces) {
  if (kind === 'bridge') return ifaces.filter((i) => i.kind === 'bridge');
  if (kind === 'direct') return ifaces.filter((i) => i.kind !== 'bridge');
  return [];
}

/** The longest network name the server accepts, in bytes. */
export const NETWORK_NAME_MAX = 64;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * What is wrong with a network name (a catalog key), or null.
 * @param {string} name
 */
export function networkNameProblem(name) {
  if (!name) return 'networks.create.nameRequired';
  if (new TextEncoder().encode(name).length > NETWORK_NAME_MAX) return 'networks.create.nameTooLong';
  if (!NAME_RE.test(name)) return 'networks.create.nameInvalid';
  return null;
}

/**
 * An IPv4 address as a number, or null.
 * @param {string} s
 */
export function ipv4(s) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(String(s ?? '').trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/**
 * A subnet in CIDR form ("192.168.100.0/24") as {base, bits}, or a
 * catalog key saying what is wrong.
 * @param {string} text
 * @returns {{base: number, bits: number}|string}
 */
export function parseSubnet(text) {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(String(text ?? '').trim());
  if (!m) return 'networks.create.subnetInvalid';
  const base = ipv4(m[1]);
  const bits = Number(m[2]);
  if (base === null) return 'networks.create.subnetInvalid';
  if (bits < 8 || bits > 29) return 'networks.create.subnetPrefix';
  const mask = (0xffffffff << (32 - bits)) >>> 0;
  if (((base & mask) >>> 0) !== base) return 'networks.create.subnetHostBits';
  return { base, bits };
}

/**
 * What is wrong with a DHCP range in a subnet (a catalog key), or null.
 * @param {{base: number, bits: number}} subnet
 * @param {string} start
 * @param {string} end
 */
export function rangeProblem(subnet, start, end) {
  const s = ipv4(start);
  const e = ipv4(end);
  if (s === null || e === null) return 'networks.create.rangeInvalid';
  const last = subnet.base + 2 ** (32 - subnet.bits) - 1;
  const inside = (a) => a > subnet.base && a < last;
  if (!inside(s) || !inside(e)) return 'networks.create.rangeOutside';
  if (e < s) return 'networks.create.rangeBackwards';
  const gw = subnet.base + 1;
  if (s <= gw && gw <= e) return 'networks.create.rangeGateway';
  return null;
}
