// The guest list feed: whoever shows the guest list subscribes and gets the
// server's whole list ({items, total}) now and whenever it changed.
//
// One GET /api/v1/vms, then the event stream (lib/events.js): each `guest`
// event is applied to the list (state and grants replace the guest with
// the event's copy, added inserts it, removed drops it), so a change shows
// as soon as the server sees it. A `reset` (the stream lost track, or was
// reopened) fetches the list again. Usage figures (CPU, memory, I/O) are
// not events: a slow refresh (STATS_MS, while the tab is visible) fetches
// the list for them. Events that arrive while a fetch is under way are
// applied again on top of its answer, which may be older than they are.

import { api } from './api.js';
import { events as sharedEvents } from './events.js';
import { createPoller } from './poller.js';

/** The slow refresh, for usage statistics only: states come from the event stream. */
export const STATS_MS = 15000;

/** Does a list item stand for the guest an event names? (host when both say) */
function same(vm, ev) {
  return vm?.name === ev.name && (!ev.host || !vm.host || vm.host === ev.host);
}

/**
 * Apply one `guest` event to a list. Pure: the list is not changed.
 * @param {{items: any[], total: number}} list
 * @param {{type: string, host?: string, name: string, vm?: any}} ev
 * @returns {{items: any[], total: number}|null} the new list; the same list
 *   when the event changes nothing; null when the event cannot be applied
 *   (a change that does not carry the guest): fetch the list again
 */
export function applyGuestEvent(list, ev) {
  if (!ev || typeof ev.name !== 'string') return list;
  const items = Array.isArray(list?.items) ? list.items : [];
  const total = typeof list?.total === 'number' ? list.total : items.length;
  const i = items.findIndex((vm) => same(vm, ev));
  switch (ev.type) {
    case 'state':
    case 'grants':
    case 'added': {
      const vm = ev.vm;
      if (!vm || typeof vm !== 'object') return null;
      const fresh = { ...vm, name: vm.name ?? ev.name };
      if (fresh.host === undefined && ev.host) fresh.host = ev.host;
      if (i >= 0) {
        const next = items.slice();
        next[i] = fresh;
        return { ...list, items: next, total };
      }
      // A guest the list did not hold: new, or the caller just gained sight of it.
      return { ...list, items: [...items, fresh], total: total + 1 };
    }
    case 'removed': {
      if (i < 0) return list;
      const next = items.slice();
      next.splice(i, 1);
      return { ...list, items: next, total: Math.max(0, total - 1) };
    }
    default:
      return list;
  }
}

/**
 * Subscribe to the guest list.
 * @param {(list: {items: any[], total: number}, seq: number) => void} onList
 *   seq: the number of the request or event the list answers; results the
 *   page got after seq() was n are older than a list with a seq above n
 * @param {{prefetch?: Promise<any>|null, onError?: (err: any) => void,
 *          events?: {on: (type: string, fn: (data: any) => void) => () => void},
 *          statsInterval?: number}} [opts]
 *   prefetch: the shell's request for the first page view; onError: a failed
 *   fetch (never an abort; a 401 is left to the session handling); events:
 *   the stream (the tab's shared one by default); statsInterval: the slow
 *   refresh (STATS_MS)
 * @returns {{now: () => void, stop: () => void, seq: () => number}}
 *   now: fetch at once (a Retry button); seq: the number of the last request or event
 */
export function subscribe(onList, opts = {}) {
  let prefetch = opts.prefetch ?? null;
  let seq = 0;
  /** @type {{items: any[], total: number}|null} the list as last given */
  let list = null;
  /** Events since the fetch under way left: applied again to its answer. */
  let since = null;
  let stopped = false;

  const poller = createPoller(async (signal) => {
    const no = ++seq;
    since = [];
    let got;
    try {
      if (prefetch) {
        const p = prefetch;
        prefetch = null;
        got = await p.catch(() => api.listVMs(signal));
      } else {
        got = await api.listVMs(signal);
      }
    } catch (err) {
      since = null;
      if (err?.name === 'AbortError') throw err;
      if (err?.status !== 401) opts.onError?.(err);
      throw err;
    }
    const replay = since;
    since = null;
    if (stopped) return;
    let next = { ...got, items: Array.isArray(got?.items) ? got.items : [] };
    for (const ev of replay) next = applyGuestEvent(next, ev) ?? next;
    list = next;
    onList(list, no);
  }, { interval: opts.statsInterval ?? STATS_MS });

  const stream = opts.events ?? sharedEvents();
  const offs = [
    stream.on('guest', (ev) => {
      if (stopped) return;
      since?.push(ev);
      if (!list) return; // the first answer is still to come
      const next = applyGuestEvent(list, ev);
      if (next === null) {
        poller.now();
        return;
      }
      if (next === list) return;
      list = next;
      onList(list, ++seq);
    }),
    stream.on('reset', () => {
      if (!stopped) poller.now();
    }),
  ];

  poller.start();
  return {
    now: () => poller.now(),
    stop: () => {
      stopped = true;
      poller.stop();
      for (const off of offs) off();
    },
    seq: () => seq,
  };
}
