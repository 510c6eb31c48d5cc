// Statistics answers (GET …/stats, …/stats/history) turned into the columns
// a chart draws, and the live window kept as the current values arrive.

/** The live window: the last hour, at 1 s. */
export const LIVE_SECONDS = 3600;

/**
 * Columns [t, …series] from a history answer: each series names a metric
 * and which of min, mean, max to draw.
 * @param {{t?: number[], series?: Record<string, {min: number[], mean: number[], max: number[]}>}} h
 * @param {{metric: string, stat?: 'min'|'mean'|'max'}[]} want
 * @returns {Array<number[]>}
 */
export function columns(h, want) {
  const t = h?.t ?? [];
  return [t.slice(), ...want.map(({ metric, stat = 'mean' }) => (h?.series?.[metric]?.[stat] ?? []).slice(0, t.length))];
}

/**
 * Appends the current sample to live columns (when it is newer than the
 * last point) and drops what is older than the window.
 * @param {Array<number[]>} cols [t, …series], changed in place
 * @param {{at?: string, available?: boolean} & Record<string, any>} now a StatsNow answer
 * @param {string[]} metrics the StatsNow fields, in the columns' order
 * @param {number} [window] seconds kept
 * @returns {boolean} whether anything changed
 */
export function appendNow(cols, now, metrics, window = LIVE_SECONDS) {
  if (!now?.available || !now.at) return false;
  const at = Math.floor(Date.parse(now.at) / 1000);
  const t = cols[0];
  if (!Number.isFinite(at) || (t.length && at <= t[t.length - 1])) return false;
  t.push(at);
  metrics.forEach((m, i) => cols[i + 1].push(Number(now[m]) || 0));
  let drop = 0;
  while (drop < t.length && t[drop] <= at - window) drop++;
  if (drop) for (const c of cols) c.splice(0, drop);
  return true;
}
