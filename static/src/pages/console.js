// The Console tab of the guest page: the guest's display (noVNC) or its
// serial port (xterm.js), switched when it has both; a SPICE display is
// offered as a remote-viewer file. Every connection asks for a fresh
// one-time ticket, opens the WebSocket itself (so that the server's close
// code and reason are known) and hands it to the viewer, which is loaded on
// demand: this module is small, noVNC and xterm.js are chunks of their own.
//
// The status line says what is happening: connecting, connected, and after
// a close the server's reason. It reconnects by itself only when that makes
// sense (lib/console.js: not after "access revoked" or "logged out").
// Keys go to the guest only while its screen has the focus; Shift+F12 gives
// the keyboard back.

import { api } from '../lib/api.js';
import {
  closeOutcome, consoleAvailability, consoleOptions, consoleViews, kindOfView, MAX_TYPED, reconnectDelay,
  shouldAutoReconnect, socketURL,
} from '../lib/console.js';
import { setAttr, setText } from '../lib/dom.js';
import { formatNumber } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { promptText } from '../ui/prompt.js';
import { toast } from '../ui/toast.js';
import { consoleElements, downloadVV } from './consoleparts.js';

const loadVNC = () => import('../console/vnc.js');
const loadSerial = () => import('../console/serial.js');

/** Ticket failures worth another automatic try while reconnecting (server restarting, network). */
const TRANSIENT = new Set([0, 502, 503, 504]);

/**
 * Mount the console of a guest into panel.
 * @param {HTMLElement} panel
 * @param {{name: string, focus?: boolean}} ctx
 *   focus: the person asked for the console (a Console button): give the screen the focus once connected
 * @returns {{update: (vm: any) => void, focusScreen: () => void, unmount: () => void}}
 */
