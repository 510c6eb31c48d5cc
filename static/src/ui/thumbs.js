// Screenshot thumbnails of the guest list. Each row has a small box
// (data-thumb says what it shows: "shot" a screenshot, "wait" one on its
// way, "off" the guest is not running, "none" it has no display, "na" the
// host has no screen to show for it). Only boxes on screen ask for a
// screenshot (IntersectionObserver), each at most every 10 s, a few at a
// time, while the page is visible; lib/thumbs.js decides when. A guest
// answered 409 or 501 is not asked again until its state changes.

import { api } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { ThumbSchedule, thumbEligible, thumbResult } from '../lib/thumbs.js';
import { isActive } from '../lib/vmstate.js';

/** What a box shows besides a screenshot (thumb.STATE is its tooltip). */
export const THUMB_STATES = Object.freeze(['wait', 'off', 'none', 'na']);

/**
 * @param {{interval?: number}} [opts]
 */
export function createThumbs(opts = {}) {
  const schedule = new ThumbSchedule({ interval: opts.interval });
  /** name → {box, img, url, observed, controller, label} */
  const boxes = new Map();
  const byBox = new WeakMap();
  let timer = 0;
  let stopped = false;

  const io = typeof IntersectionObserver === 'undefined' ? null : new IntersectionObserver((entries) => {
    let changed = false;
    for (const e of entries) {
      const name = byBox.get(e.target);
      if (name !== undefined && schedule.setVisible(name, e.isIntersecting)) changed = true;
    }
    if (changed) wake();
  }, { rootMargin: '120px 0px' });

  const visible = () => document.visibilityState !== 'hidden';

  function wake() {
    clearTimeout(timer);
    timer = 0;
    if (stopped || !visible()) return;
    const wait = schedule.nextWake(Date.now());
    if (wait === null) return;
    timer = setTimeout(run, wait);
  }

  function run() {
    timer = 0;
    if (stopped || !visible()) return;
    for (const name of schedule.due(Date.now())) fetchShot(name);
    wake();
  }

  async function fetchShot(name) {
    const b = boxes.get(name);
    if (!b || !b.box.isConnected) {
      schedule.done(name, 'aborted', Date.now());
      if (b) schedule.setVisible(name, false);
      return;
    }
    const controller = new AbortController();
    b.controller = controller;
    if (!b.url) setState(b, 'wait');
    let result = 'error';
    try {
      const { status, blob } = await api.screenshot(name, controller.signal);
      result = thumbResult(status);
      if (result === 'ok' && blob && boxes.get(name) === b && !stopped) {
        await show(b, blob);
      }
    } catch (err) {
      result = err?.name === 'AbortError' ? 'aborted' : 'error';
    } finally {
      if (b.controller === controller) b.controller = null;
    }
    schedule.done(name, result, Date.now());
    if (boxes.get(name) === b) {
      if (result === 'none') {
        dropImage(b);
        setState(b, 'na');
      } else if (result === 'error' && !b.url) {
        setState(b, 'na');
      }
    }
    wake();
  }

  /** Swap in a new screenshot once it is decoded (no flicker, no broken image). */
  async function show(b, blob) {
    const url = URL.createObjectURL(blob);
    const img = b.img ?? document.createElement('img');
    const next = new Image();
    next.src = url;
    try {
      await next.decode();
    } catch {
      URL.revokeObjectURL(url);
      return;
    }
    if (!b.img) {
      img.alt = '';
      img.decoding = 'async';
      img.draggable = false;
      b.img = img;
      b.box.append(img);
    }
    img.src = url;
    if (b.url) URL.revokeObjectURL(b.url);
    b.url = url;
    setState(b, 'shot');
    b.box.title = t('thumb.shot', { name: b.name, time: formatTime(new Date()) });
  }

  function dropImage(b) {
    b.controller?.abort();
    if (b.img) {
      b.img.remove();
      b.img = null;
    }
    if (b.url) {
      URL.revokeObjectURL(b.url);
      b.url = null;
    }
  }

  function setState(b, state) {
    if (b.box.dataset.thumb === state) return;
    b.box.dataset.thumb = state;
    if (state !== 'shot') b.box.title = t(`thumb.${state}`, { name: b.name });
  }

  function onVisibility() {
    if (visible()) wake();
    else {
      clearTimeout(timer);
      timer = 0;
    }
  }
  document.addEventListener('visibilitychange', onVisibility);

  return {
    /**
     * A row's box and its guest, on creation and on every list refresh (cheap
     * when nothing changed: no request comes from here).
     * @param {HTMLElement} box
     * @param {{name: string, state: string, graphics?: string}} vm
     */
    update(box, vm) {
      let b = boxes.get(vm.name);
      const fresh = !b || b.box !== box;
      if (fresh) {
        if (b) this.forget(vm.name);
        b = { name: vm.name, box, img: null, url: null, observed: false, controller: null };
        boxes.set(vm.name, b);
        byBox.set(box, vm.name);
      }
      const eligible = thumbEligible(vm);
      const changed = schedule.update(vm.name, vm.state, eligible);
      if (!eligible) {
        if (b.observed) {
          io?.unobserve(box);
          b.observed = false;
          schedule.setVisible(vm.name, false);
        }
        dropImage(b);
        setState(b, isActive(vm.state) ? 'none' : 'off');
        return;
      }
      if (schedule.givenUp(vm.name)) {
        setState(b, 'na');
      } else if (!b.url && (changed || fresh)) {
        setState(b, 'wait');
      }
      if (!b.observed && io) {
        io.observe(box);
        b.observed = true;
      }
      if (changed) wake();
    },

    /**
     * A row left the DOM (scrolled out of a windowed list): stop watching its
     * box, keep when its guest was last asked (no new request on the way back).
     */
    detach(name) {
      const b = boxes.get(name);
      if (!b) return;
      if (b.observed) io?.unobserve(b.box);
      schedule.setVisible(name, false);
      dropImage(b);
      boxes.delete(name);
    },

    /** A guest left the list. */
    forget(name) {
      const b = boxes.get(name);
      if (!b) return;
      if (b.observed) io?.unobserve(b.box);
      dropImage(b);
      boxes.delete(name);
      schedule.forget(name);
    },

    /** The page goes away: no more requests, images released. */
    stop() {
      stopped = true;
      clearTimeout(timer);
      io?.disconnect();
      document.removeEventListener('visibilitychange', onVisibility);
      for (const b of boxes.values()) dropImage(b);
      boxes.clear();
    },
  };
}
