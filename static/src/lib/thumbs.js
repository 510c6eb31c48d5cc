// When to fetch the screenshot thumbnails of the guest list. Pure: the page
// tells the schedule which guests are eligible (a live process and a
// display), which thumbnails are on screen, and how each fetch ended; the
// schedule answers which to fetch now and when to ask again. No request
// belongs to a list refresh: a guest's thumbnail is fetched when it comes
// into view and then at most every interval while it stays there.

import { isActive } from './vmstate.js';

/** The shortest time between two screenshots of one guest. */
export const THUMB_INTERVAL_MS = 10000;

/** Screenshots in flight at once. */
export const THUMB_CONCURRENCY = 3;

/**
 * Can the guest have a screenshot? A live process and a display.
 * @param {{state: string, graphics?: string}} vm
 */
export function thumbEligible(vm) {
  return Boolean(vm) && isActive(vm.state) && Boolean(vm.graphics);
}

/**
 * How a screenshot fetch ended: "ok" (an image), "none" (the guest has no
 * screen now, 409, or the host takes no screenshots, 501: do not ask again
 * until its state changes), "error" (anything else: try again next interval).
 * @param {number} status HTTP status, 0 for a network failure
 * @returns {'ok'|'none'|'error'}
 */
export function thumbResult(status) {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 409 || status === 501 || status === 404 || status === 403) return 'none';
  return 'error';
}

/**
 * @typedef {{state: string, eligible: boolean, visible: boolean, inFlight: boolean,
 *   last: number, givenUp: string|null}} ThumbEntry
 *   last: when the last fetch ended (ms, -Infinity before the first);
 *   givenUp: the state in which the host answered "no screen"
 */

export class ThumbSchedule {
  /**
   * @param {{interval?: number, concurrency?: number}} [opts]
   */
  constructor(opts = {}) {
    this.interval = opts.interval ?? THUMB_INTERVAL_MS;
    this.concurrency = opts.concurrency ?? THUMB_CONCURRENCY;
    /** @type {Map<string, ThumbEntry>} */
    this.entries = new Map();
    this.inFlight = 0;
  }

  /** @returns {ThumbEntry} */
  entry(name) {
    let e = this.entries.get(name);
    if (!e) {
      e = { state: '', eligible: false, visible: false, inFlight: false, last: -Infinity, givenUp: null };
      this.entries.set(name, e);
    }
    return e;
  }

  /**
   * The guest's state and whether it can have a screenshot. A new state
   * lifts an earlier "no screen" and asks again at once.
   * @param {string} name
   * @param {string} state
   * @param {boolean} eligible
   * @returns {boolean} whether anything changed that may make a fetch due
   */
  update(name, state, eligible) {
    const e = this.entry(name);
    const changed = e.state !== state || e.eligible !== eligible;
    if (e.state !== state) {
      e.state = state;
      e.givenUp = null;
      e.last = -Infinity;
    }
    e.eligible = eligible;
    return changed;
  }

  /** Whether the guest's thumbnail is on screen. */
  setVisible(name, visible) {
    const e = this.entry(name);
    const changed = e.visible !== visible;
    e.visible = visible;
    return changed;
  }

  /** Forget a guest (gone from the list). */
  forget(name) {
    const e = this.entries.get(name);
    if (e?.inFlight) this.inFlight--;
    this.entries.delete(name);
  }

  /** Whether the guest is waiting for the host to have a screen again. */
  givenUp(name) {
    const e = this.entries.get(name);
    return Boolean(e && e.givenUp !== null && e.givenUp === e.state);
  }

  /** @param {ThumbEntry} e */
  wants(e, now) {
    return e.eligible && e.visible && !e.inFlight && e.givenUp !== e.state && now - e.last >= this.interval;
  }

  /**
   * The guests to fetch now (marked in flight), oldest first, up to the
   * free concurrency.
   * @param {number} now ms
   * @returns {string[]}
   */
  due(now) {
    const free = this.concurrency - this.inFlight;
    if (free <= 0) return [];
    const want = [];
    for (const [name, e] of this.entries) if (this.wants(e, now)) want.push([name, e]);
    want.sort((a, b) => a[1].last - b[1].last);
    const out = want.slice(0, free);
    for (const [, e] of out) {
      e.inFlight = true;
      this.inFlight++;
    }
    return out.map(([name]) => name);
  }

  /**
   * A fetch ended.
   * @param {string} name
   * @param {'ok'|'none'|'error'|'aborted'} result
   * @param {number} now ms
   */
  done(name, result, now) {
    const e = this.entries.get(name);
    if (!e || !e.inFlight) return;
    e.inFlight = false;
    this.inFlight--;
    if (result === 'aborted') return;
    e.last = now;
    if (result === 'none') e.givenUp = e.state;
  }

  /**
   * How long until the next fetch may be due: 0 for now, null when nothing
   * will be due without a change (visibility, state, a fetch ending).
   * @param {number} now ms
   * @returns {number|null}
   */
  nextWake(now) {
    if (this.inFlight >= this.concurrency) return null;
    let next = null;
    for (const e of this.entries.values()) {
      if (!e.eligible || !e.visible || e.inFlight || e.givenUp === e.state) continue;
      const wait = Math.max(0, e.last + this.interval - now);
      if (next === null || wait < next) next = wait;
      if (next === 0) break;
    }
    return next;
  }
}
