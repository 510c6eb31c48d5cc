// The guest list feed: whoever shows the guest list subscribes and gets the
// server's whole list ({items, total}) now and whenever it may have changed.
// Today a poll of GET /api/v1/vms every 3 s while the tab is visible (never
// two at once, paused while hidden, at once when it comes back); the event
// stream replaces the inside of this module, not its callers.

import { api } from './api.js';
import { createPoller } from './poller.js';

export const REFRESH_MS = 3000;

/**
 * Subscribe to the guest list.
 * @param {(list: {items: any[], total: number}, seq: number) => void} onList
 *   seq: the number of the request the list answers (increasing); results the
 *   page got after a request with a lower number left are newer than the list
 * @param {{prefetch?: Promise<any>|null, onError?: (err: any) => void}} [opts]
 *   prefetch: the shell's request for the first page view; onError: a failed
 *   refresh (never an abort; a 401 is left to the session handling)
 * @returns {{now: () => void, stop: () => void, seq: () => number}}
 *   now: refresh at once (a Retry button); seq: the number of the last request
 */
export function subscribe(onList, opts = {}) {
  let prefetch = opts.prefetch ?? null;
  let seq = 0;
  const poller = createPoller(async (signal) => {
    const no = ++seq;
    let list;
    try {
      if (prefetch) {
        const p = prefetch;
        prefetch = null;
        list = await p.catch(() => api.listVMs(signal));
      } else {
        list = await api.listVMs(signal);
      }
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (err?.status !== 401) opts.onError?.(err);
      throw err;
    }
    onList(list, no);
  }, { interval: REFRESH_MS });
  poller.start();
  return { now: () => poller.now(), stop: () => poller.stop(), seq: () => seq };
}
