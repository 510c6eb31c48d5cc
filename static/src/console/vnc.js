// The graphical console: noVNC's RFB over a WebSocket the console tab has
// opened (so that the tab sees the server's close code and reason). Loaded
// on demand (a chunk of its own): the guest list never pays for noVNC.

import RFB from '@novnc/novnc';
import { KEYSYM, textToKeys } from './keys.js';

/**
 * Show a guest's display in target.
 * @param {HTMLElement} target the screen box (sized by the tab's CSS)
 * @param {WebSocket} ws a WebSocket in state CONNECTING or OPEN
 * @param {{label: string, onConnect?: () => void, onSize?: (w: number, h: number) => void, onBell?: () => void,
 *          onCredentials?: () => void}} opts
 *   label: the accessible name of the screen; onCredentials: the display
 *   asks for a password (only when the server could not hand its socket over)
 */
export function createVNC(target, ws, opts) {
  const rfb = new RFB(target, ws, { shared: true });
  rfb.background = 'transparent';
  rfb.scaleViewport = true;
  rfb.clipViewport = false;
  rfb.resizeSession = false;
  rfb.focusOnClick = true;
  rfb.qualityLevel = 6;
  rfb.compressionLevel = 2;

  // noVNC's canvas takes the keyboard while it has the focus, and only then.
  // It is made reachable with Tab (noVNC leaves it out of the tab order).
  const canvas = target.querySelector('canvas');
  if (canvas) {
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'application');
    canvas.setAttribute('aria-label', opts.label);
    canvas.setAttribute('data-testid', 'console-canvas');
  }

  // The framebuffer size, from the canvas noVNC resizes.
  let sizeObs = null;
  if (canvas && opts.onSize) {
    const report = () => {
      if (canvas.width > 0 && canvas.height > 0) opts.onSize(canvas.width, canvas.height);
    };
    sizeObs = new MutationObserver(report);
    sizeObs.observe(canvas, { attributes: true, attributeFilter: ['width', 'height'] });
  }
  rfb.addEventListener('connect', () => opts.onConnect?.());
  rfb.addEventListener('bell', () => opts.onBell?.());
  rfb.addEventListener('credentialsrequired', () => opts.onCredentials?.());

  let alive = true;
  rfb.addEventListener('disconnect', () => {
    alive = false;
    sizeObs?.disconnect();
  });

  let typing = null;

  return {
    /** Send Ctrl-Alt-Del. */
    ctrlAltDel() {
      if (alive) rfb.sendCtrlAltDel();
    },

    /**
     * Type text into the guest, key by key.
     * @param {string} text
     * @param {{onProgress?: (done: number, total: number) => void, signal?: AbortSignal}} [o]
     * @returns {Promise<{typed: number, skipped: number}>}
     */
    async typeText(text, o = {}) {
      typing?.abort();
      const ctl = new AbortController();
      typing = ctl;
      const { keys, skipped } = textToKeys(text);
      let typed = 0;
      // A few keys per frame: fast, yet slow enough for the guest's keyboard buffer.
      const perTick = 8;
      for (let i = 0; i < keys.length; i++) {
        if (!alive || ctl.signal.aborted || o.signal?.aborted) break;
        const k = keys[i];
        if (k.shift) rfb.sendKey(KEYSYM.SHIFT, 'ShiftLeft', true);
        rfb.sendKey(k.keysym, k.code, true);
        rfb.sendKey(k.keysym, k.code, false);
        if (k.shift) rfb.sendKey(KEYSYM.SHIFT, 'ShiftLeft', false);
        typed++;
        if (i % perTick === perTick - 1) {
          o.onProgress?.(typed, keys.length);
          await new Promise((r) => setTimeout(r, 16));
        }
      }
      o.onProgress?.(typed, keys.length);
      if (typing === ctl) typing = null;
      return { typed, skipped };
    },

    /** Answer the display's password question. */
    sendPassword(password) {
      if (alive) rfb.sendCredentials({ password });
    },

    /** Fit the display to the box (true) or show it 1:1 with scroll bars (false). */
    setFit(fit) {
      rfb.scaleViewport = fit;
    },

    focus() {
      rfb.focus({ preventScroll: true });
    },

    blur() {
      rfb.blur();
    },

    /** Close the connection (the tab sees the WebSocket close). */
    disconnect() {
      typing?.abort();
      sizeObs?.disconnect();
      if (alive) {
        alive = false;
        try {
          rfb.disconnect();
        } catch {
          // already gone
        }
      }
    },
  };
}
