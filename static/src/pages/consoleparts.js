// The parts of the Console tab (pages/console.js) that hold no state: its
// elements, and the SPICE download (a remote-viewer file through a Blob).

import { api } from '../lib/api.js';
import { vvFileName } from '../lib/console.js';
import { h, icon, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

/**
 * The Console tab's elements, built once; console.js updates them in place.
 * @param {string} name the guest
 */
export function consoleElements(name) {
  const viewButtons = new Map();
  const views = h('div', { class: 'segmented console-views', role: 'group', 'aria-label': t('console.views'), 'data-testid': 'console-views', hidden: true },
    ['graphics', 'serial'].map((v) => {
      const b = h('button', { type: 'button', class: 'seg', 'data-view': v, 'data-testid': `console-view-${v}`, 'aria-pressed': 'false' }, t(`console.view.${v}`));
      viewButtons.set(v, b);
      return b;
    }));
  const statusText = h('span', { class: 'console-status-text' });
  const status = h('p', { class: 'console-status', role: 'status', 'data-testid': 'console-status', 'data-state': 'idle' },
    h('span', { class: 'console-dot', 'aria-hidden': 'true' }), statusText);

  const btn = (testid, iconName, label, extra = {}) => h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': testid, ...extra },
    iconName ? icon(iconName) : null, h('span', null, label));
  const cadBtn = btn('console-cad', 'keyboard', t('console.ctrlAltDel'), { title: t('console.ctrlAltDelHelp') });
  const pasteBtn = btn('console-paste', 'clipboard', t('console.paste'));
  const fitBtn = btn('console-fit', 'fit', t('console.fit'), { 'aria-pressed': 'true', title: t('console.fitHelp') });
  const fullBtn = btn('console-fullscreen', 'expand', t('console.fullscreen'));
  const fullLabel = fullBtn.lastChild;
  const connBtn = btn('console-connect', 'refresh', t('console.reconnect'));
  const connLabel = connBtn.lastChild;
  const actions = h('div', { class: 'console-actions', role: 'toolbar', 'aria-label': t('console.controls') },
    cadBtn, pasteBtn, fitBtn, fullBtn, connBtn);

  const screen = h('div', { class: 'console-screen', 'data-testid': 'console-screen' });
  const stageText = h('p', { class: 'console-stage-text' });
  const stageNote = h('div', { class: 'console-stage-note', 'data-testid': 'console-stage-note', hidden: true },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), stageText);
  const stage = h('div', { class: 'console-stage' }, screen, stageNote);
  const hint = h('p', { class: 'console-hint', 'data-testid': 'console-hint' });

  const spiceBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'console-spice-download' }, icon('download'), t('console.spice.download'));
  const spiceStatus = h('p', { class: 'hint', role: 'status', 'data-testid': 'console-spice-status' });
  const spice = h('section', { class: 'card console-spice', 'data-testid': 'console-spice', 'aria-labelledby': 'console-spice-title', hidden: true },
    h('h2', { id: 'console-spice-title' }, icon('screen'), t('console.spice.title')),
    h('p', null, t('console.spice.text')),
    h('ol', { class: 'console-steps' },
      h('li', null, t('console.spice.step1')),
      h('li', null, t('console.spice.step2')),
      h('li', null, t('console.spice.step3'))),
    h('div', { class: 'console-spice-actions' }, spiceBtn),
    spiceStatus,
    h('p', { class: 'hint' }, t('console.spice.note')));

  const bar = h('div', { class: 'console-bar', hidden: true }, h('div', { class: 'console-state' }, status), actions);
  const sessionView = h('div', { class: 'console-session', hidden: true }, stage, hint);

  const panelTitle = h('h2', null);
  const panelText = h('p', null);
  const statePanel = h('div', { class: 'state-panel empty console-panel', 'data-testid': 'console-state-panel', hidden: true },
    icon('screen', 'empty-icon'), panelTitle, panelText);

  const root = h('section', { class: 'console', 'data-testid': 'console', 'aria-label': t('console.region', { name }) },
    h('div', { class: 'console-top' }, views, bar), statePanel, spice, sessionView);
  return { viewButtons, views, statusText, status, cadBtn, pasteBtn, fitBtn, fullBtn, fullLabel, connBtn, connLabel, actions, screen, stageText, stageNote, stage, hint, spiceBtn, spiceStatus, spice, bar, sessionView, panelTitle, panelText, statePanel, root };
}

/**
 * Download a SPICE ticket as NAME.vv for remote-viewer; the status line says how it went.
 * @param {string} name
 * @param {HTMLButtonElement} button
 * @param {HTMLElement} statusLine
 */
export async function downloadVV(name, button, statusLine) {
  button.disabled = true;
  setText(statusLine, t('console.spice.preparing'));
  try {
    const ticket = await api.consoleTicket(name, 'spice');
    if (!ticket?.vv) throw new Error(t('console.spice.noFile'));
    const url = URL.createObjectURL(new Blob([ticket.vv], { type: 'application/x-virt-viewer' }));
    const a = h('a', { href: url, download: vvFileName(name), hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    setText(statusLine, t('console.spice.ready', { file: vvFileName(name) }));
  } catch (err) {
    if (err?.status === 401) return;
    setText(statusLine, t('console.spice.failed', { message: err?.message || t('error.unknown') }));
  } finally {
    button.disabled = false;
  }
}
