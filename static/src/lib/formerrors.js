// The API's 422 details ({"error":{"code","message","details":[{"field",
// "message"}]}}) mapped onto a form's fields: each message goes next to
// the field it names; what names no field of the form is shown above it,
// never dropped. Pure; ui/field.js draws.

/**
 * Which of the form's fields a detail's field path belongs to: the exact
 * name, else the longest name that is a prefix up to a "." or "[" (the
 * entry "grants[2].role" of the field "grants"), with "body." ignored.
 * @param {string} path
 * @param {string[]} names
 * @returns {string|null}
 */
export function fieldFor(path, names) {
  let p = String(path ?? '').trim();
  if (p.startsWith('body.')) p = p.slice(5);
  if (p === '') return null;
  if (names.includes(p)) return p;
  let best = null;
  for (const n of names) {
    if (p.length > n.length && p.startsWith(n) && (p[n.length] === '.' || p[n.length] === '[') && (!best || n.length > best.length)) best = n;
  }
  return best;
}

/**
 * Split an API error's details over the fields.
 * @param {{status?: number, message?: string, details?: Array<{field?: string, message?: string}>}|null|undefined} err
 * @param {string[]} names the form's field names
 * @returns {{byField: Map<string, string[]>, general: string[]}}
 *   general: details of no field, and the error's message when no detail landed anywhere
 */
export function mapDetails(err, names) {
  const byField = new Map();
  const general = [];
  const details = Array.isArray(err?.details) ? err.details : [];
  for (const d of details) {
    const msg = String(d?.message ?? '').trim();
    if (!msg) continue;
    const f = fieldFor(d?.field ?? '', names);
    if (f === null) {
      general.push(d?.field ? `${d.field}: ${msg}` : msg);
      continue;
    }
    const list = byField.get(f) ?? [];
    if (!list.includes(msg)) list.push(msg);
    byField.set(f, list);
  }
  if (byField.size === 0 && general.length === 0 && err?.message) general.push(err.message);
  return { byField, general };
}
