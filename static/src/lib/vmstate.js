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
 * What a guest in this state allows.
 * @param {string} state
 * @param {{readOnly?: boolean}} [opts] readOnly: the caller may change nothing (auditor)
 * @returns {{primary: string|null, more: readonly string[], all: readonly string[]}}
 */
export function allowedActions(state, opts = {}) {
  if (opts.readOnly) return NOTHING;
  const a = ALLOWED[state];
  if (!a) return NOTHING;
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
