// Consoles: who may open one, on which guest, of which kind; what a closed
// console means (the server's close code and reason → a message and whether
// to reconnect); and pasted text → the key presses that type it. Pure: the
// console tab (pages/console.js) and the lazily loaded viewers use these.

import { can, isActive } from './vmstate.js';

/** The views of the console tab: the guest's display (VNC or SPICE) and its serial port. */
export const CONSOLE_VIEWS = Object.freeze(['graphics', 'serial']);

/**
 * Whether to offer a Console button for a guest: it has a live process and
 * its allowed_actions hold vm.console.
 * @param {{state: string, allowed_actions?: string[]}|null} vm
 */
export function consoleOffered(vm) {
  if (!vm) return false;
  return isActive(vm.state) && can(vm, 'vm.console');
}

/**
 * What a guest offers: its display kind (vnc, spice or null) and whether it
 * has a serial console. The detail's devices.consoles (the kinds the console
 * endpoint can open) decide; without it, the list's graphics field.
 * @param {{graphics?: string, devices?: {consoles?: string[], graphics?: string[]}}} vm
 * @returns {{graphics: 'vnc'|'spice'|null, serial: boolean}}
 */
export function consoleOptions(vm) {
  const kinds = vm?.devices?.consoles;
  if (Array.isArray(kinds)) {
    const graphics = kinds.includes('vnc') ? 'vnc' : kinds.includes('spice') ? 'spice' : null;
    return { graphics, serial: kinds.includes('serial') };
  }
  const g = vm?.graphics;
  return { graphics: g === 'vnc' || g === 'spice' ? g : null, serial: false };
}

/**
 * The state of a guest's console tab.
 * @param {any} vm the detail (with devices and allowed_actions), or null while loading
 * @returns {'loading'|'forbidden'|'stopped'|'none'|'ready'}
 */
export function consoleAvailability(vm) {
  if (!vm) return 'loading';
  if (!can(vm, 'vm.console')) return 'forbidden';
  if (!isActive(vm.state)) return 'stopped';
  const o = consoleOptions(vm);
  if (!o.graphics && !o.serial) return 'none';
  return 'ready';
}

/**
 * The views the tab shows for these options, and the one to start with.
 * @param {{graphics: string|null, serial: boolean}} options
 * @param {string|null} [wanted] the view the person chose before
 */
export function consoleViews(options, wanted = null) {
  const views = [];
  if (options.graphics) views.push('graphics');
  if (options.serial) views.push('serial');
  return { views, view: views.includes(wanted) ? wanted : (views[0] ?? null) };
}

/** The API kind of a view. */
export function kindOfView(view, options) {
  return view === 'serial' ? 'serial' : options.graphics;
}

// ---- closing

/** Close codes the portal sends (RFC 6455 leaves 4000–4999 to applications). */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  INTERNAL: 1011,
  GUEST_STOPPED: 4001,
  ACCESS_REVOKED: 4003,
  LOGGED_OUT: 4004,
  SESSION_ENDED: 4005,
  IDLE: 4008,
});

/**
 * After a close: "auto" reconnects by itself (with a growing wait, a few
 * times), "running" reconnects when the guest runs again, "manual" waits
 * for the Reconnect button, "never" offers no reconnect (the answer would be
 * no: access revoked, session over).
 * @typedef {'auto'|'running'|'manual'|'never'} ReconnectPolicy
 */

// The message keys (console.closed.*) are listed in CLOSE_MESSAGES for the catalog test.
const BY_CODE = {
  [CLOSE.ACCESS_REVOKED]: ['revoked', 'never'],
  [CLOSE.LOGGED_OUT]: ['loggedOut', 'never'],
  [CLOSE.SESSION_ENDED]: ['sessionEnded', 'never'],
  [CLOSE.GUEST_STOPPED]: ['guestStopped', 'running'],
  [CLOSE.IDLE]: ['idle', 'manual'],
  [CLOSE.GOING_AWAY]: ['shutdown', 'auto'],
  [CLOSE.NORMAL]: ['guestClosed', 'auto'],
  [CLOSE.INTERNAL]: ['error', 'auto'],
};
// The server's reason texts, for a close code some proxy in between rewrote.
const BY_REASON = {
  'access revoked': 'revoked',
  'logged out': 'loggedOut',
  'session ended': 'sessionEnded',
  'guest stopped': 'guestStopped',
  idle: 'idle',
  'server shutting down': 'shutdown',
  'console closed': 'guestClosed',
  'internal error': 'error',
};
const POLICY = Object.fromEntries(Object.values(BY_CODE).map(([k, p]) => [k, p]));

/**
 * Every message a closed console can show: console.closed.KEY (the last two:
 * no ticket, with the server's message; refused by the role).
 */
export const CLOSE_MESSAGES = Object.freeze([...Object.values(BY_CODE).map(([k]) => k), 'network', 'refused', 'other', 'ticket', 'forbidden']);

/**
 * What a closed console means for the person looking at it.
 * @param {{code: number, reason?: string, opened: boolean}} close
 *   opened: the WebSocket had opened (a refusal of the handshake never opens)
 * @returns {{message: string, reason: string, reconnect: ReconnectPolicy}}
 *   message: the key below console.closed.; reason: the server's text
 */
export function closeOutcome({ code, reason = '', opened }) {
  const text = String(reason ?? '').trim();
  const byReason = BY_REASON[text.toLowerCase()];
  if (byReason) return { message: byReason, reason: text, reconnect: POLICY[byReason] };
  const known = BY_CODE[code];
  if (known) return { message: known[0], reason: text, reconnect: known[1] };
  if (!opened) {
    // The handshake was refused (the browser does not say why) or the server is unreachable.
    return { message: 'refused', reason: text, reconnect: 'manual' };
  }
  if (code === CLOSE.ABNORMAL || code === 1005 || code === 1012 || code === 1013 || code === 1014) {
    return { message: 'network', reason: text, reconnect: 'auto' };
  }
  return { message: 'other', reason: text, reconnect: 'manual' };
}

/** Automatic reconnects in a row before the tab waits for the button. */
export const MAX_AUTO_RECONNECTS = 5;

/**
 * The wait before automatic reconnect number attempt (0-based): 1, 2, 4, 8, 15 s.
 * @param {number} attempt
 */
export function reconnectDelay(attempt) {
  return Math.min(1000 * 2 ** Math.max(0, attempt), 15000);
}

/**
 * Whether to reconnect by itself now.
 * @param {ReconnectPolicy} policy
 * @param {number} attempts automatic reconnects made since the last good connection
 */
export function shouldAutoReconnect(policy, attempts) {
  return policy === 'auto' && attempts < MAX_AUTO_RECONNECTS;
}

/**
 * Resolve the ws_url of a ticket against the page: a same-origin WebSocket
 * URL (wss on an https page, whatever the server guessed behind a proxy).
 * @param {string} wsURL
 * @param {string} pageURL location.href
 */
export function socketURL(wsURL, pageURL) {
  const page = new URL(pageURL);
  const u = new URL(wsURL, page);
  const secure = page.protocol === 'https:';
  u.protocol = secure ? 'wss:' : 'ws:';
  u.hostname = page.hostname;
  u.port = page.port;
  return u.toString();
}

/** The most text the paste dialog types at once. */
export const MAX_TYPED = 20000;

/**
 * The name of the remote-viewer file for a guest: NAME.vv, with characters
 * file systems dislike replaced.
 * @param {string} name
 */
export function vvFileName(name) {
  const safe = String(name).replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').replace(/^\.+/, '_') || 'console';
  return `${safe}.vv`;
}
