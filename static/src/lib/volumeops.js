// The volume row actions' rules, said early (the server checks them too). Pure.

const GIB = 1024 ** 3;

/**
 * A free name for a copy of name: "disk-copy.qcow2", then "disk-copy2.qcow2"…
 * @param {string} name
 * @param {string[]} taken the names already in the target pool
 */
export function copyName(name, taken = []) {
  const dot = name.lastIndexOf('.');
  const [base, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const used = new Set(taken);
  for (let i = 1; ; i++) {
    const n = `${base}-copy${i === 1 ? '' : i}${ext}`;
    if (!used.has(n)) return n;
  }
}

/**
 * The new capacity in bytes for a size typed in GiB, or a catalog key
 * saying what is wrong: a volume only grows.
 * @param {string} text
 * @param {number} current bytes
 * @returns {{bytes: number}|{problem: string}}
 */
export function growTo(text, current) {
  const n = Number(String(text).trim().replace(',', '.'));
  if (!Number.isFinite(n) || n <= 0) return { problem: 'volops.resize.invalid' };
  const bytes = Math.round(n * GIB);
  if (bytes <= current) return { problem: 'volops.resize.notLarger' };
  return { bytes };
}

/**
 * The URL a volume's content downloads from.
 * @param {string} host
 * @param {string} pool
 * @param {string} vol
 */
export function contentURL(host, pool, vol) {
  const e = encodeURIComponent;
  return `/api/v1/hosts/${e(host)}/pools/${e(pool)}/volumes/${e(vol)}/content`;
}

/**
 * The volume name a URL suggests: its last path segment, decoded, or ''.
 * @param {string} url
 */
export function nameFromURL(url) {
  let path;
  try {
    path = new URL(url.trim()).pathname;
  } catch {
    return '';
  }
  const last = path.split('/').filter(Boolean).pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
