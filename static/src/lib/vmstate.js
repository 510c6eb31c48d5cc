// Guest states, what each allows, and how they are grouped and coloured.
// Pure data and functions: shared by the guest list and the detail page.

/** Every state the API reports (api.State*). */
export const STATES = Object.freeze([
  'running', 'blocked', 'paused', 'shutting-down', 'shutoff', 'crashed', 'pmsuspended', 'unknown',
]);

/** Every action the UI offers: the power actions of the API plus delete. */
export const ACTIONS = Object.freeze([
  'start', 'shutdown', 'reboot', 'suspend', 'resume', 'reset', 'poweroff', 'delete',
]);

/** The power actions: what an operator or manager may do (delete is for administrators). */
export const POWER_ACTIONS = Object.freeze(ACTIONS.filter((a) => a !== 'delete'));

/**
 * What each role may do to a guest: the caller's role on it as the API
 * reports it (my_role): a per-guest role, or the global admin/auditor.
 */
export const ROLE_ACTIONS = Object.freeze({
  admin: Object.freeze(new Set(ACTIONS)),
  manager: Object.freeze(new Set(POWER_ACTIONS)),
  operator: Object.freeze(new Set(POWER_ACTIONS)),
  viewer: Object.freeze(new Set()),
  auditor: Object.freeze(new Set()),
});

/**
 * The role to assume on a guest whose answer has no my_role (an older
 * server): administrators may do everything, auditors nothing, and users are
 * offered the power actions (the API refuses what their grant does not allow).
 * @param {string[]|undefined} roles the caller's global roles
 */
export function fallbackRole(roles) {
  const r = Array.isArray(roles) ? roles : [];
  if (r.includes('admin')) return 'admin';
  if (r.length > 0 && r.every((x) => x === 'auditor')) return 'auditor';
  return 'operator';
}

/** Actions that lose data or interrupt the guest without warning: they ask first. */
export const DESTRUCTIVE = Object.freeze(new Set(['poweroff', 'reset', 'delete']));

// primary: the button in the row; more: the menu, in display order.
const RUNNING = { primary: 'shutdown', more: ['reboot', 'suspend', 'reset', 'poweroff'] };
const ALLOWED = Object.freeze({
  running: RUNNING,
  blocked: RUNNING,
  paused: { primary: 'resume', more: ['poweroff'] },
  // A guest stuck while shutting down can only be forced off.
  'shutting-down': { primary: null, more: ['poweroff'] },
  shutoff: { primary: 'start', more: ['delete'] },
  crashed: { primary: 'start', more: [] },
  pmsuspended: { primary: null, more: ['poweroff'] },
  unknown: { primary: null, more: [] },
});

const NOTHING = Object.freeze({ primary: null, more: Object.freeze([]), all: Object.freeze([]) });

/**
 * What a guest in this state allows the caller.
 * @param {string} state
 * @param {{readOnly?: boolean, role?: string|null}} [opts] readOnly: the caller
 *   may change nothing (auditor); role: the caller's role on the guest
 *   (my_role; see ROLE_ACTIONS; an unknown role allows nothing, none at all
 *   leaves the state alone to decide)
 * @returns {{primary: string|null, more: readonly string[], all: readonly string[]}}
 */
export function allowedActions(state, opts = {}) {
  if (opts.readOnly) return NOTHING;
  const a = ALLOWED[state];
  if (!a) return NOTHING;
  if (opts.role != null) {
    const may = ROLE_ACTIONS[opts.role];
    if (!may || may.size === 0) return NOTHING;
    const primary = a.primary && may.has(a.primary) ? a.primary : null;
    const more = a.more.filter((x) => may.has(x));
    return { primary, more, all: primary ? [primary, ...more] : more };
  }
  return { primary: a.primary, more: a.more, all: a.primary ? [a.primary, ...a.more] : [...a.more] };
}

/** The filter groups of the guest list, in display order. */
export const GROUPS = Object.freeze(['all', 'running', 'shutoff', 'paused', 'other']);

/**
 * The filter group of a state: running (running, blocked), shutoff, paused
 * (paused, pmsuspended) or other (shutting-down, crashed, unknown, anything new).
 * @param {string} state
 */
export function stateGroup(state) {
  switch (state) {
    case 'running':
    case 'blocked':
      return 'running';
    case 'shutoff':
      return 'shutoff';
    case 'paused':
    case 'pmsuspended':
      return 'paused';
    default:
      return 'other';
  }
}

/**
 * The colour family of a state's badge: ok (green), off (grey), warn
 * (amber), danger (red), busy (blue), unknown.
 * @param {string} state
 */
export function stateTone(state) {
  switch (state) {
    case 'running':
      return 'ok';
    case 'blocked':
    case 'paused':
    case 'pmsuspended':
      return 'warn';
    case 'shutting-down':
      return 'busy';
    case 'crashed':
      return 'danger';
    case 'shutoff':
      return 'off';
    default:
      return 'unknown';
  }
}

/**
 * Whether the guest has a running process, so its usage numbers mean something.
 * @param {string} state
 */
export function isActive(state) {
  return state === 'running' || state === 'blocked' || state === 'paused' ||
    state === 'shutting-down' || state === 'pmsuspended';
}

/**
 * Order of states when sorting by state: active first, shut off last.
 * @param {string} state
 */
export function stateRank(state) {
  const order = ['running', 'blocked', 'shutting-down', 'paused', 'pmsuspended', 'crashed', 'shutoff', 'unknown'];
  const i = order.indexOf(state);
  return i === -1 ? order.length : i;
}

/**
 * Roles that may change nothing (auditors only).
 * @param {string[]|undefined} roles
 */
export function isReadOnly(roles) {
  return Array.isArray(roles) && roles.length > 0 && roles.every((r) => r === 'auditor');
}