export function mountConsole(panel, ctx) {
  const { name } = ctx;
  let vm = null;
  let avail = 'loading';
  let options = { graphics: null, serial: false };
  let view = null;
  /** @type {null|{kind: string, ws: WebSocket|null, viewer: any, opened: boolean, connected: boolean, userClosed: boolean}} */
  let session = null;
  /** idle | connecting | connected | reconnecting | closed | error */
  let phase = 'idle';
  let outcome = null;
  let errorText = '';
  let hostUnavailable = '';
  let autoAttempts = 0;
  let retryAt = 0;
  let retryTimer = 0;
  let tickTimer = 0;
  let waitingForRun = false;
  let closedAt = 0;
  let fit = true;
  let wantFocus = Boolean(ctx.focus);
  let connectNo = 0;
  let serialTerm = null;
  let serialShown = false; // the terminal has had a connection (and shows its output)
  let typing = false;
  let unmounted = false;

  // ---- structure (pages/consoleparts.js)
  const {
    viewButtons, views, statusText, status, spiceBtn, spiceStatus, cadBtn, pasteBtn, fitBtn, fullBtn, fullLabel, connBtn, connLabel,
    actions, screen, stageText, stageNote, stage, hint, spice, bar, sessionView, panelTitle, panelText, statePanel, root,
  } = consoleElements(name);
  panel.replaceChildren(root);

  // ---- rendering
  function showPanel(testid, title, text) {
    statePanel.hidden = false;
    statePanel.dataset.testid = testid;
    setText(panelTitle, title);
    setText(panelText, text);
  }

  function render() {
    root.dataset.state = avail;
    // After a close the session stays in view with the reason (and the serial
    // console's last output), also when the guest stopped or access went.
    const ready = avail === 'ready' || (phase === 'closed' && outcome !== null && (avail === 'stopped' || avail === 'forbidden'));
    if (hostUnavailable) {
      showPanel('console-unavailable', t('console.unavailable.title'), t('console.unavailable.text', { message: hostUnavailable }));
    } else if (avail === 'loading') {
      showPanel('console-loading', t('console.loading'), '');
    } else if (ready) {
      statePanel.hidden = true;
    } else if (avail === 'forbidden') {
      showPanel('console-forbidden', t('console.forbidden.title'), t('console.forbidden.text', { name }));
    } else if (avail === 'stopped') {
      showPanel('console-stopped', t('console.stopped.title', { name }), t('console.stopped.text'));
    } else {
      showPanel('console-none', t('console.none.title'), t('console.none.text', { name }));
    }
    const showing = ready && !hostUnavailable;
    const { views: vs } = consoleViews(options, view);
    views.hidden = !showing || vs.length < 2;
    for (const [v, b] of viewButtons) {
      b.hidden = !vs.includes(v);
      setAttr(b, 'aria-pressed', String(v === view));
    }
    const kind = showing && view ? kindOfView(view, options) : null;
    spice.hidden = kind !== 'spice';
    sessionView.hidden = !(kind === 'vnc' || kind === 'serial');
    bar.hidden = sessionView.hidden;
    if (!sessionView.hidden) renderSession(kind);
  }

  function statusLine() {
    switch (phase) {
      case 'connecting':
        return t('console.status.connecting');
      case 'connected':
        return t('console.status.connected');
      case 'reconnecting':
        return t('console.status.reconnecting', { seconds: Math.max(1, Math.ceil((retryAt - Date.now()) / 1000)) });
      case 'closed':
        if (!outcome) return t('console.status.disconnected');
        return t(`console.closed.${outcome.message}`, { reason: outcome.reason || t('console.noReason') });
      case 'error':
        return errorText;
      default:
        return t('console.status.idle');
    }
  }

  function renderSession(kind) {
    const connected = phase === 'connected';
    const live = phase === 'connecting' || connected;
    screen.dataset.kind = kind;
    root.dataset.kind = kind;
    status.dataset.state = phase;
    setAttr(status, 'data-message', phase === 'closed' ? (outcome?.message ?? 'disconnected') : null);
    setAttr(status, 'data-reason', phase === 'closed' ? (outcome?.reason ?? '') : null);
    setText(statusText, statusLine());

    cadBtn.hidden = kind !== 'vnc';
    fitBtn.hidden = kind !== 'vnc';
    cadBtn.disabled = !connected;
    pasteBtn.disabled = !connected || typing;
    setAttr(fitBtn, 'aria-pressed', String(fit));
    screen.classList.toggle('is-actual', !fit);

    const never = phase === 'closed' && outcome?.reconnect === 'never';
    connBtn.hidden = never || avail !== 'ready';
    if (live) {
      setText(connLabel, t('console.disconnect'));
      connBtn.dataset.action = 'disconnect';
    } else {
      setText(connLabel, phase === 'reconnecting' ? t('console.reconnectNow') : t('console.reconnect'));
      connBtn.dataset.action = 'connect';
    }

    // The screen area: noVNC's canvas while live; for the serial console the
    // terminal stays with its last output. A note covers an empty screen.
    const serialEmpty = kind === 'serial' && (!serialTerm || !serialShown);
    const note = kind === 'vnc' ? !connected : serialEmpty && !connected;
    stageNote.hidden = !note;
    stageNote.dataset.phase = phase;
    setText(stageText, phase === 'connecting' ? t('console.status.connecting') : statusLine());
    stage.classList.toggle('is-empty', note);
    setText(hint, kind === 'vnc' ? t('console.hint.vnc') : t('console.hint.serial'));
  }

  function setPhase(p) {
    phase = p;
    clearInterval(tickTimer);
    tickTimer = 0;
    if (p === 'reconnecting') {
      tickTimer = setInterval(() => {
        if (phase === 'reconnecting') setText(statusText, statusLine());
      }, 1000);
    }
    render();
  }

  // ---- connecting
  function closeSession() {
    const s = session;
    session = null;
    if (!s) return;
    s.userClosed = true;
    if (s.kind === 'vnc') s.viewer?.disconnect();
    else if (s.ws && s.ws.readyState <= WebSocket.OPEN) s.ws.close(1000);
    if (s.kind === 'serial') serialTerm?.detach();
  }

  function cancelRetry() {
    clearTimeout(retryTimer);
    retryTimer = 0;
  }

  /**
   * Opens the console. A probe (the guest may have run again unseen) asks
   * for a ticket first and leaves the status line alone until it has one,
   * so a guest that is still stopped does not flicker "Connecting…".
   */
  async function connect({ user = false, probe = false } = {}) {
    if (unmounted) return;
    cancelRetry();
    closeSession();
    const kind = view ? kindOfView(view, options) : null;
    if (kind !== 'vnc' && kind !== 'serial') return;
    if (user) {
      wantFocus = true;
      autoAttempts = 0;
    }
    const no = ++connectNo;
    if (!probe) {
      outcome = null;
      setPhase('connecting');
    }

    let mod;
    let ticket;
    try {
      mod = await (kind === 'vnc' ? loadVNC() : loadSerial());
    } catch (err) {
      if (no !== connectNo) return;
      errorText = t('console.loadFailed', { message: err?.message || t('error.unknown') });
      setPhase('error');
      return;
    }
    try {
      if (kind === 'serial' && !serialTerm) {
        serialTerm = mod.createSerial(screen, { label: t('console.terminalLabel', { name }), onRelease: release });
        render();
      }
      ticket = await api.consoleTicket(name, kind);
    } catch (err) {
      if (no !== connectNo) return;
      ticketFailed(err);
      return;
    }
    if (no !== connectNo || unmounted) return;
    if (probe) {
      outcome = null;
      setPhase('connecting');
    }

    let ws;
    try {
      ws = new WebSocket(socketURL(ticket.ws_url, location.href), ['binary']);
    } catch (err) {
      errorText = t('console.failed', { message: err?.message || t('error.unknown') });
      setPhase('error');
      return;
    }
    const s = { kind, ws, viewer: null, opened: false, connected: false, userClosed: false };
    session = s;
    ws.addEventListener('open', () => {
      s.opened = true;
      if (kind === 'serial') connected(s);
    });
    ws.addEventListener('close', (e) => closed(s, e.code, e.reason));
    try {
      attachViewer(s, mod);
    } catch (err) {
      session = null;
      ws.close();
      errorText = t('console.failed', { message: err?.message || t('error.unknown') });
      setPhase('error');
    }
  }

  /** Hand the session's WebSocket to its viewer (noVNC, or the kept terminal). */
  function attachViewer(s, mod) {
    if (s.kind === 'vnc') {
      s.viewer = mod.createVNC(screen, s.ws, {
        label: t('console.screenLabel', { name }),
        onConnect: () => connected(s),
        onSize: (w, hgt) => {
          screen.style.setProperty('--fb-w', String(w));
          screen.style.setProperty('--fb-h', String(hgt));
          screen.style.setProperty('--fb-h-px', `${hgt}px`);
        },
        onCredentials: askPassword,
      });
    } else {
      serialTerm.attach(s.ws);
      s.viewer = serialTerm;
    }
  }

  function connected(s) {
    if (s !== session || s.connected) return;
    s.connected = true;
    autoAttempts = 0;
    waitingForRun = false;
    if (s.kind === 'serial') serialShown = true;
    setPhase('connected');
    if (wantFocus || focusIsFree()) {
      wantFocus = false;
      focusScreen();
    }
  }

  function closed(s, code, reason) {
    if (s !== session) return; // replaced or closed by us
    session = null;
    if (s.kind === 'vnc') s.viewer?.disconnect();
    else serialTerm?.detach();
    if (unmounted) return;
    if (s.userClosed) {
      outcome = null;
      setPhase('closed');
      return;
    }
    outcome = closeOutcome({ code, reason, opened: s.opened });
    closedAt = Date.now();
    if (shouldAutoReconnect(outcome.reconnect, autoAttempts)) {
      scheduleRetry();
      return;
    }
    if (outcome.reconnect === 'running') waitingForRun = true;
    setPhase('closed');
  }

  function scheduleRetry() {
    const wait = reconnectDelay(autoAttempts);
    autoAttempts++;
    retryAt = Date.now() + wait;
    cancelRetry();
    retryTimer = setTimeout(() => connect(), wait);
    setPhase('reconnecting');
  }

  function ticketFailed(err) {
    if (err?.status === 401) return; // on the way to the login page
    if (err?.status === 501) {
      hostUnavailable = err.message || t('console.unavailable.default');
      setPhase('idle');
      return;
    }
    if (TRANSIENT.has(err?.status ?? -1) && autoAttempts > 0 && shouldAutoReconnect('auto', autoAttempts)) {
      scheduleRetry();
      return;
    }
    if (err?.status === 409 && waitingForRun) {
      // Still not running: keep waiting for it.
      waitingForRun = true;
      closedAt = Date.now();
      outcome = { message: 'guestStopped', reason: 'guest stopped', reconnect: 'running' };
      setPhase('closed');
      return;
    }
    outcome = err?.status === 403
      ? { message: 'forbidden', reason: err.message, reconnect: 'never' }
      : { message: 'ticket', reason: err?.message || t('error.unknown'), reconnect: 'manual' };
    setPhase('closed');
  }

  async function askPassword() {
    const s = session;
    const pw = await promptText({
      title: t('console.password.title', { name }),
      body: t('console.password.body'),
      label: t('console.password.label'),
      acceptLabel: t('console.password.accept'),
      password: true,
      testid: 'console-password-dialog',
    });
    if (s !== session) return;
    if (pw === null) {
      closeSession();
      outcome = null;
      setPhase('closed');
      return;
    }
    s.viewer?.sendPassword(pw);
  }

  // ---- focus: keys go to the guest only while its screen has the focus
  /**
   * Nothing else has the focus that the person chose: the page was just
   * opened (its heading, the body), or it is in the console or on its tab.
   * Then a new connection takes the focus; otherwise it does not steal it.
   */
  function focusIsFree() {
    const a = document.activeElement;
    if (!a || a === document.body || root.contains(a)) return true;
    if (a.matches('h1[tabindex="-1"], main, [role=tab][aria-selected=true], [data-testid=vm-console-button]')) return true;
    return false;
  }

  function focusScreen() {
    if (!session?.viewer) return;
    session.viewer.focus();
  }

  function release() {
    session?.viewer?.blur?.();
    const first = [...actions.querySelectorAll('button')].find((b) => !b.hidden && !b.disabled) ?? connBtn;
    first.focus();
  }

  stage.addEventListener('keydown', (e) => {
    if (e.key === 'F12' && e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      e.stopPropagation();
      release();
    }
  }, { capture: true });

  // ---- controls
  views.addEventListener('click', (e) => {
    const b = /** @type {HTMLElement} */ (e.target).closest('button[data-view]');
    if (!b || b.dataset.view === view) return;
    selectView(b.dataset.view, { user: true });
  });

  function selectView(v, { user = false } = {}) {
    closeSession();
    cancelRetry();
    if (v !== 'serial' && serialTerm) {
      serialTerm.dispose();
      serialTerm = null;
      serialShown = false;
    }
    screen.replaceChildren();
    screen.removeAttribute('style');
    view = v;
    outcome = null;
    phase = 'idle';
    autoAttempts = 0;
    render();
    const kind = kindOfView(view, options);
    if (kind === 'vnc' || kind === 'serial') connect({ user });
  }

  connBtn.addEventListener('click', () => {
    if (connBtn.dataset.action === 'disconnect') {
      cancelRetry();
      closeSession();
      outcome = null;
      setPhase('closed');
    } else {
      connect({ user: true });
    }
  });

  cadBtn.addEventListener('click', () => {
    if (session?.kind === 'vnc' && phase === 'connected') {
      session.viewer.ctrlAltDel();
      toast(t('console.ctrlAltDelSent', { name }), { kind: 'info', timeout: 3000 });
      focusScreen();
    }
  });

  fitBtn.addEventListener('click', () => {
    fit = !fit;
    if (session?.kind === 'vnc') session.viewer.setFit(fit);
    render();
  });

  pasteBtn.addEventListener('click', async () => {
    const s = session;
    if (!s || phase !== 'connected') return;
    const text = await promptText({
      title: t('console.pasteTitle', { name }),
      body: t(s.kind === 'vnc' ? 'console.pasteBody' : 'console.pasteBodySerial'),
      label: t('console.pasteLabel'),
      hint: t(s.kind === 'vnc' ? 'console.pasteHint' : 'console.pasteHintSerial', { max: formatNumber(MAX_TYPED) }),
      acceptLabel: t('console.pasteAccept'),
      multiline: true,
      maxLength: MAX_TYPED,
      testid: 'console-paste-dialog',
    });
    if (text === null || s !== session) {
      pasteBtn.focus();
      return;
    }
    if (s.kind === 'serial') {
      s.viewer.paste(text);
      focusScreen();
      return;
    }
    typing = true;
    render();
    focusScreen();
    try {
      const { skipped } = await s.viewer.typeText(text, {
        onProgress: (done, total) => {
          if (phase === 'connected' && total > 40) setText(statusText, t('console.typing', { done, total }));
        },
      });
      if (skipped > 0) toast(t('console.typedSkipped', { count: skipped }), { kind: 'info' });
    } finally {
      typing = false;
      if (!unmounted) render();
    }
  });

  // Full screen: the whole console (bar and screen), so the controls stay at hand.
  fullBtn.addEventListener('click', async () => {
    try {
      if (document.fullscreenElement === root) await document.exitFullscreen();
      else await root.requestFullscreen({ navigationUI: 'hide' });
    } catch {
      toast(t('console.fullscreenFailed'), { kind: 'error' });
    }
  });
  const onFullscreen = () => {
    const on = document.fullscreenElement === root;
    root.classList.toggle('is-fullscreen', on);
    setText(fullLabel, t(on ? 'console.exitFullscreen' : 'console.fullscreen'));
    setAttr(fullBtn, 'aria-pressed', String(on));
    serialTerm?.refit();
    if (on) focusScreen();
  };
  document.addEventListener('fullscreenchange', onFullscreen);
  fullBtn.hidden = !document.fullscreenEnabled;

  // SPICE: a remote-viewer file.
  spiceBtn.addEventListener('click', () => downloadVV(name, spiceBtn, spiceStatus));

  // ---- the guest changes (the detail page's refresh)
  function update(next) {
    vm = next;
    const before = avail;
    avail = consoleAvailability(vm);
    const nextOptions = consoleOptions(vm);
    const optionsChanged = nextOptions.graphics !== options.graphics || nextOptions.serial !== options.serial;
    options = nextOptions;
    if (avail !== 'ready') {
      // No automatic reconnect to a guest that is not running or not ours.
      cancelRetry();
      if (phase === 'reconnecting') {
        phase = 'closed';
        clearInterval(tickTimer);
      }
      if (avail === 'stopped' && outcome?.reconnect !== 'never') waitingForRun = true;
      if (avail === 'forbidden' && session) {
        // The server closes it too ("access revoked"); do not wait for that.
        closeSession();
        outcome = { message: 'revoked', reason: 'access revoked', reconnect: 'never' };
        phase = 'closed';
      }
      render();
      return;
    }
    const { view: v } = consoleViews(options, view);
    if (v !== view || optionsChanged) {
      selectView(v, { user: false });
      return;
    }
    // Access given back: the person may reconnect (the message stays).
    if (before === 'forbidden' && outcome?.reconnect === 'never') outcome = { ...outcome, reconnect: 'manual' };
    const rerun = before !== 'ready' && before !== 'loading' && waitingForRun;
    const settled = waitingForRun && phase === 'closed' && Date.now() - closedAt > 1500;
    if ((rerun || settled) && !session && phase !== 'connecting' && !hostUnavailable) {
      connect({ probe: !rerun });
      return;
    }
    render();
  }

  return {
    update,
    focusScreen,
    /** Whether the tab has something to tell even without access now (why the console closed). */
    hasNews: () => phase === 'closed' && outcome !== null,
    unmount() {
      unmounted = true;
      cancelRetry();
      clearInterval(tickTimer);
      connectNo++;
      closeSession();
      serialTerm?.dispose();
      serialTerm = null;
      document.removeEventListener('fullscreenchange', onFullscreen);
      if (document.fullscreenElement === root) document.exitFullscreen().catch(() => {});
    },
  };
}
