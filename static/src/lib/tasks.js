// Tasks as the drawer shows them: merging the list and the stream's
// updates, the order, what counts as running. Pure.

/** Task statuses (api.Task). */
export const TASK_STATUSES = Object.freeze(['queued', 'running', 'done', 'failed', 'cancelled']);

/** Task kinds the catalogs name (tasks.kind.<kind>); others show as they are. */
export const TASK_KINDS = Object.freeze(['vm.delete', 'vm.create', 'vm.clone', 'volume.create',
  'volume.clone', 'volume.wipe', 'volume.from_url', 'vm.snapshot.create']);

const RANK = { queued: 0, running: 1, done: 2, failed: 2, cancelled: 2 };

/** Is the task over (done, failed or cancelled)? */
export function isFinal(status) {
  return status === 'done' || status === 'failed' || status === 'cancelled';
}

/** Is the task still to finish (queued or running)? */
export function isPending(status) {
  return status === 'queued' || status === 'running';
}

/**
 * Merge a task (from the list or an event) into the map by id. An older
 * copy never overwrites a newer one: a list fetched while events arrived may
 * be behind them (a task never goes back from running, nor from an end).
 * @param {Map<string, any>} map
 * @param {any} task
 * @returns {boolean} whether the map changed
 */
export function mergeTask(map, task) {
  if (!task || task.id === undefined || task.id === null) return false;
  const id = String(task.id);
  const old = map.get(id);
  if (old) {
    const ro = RANK[old.status] ?? 0;
    const rn = RANK[task.status] ?? 0;
    if (rn < ro) return false;
    if (rn === ro && !isFinal(task.status) && (task.progress ?? 0) < (old.progress ?? 0)) return false;
    if (JSON.stringify(old) === JSON.stringify(task)) return false;
  }
  map.set(id, task);
  return true;
}

/**
 * The drawer's order: pending tasks first (oldest first, as they run), then
 * finished ones, newest first; at most limit.
 * @param {Iterable<any>} tasks
 * @param {number} [limit]
 */
export function sortTasks(tasks, limit = 50) {
  const list = [...tasks];
  const time = (x) => Date.parse(x.finished || x.created || '') || 0;
  const pending = list.filter((x) => isPending(x.status)).sort((a, b) => (Date.parse(a.created) || 0) - (Date.parse(b.created) || 0));
  const done = list.filter((x) => !isPending(x.status)).sort((a, b) => time(b) - time(a));
  return [...pending, ...done].slice(0, limit);
}

/** How many tasks are queued or running (the badge). */
export function pendingCount(tasks) {
  let n = 0;
  for (const x of tasks) if (isPending(x.status)) n++;
  return n;
}

/** A progress value for a bar: 0–100, whole numbers. */
export function clampProgress(p) {
  const n = Number(p);
  if (!Number.isFinite(n)) return 0;
  return Math.round(Math.min(100, Math.max(0, n)));
}
