// Guest states, what each allows, and how they are grouped and coloured.
// Pure data and functions: shared by the guest list and the detail page.

/** Every state the API reports (api.State*). */
export const STATES = Object.freeze([
  'running', 'blocked', 'paused', 'shutting-down', 'shutoff', 'crashed', 'pmsuspended', 'unknown',
]);

/** Every action the UI offers: the power actions of the API plus clone and delete. */
export const ACTIONS = Object.freeze([
  'start', 'shutdown', 'reboot', 'suspend', 'resume', 'reset', 'poweroff', 'clone', 'delete',
]);

/** The power actions (permission vm.power); clone needs vm.clone, delete vm.delete. */
export const POWER_ACTIONS = Object.freeze(ACTIONS.filter((a) => a !== 'delete' && a !== 'clone'));

/**
 * The permissions the server names in allowed_actions (what the UI asks
 * about; the server may send more).
 */
export const PERMISSIONS = Object.freeze(['vm.read', 'vm.power', 'vm.console', 'vm.clone', 'vm.delete', 'access.read', 'access.write', 'task.cancel']);

/**
 * The permission each action needs, as the server names it in an object's
 * allowed_actions.
 */
export const ACTION_PERMISSION = Object.freeze(Object.fromEntries(
  ACTIONS.map((a) => [a, a === 'delete' || a === 'clone' ? `vm.${a}` : 'vm.power'])));

/**
 * May the caller do this to the object? The server sends, on each object,
 * the actions its policy allows the caller (allowed_actions: "vm.power",
 * "vm.console", "access.write", "task.cancel" …); the UI never keeps a copy
 * of the policy, so a custom policy file shows the right buttons. An object
 * without the list allows nothing.
 * @param {{allowed_actions?: string[]}|null|undefined} obj
 * @param {string} action e.g. 'vm.power'
 */
export function can(obj, action) {
  const list = obj?.allowed_actions;
  return Array.isArray(list) && list.includes(action);
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
  shutoff: { primary: 'start', more: ['clone', 'delete'] },
  crashed: { primary: 'start', more: [] },
  pmsuspended: { primary: null, more: ['poweroff'] },
  unknown: { primary: null, more: [] },
});

const NOTHING = Object.freeze({ primary: null, more: Object.freeze([]), all: Object.freeze([]) });

/**
 * What a guest in this state allows the caller.
 * @param {string} state
 * @param {{allowed?: string[]}} [opts] allowed: the guest's allowed_actions
 *   (absent: the state alone decides, for tables of what a state offers)
 * @returns {{primary: string|null, more: readonly string[], all: readonly string[]}}
 */
export function allowedActions(state, opts = {}) {
  const a = ALLOWED[state];
  if (!a) return NOTHING;
  if (opts.allowed !== undefined) {
    const may = (x) => can({ allowed_actions: opts.allowed }, ACTION_PERMISSION[x]);
    const primary = a.primary && may(a.primary) ? a.primary : null;
    const more = a.more.filter(may);
    if (!primary && more.length === 0) return NOTHING;
    return { primary, more, all: primary ? [primary, ...more] : more };
  }
  return { primary: a.primary, more: a.more, all: a.primary ? [a.primary, ...a.more] : [...a.more] };
}

/**
 * What the caller may do to this guest now: its state and its allowed_actions.
 * @param {{state: string, allowed_actions?: string[]}} vm
 */
export function vmActions(vm) {
  return allowedActions(vm?.state, { allowed: Array.isArray(vm?.allowed_actions) ? vm.allowed_actions : [] });
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
