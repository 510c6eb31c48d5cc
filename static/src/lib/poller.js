// Runs a refresh function every interval while the tab is visible: never two
// at once, paused while hidden, immediately again when the tab comes back.

/**
 * @param {(signal: AbortSignal) => Promise<unknown>} fn
 * @param {{interval: number, backoffMax?: number}} opts
 *   after a failure the wait doubles up to backoffMax (default 30 s)
 */
export function createPoller(fn, { interval, backoffMax = 30000 }) {
  let timer = 0;
  let running = false;
  let stopped = true;
  let again = false;
  let failures = 0;
  let controller = null;

  const visible = () => document.visibilityState !== 'hidden';

  function schedule() {
    clearTimeout(timer);
    if (stopped || !visible()) return;
    const wait = failures === 0 ? interval : Math.min(interval * 2 ** failures, backoffMax);
    timer = setTimeout(run, wait);
  }

  async function run() {
    clearTimeout(timer);
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    controller = new AbortController();
    try {
      await fn(controller.signal);
      failures = 0;
    } catch (err) {
      if (err?.name !== 'AbortError') failures++;
    } finally {
      running = false;
      controller = null;
    }
    if (again) {
      again = false;
      run();
    } else {
      schedule();
    }
  }

  function onVisibility() {
    if (stopped) return;
    if (visible()) run();
    else clearTimeout(timer);
  }

  return {
    /** Start: run now, then every interval. */
    start() {
      if (!stopped) return;
      stopped = false;
      document.addEventListener('visibilitychange', onVisibility);
      run();
    },
    /** Run now (a retry button), resetting the back-off. */
    now() {
      failures = 0;
      run();
    },
    /** Stop and abort a request in flight. */
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
      controller?.abort();
    },
  };
}
