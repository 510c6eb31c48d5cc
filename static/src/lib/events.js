// The event stream client: one EventSource per tab on GET /api/v1/events,
// dispatching typed events to subscribers. Pure enough to test: the
// EventSource class and the timers are injected.
//
// Wire format (text/event-stream, cookie session):
//   event: task   data: a Task (id, kind, status, progress, …)
//   event: guest  data: {type: state|grants|added|removed, host, name, vm?}
//   event: pool, event: network  data: {type: defined|undefined|started|stopped|created|deleted, host, name}
//   event: reset  the server lost track: refetch everything
//   event: end    data: {reason: logout|revoked|expired}: stop, sign in again
//   ": ping"      heartbeats (EventSource hides them)
// EventSource resumes by itself with Last-Event-ID after a dropped
// connection. When it gives up (the server answered an error), this client
// opens a new one after a back-off, and tells subscribers to refetch
// ("reset"), since a new EventSource does not resume.

export const EVENTS_URL = '/api/v1/events';

/** The events the server sends; subscribers also get "status" (open, connecting, down). */
export const EVENT_TYPES = Object.freeze(['task', 'guest', 'pool', 'network', 'reset', 'end']);

/** Back-off of reconnects after the stream failed for good: 2, 4, 8 … up to 60 s. */
export function reconnectDelay(attempt) {
  return Math.min(2000 * 2 ** Math.max(0, attempt), 60000);
}

/**
 * Decode one event's data.
 * @param {string} type
 * @param {string} data
 * @returns {any} the object, {} for an empty body, or null when it is not JSON of an object
 */
export function decodeEvent(type, data) {
  if (data === undefined || data === null || data === '') return {};
  try {
    const v = JSON.parse(data);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    if (type === 'task' && (typeof v.id !== 'string' && typeof v.id !== 'number')) return null;
    if ((type === 'guest' || type === 'pool' || type === 'network') && typeof v.name !== 'string') return null;
    return v;
  } catch {
    return null;
  }
}

/**
 * Create the client (not yet connected).
 * @param {{url?: string, EventSource?: any, setTimeout?: typeof setTimeout, clearTimeout?: typeof clearTimeout,
 *          onEnd?: (reason: string) => void}} [opts]
 *   onEnd: the server ended the stream (logout, revoked, expired)
 */
export function createEvents(opts = {}) {
  const ES = opts.EventSource ?? globalThis.EventSource;
  const later = opts.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
  const cancel = opts.clearTimeout ?? ((id) => clearTimeout(id));
  const url = opts.url ?? EVENTS_URL;
  /** @type {Map<string, Set<(data: any) => void>>} */
  const subs = new Map();
  let es = null;
  let timer = null;
  let attempt = 0;
  let stopped = true;
  let ended = false;
  let status = 'idle';
  let reopened = false;

  function emit(type, data) {
    for (const fn of [...(subs.get(type) ?? [])]) {
      try {
        fn(data);
      } catch (err) {
        // One subscriber's bug must not starve the others.
        console.error('event subscriber', type, err);
      }
    }
  }

  function setStatus(s) {
    if (s === status) return;
    status = s;
    emit('status', s);
  }

  /** Handle one event (what EventSource hands over): exported through dispatch() for tests. */
  function dispatch(type, data) {
    if (stopped || ended) return;
    if (type === 'end') {
      const v = decodeEvent(type, data) ?? {};
      ended = true;
      close();
      setStatus('ended');
      emit('end', v);
      opts.onEnd?.(typeof v.reason === 'string' ? v.reason : '');
      return;
    }
    if (type === 'reset') {
      emit('reset', {});
      return;
    }
    const v = decodeEvent(type, data);
    if (v === null) return; // a malformed event is dropped, never thrown at subscribers
    emit(type, v);
  }

  function close() {
    if (timer !== null) cancel(timer);
    timer = null;
    if (es) {
      es.onopen = null;
      es.onerror = null;
      es.close();
    }
    es = null;
  }

  function open() {
    close();
    if (stopped || ended || !ES) return;
    setStatus('connecting');
    const source = new ES(url); // same origin: the session cookie goes along
    es = source;
    for (const type of EVENT_TYPES) source.addEventListener(type, (e) => dispatch(type, e.data));
    source.onopen = () => {
      if (es !== source) return;
      attempt = 0;
      setStatus('open');
      // A new EventSource does not resume: what happened meanwhile is lost.
      if (reopened) emit('reset', {});
      reopened = false;
    };
    source.onerror = () => {
      if (es !== source) return;
      // CONNECTING (0): the browser retries by itself, resuming with Last-Event-ID.
      if (source.readyState !== 2) {
        setStatus('connecting');
        return;
      }
      // CLOSED (2): it gave up (an error answer). Try again later, from scratch.
      setStatus('down');
      source.close();
      es = null;
      reopened = true;
      timer = later(() => {
        timer = null;
        open();
      }, reconnectDelay(attempt++));
    };
  }

  return {
    /** Connect (once). */
    start() {
      if (!stopped) return;
      stopped = false;
      open();
    },
    /** Disconnect for good. */
    stop() {
      stopped = true;
      close();
      setStatus('idle');
    },
    /**
     * Subscribe to an event type (task, guest, reset, end, status).
     * @returns {() => void} unsubscribe
     */
    on(type, fn) {
      if (!subs.has(type)) subs.set(type, new Set());
      subs.get(type).add(fn);
      return () => subs.get(type)?.delete(fn);
    },
    /** The connection's state: idle, connecting, open, down, ended. */
    status: () => status,
    dispatch,
  };
}

let shared = null;

/** The tab's one client, created on first use (the shell starts it). */
export function events() {
  shared ??= createEvents();
  return shared;
}
