// The serial console: xterm.js with the fit addon over a WebSocket the
// console tab has opened. Guest bytes arrive as binary messages and are
// written as they are; keys and pasted text go out as UTF-8. Loaded on
// demand (a chunk of its own): the guest list never pays for xterm.js.

import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import xtermCSS from '@xterm/xterm/css/xterm.css';
import { routeInlineStyles } from './cspstyle.js';

let baseSheet = null;
let sheetUsers = 0;

/** xterm.js's own stylesheet, as a constructed sheet (CSP: no inline <style>). */
function adoptBaseSheet() {
  if (sheetUsers++ === 0) {
    baseSheet ??= new CSSStyleSheet();
    baseSheet.replaceSync(xtermCSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, baseSheet];
  }
  return () => {
    if (--sheetUsers === 0) document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== baseSheet);
  };
}

/** The theme in effect (as lib/theme.js says; not imported, so that this chunk shares nothing with app.js). */
function isDark() {
  const pinned = document.documentElement.dataset.theme;
  if (pinned === 'light' || pinned === 'dark') return pinned === 'dark';
  return matchMedia('(prefers-color-scheme: dark)').matches;
}

// Readable ANSI colours on a light background (xterm.js's defaults suit a dark one).
const LIGHT_ANSI = {
  black: '#1b1f27', red: '#b42318', green: '#17743a', yellow: '#8a5a00', blue: '#1d5bd0', magenta: '#8e3bb0', cyan: '#0b6e7f', white: '#5b6472',
  brightBlack: '#555d6b', brightRed: '#c9302c', brightGreen: '#1d8a46', brightYellow: '#9c6a00', brightBlue: '#2f6fe0', brightMagenta: '#a24cc6', brightCyan: '#0d8196', brightWhite: '#2b313c',
};

/**
 * The terminal's colours, from the CSS custom properties of its box (light
 * and dark there, like every colour of the app): the box's color and
 * background, and two carrier properties for the cursor and the selection.
 * @param {HTMLElement} box
 */
function themeOf(box) {
  const cs = getComputedStyle(box);
  const base = {
    background: cs.backgroundColor,
    foreground: cs.color,
    cursor: cs.caretColor,
    cursorAccent: cs.backgroundColor,
    selectionBackground: cs.columnRuleColor,
  };
  return isDark() ? base : { ...base, ...LIGHT_ANSI };
}

/**
 * A terminal in box for a guest's serial console. It outlives connections:
 * attach() a WebSocket, and after it closes the last output stays on screen
 * until the next attach() (the scrollback is kept).
 * @param {HTMLElement} box
 * @param {{label: string, onRelease?: () => void}} opts
 *   onRelease: the person pressed the key that gives the keyboard back (Shift+F12)
 */
export function createSerial(box, opts) {
  const undoStyles = routeInlineStyles(document);
  const undoSheet = adoptBaseSheet();
  const mono = getComputedStyle(box).fontFamily;
  const term = new Terminal({
    convertEol: false,
    cursorBlink: false,
    disableStdin: true,
    fontFamily: mono,
    fontSize: box.clientWidth > 0 && box.clientWidth < 600 ? 12 : 14,
    lineHeight: 1.15,
    scrollback: 5000,
    theme: themeOf(box),
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  term.textarea?.setAttribute('aria-label', opts.label);
  term.textarea?.setAttribute('data-testid', 'console-terminal-input');
  term.attachCustomKeyEventHandler((e) => {
    if (e.type === 'keydown' && e.key === 'F12' && e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      opts.onRelease?.();
      return false;
    }
    return true;
  });

  const refit = () => {
    try {
      if (box.clientWidth > 0 && box.clientHeight > 0) fit.fit();
    } catch {
      // not laid out yet
    }
  };
  refit();
  const resizeObs = new ResizeObserver(() => requestAnimationFrame(refit));
  resizeObs.observe(box);

  // Follow the theme: the data-theme attribute, or the system's choice.
  const retheme = () => {
    term.options.theme = themeOf(box);
  };
  const themeObs = new MutationObserver(retheme);
  themeObs.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  const mq = matchMedia('(prefers-color-scheme: dark)');
  mq.addEventListener('change', retheme);

  const enc = new TextEncoder();
  /** @type {WebSocket|null} */
  let ws = null;
  const send = (data) => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(data);
  };
  const onData = term.onData((d) => send(enc.encode(d)));
  const onBinary = term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));
  const onMessage = (e) => {
    if (e.data instanceof ArrayBuffer) term.write(new Uint8Array(e.data));
    else if (typeof e.data === 'string') term.write(e.data);
  };
  const setInput = (on) => {
    term.options.disableStdin = !on;
    term.options.cursorBlink = on;
  };

  function detach() {
    if (!ws) return;
    ws.removeEventListener('message', onMessage);
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
    ws = null;
    setInput(false);
  }

  let disposed = false;
  return {
    /**
     * Use a new connection.
     * @param {WebSocket} socket in state CONNECTING or OPEN
     */
    attach(socket) {
      detach();
      ws = socket;
      ws.binaryType = 'arraybuffer';
      ws.addEventListener('message', onMessage);
      ws.addEventListener('open', () => setInput(true), { once: true });
      ws.addEventListener('close', () => setInput(false), { once: true });
      if (ws.readyState === WebSocket.OPEN) setInput(true);
    },
    /** Close the connection; the output stays. */
    detach,
    /** Type text as if pasted (bracketed when the guest asked for it). */
    paste(text) {
      if (ws) term.paste(String(text));
    },
    focus() {
      term.focus();
    },
    blur() {
      term.blur();
    },
    /** The text in the terminal, scrollback included. */
    text() {
      const buf = term.buffer.active;
      const lines = [];
      for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
      return lines.join('\n');
    },
    refit,
    dispose() {
      if (disposed) return;
      disposed = true;
      detach();
      onData.dispose();
      onBinary.dispose();
      resizeObs.disconnect();
      themeObs.disconnect();
      mq.removeEventListener('change', retheme);
      term.dispose();
      undoSheet();
      undoStyles();
    },
  };
}
