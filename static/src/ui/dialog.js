// Dialogs on the native modal <dialog> (focus trapped, Escape cancels, the
// focus returns to where it was). One lifecycle for all of them,
// openDialog: a form inside (Enter accepts), Cancel / Escape / a click on
// the backdrop resolve with the cancel value, Accept runs onAccept (which
// may be async: the buttons wait, and undefined keeps the dialog open, e.g.
// to show a 422 next to a field), and the dialog removes itself.
// confirmDialog (ui/dialog.js) and promptText (ui/prompt.js) are built on it.

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

let seq = 0;

/**
 * Open a dialog.
 * @template R
 * @param {{title: string, body?: string, content?: Node|Node[]|null, wide?: boolean, testid?: string,
 *          acceptLabel: string, cancelLabel?: string|null, danger?: boolean, testids?: {accept?: string, cancel?: string},
 *          focus?: 'cancel'|'accept'|HTMLElement, cancelValue?: R,
 *          onAccept?: () => R|undefined|Promise<R|undefined>, canAccept?: () => boolean}} opts
 *   focus: what has the focus first (cancel: the safe choice, the default for danger);
 *   onAccept: the result (default true); undefined keeps the dialog open;
 *   canAccept: whether Accept is enabled now (call ref.sync() after changes)
 * @returns {{dialog: HTMLDialogElement, result: Promise<R>, close: (value: R) => void, sync: () => void}}
 */
export function openDialog(opts) {
  const id = `dlg-${++seq}`;
  const cancelValue = /** @type {R} */ (opts.cancelValue ?? null);
  // cancelLabel null: a dialog with one button (help), closed by it or Escape.
  const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': opts.testids?.cancel ?? 'dialog-cancel', hidden: opts.cancelLabel === null },
    opts.cancelLabel ?? t('common.cancel'));
  const accept = h('button', {
    type: 'submit', class: 'btn ' + (opts.danger ? 'btn-danger' : 'btn-primary'), 'data-testid': opts.testids?.accept ?? 'dialog-accept',
  }, opts.acceptLabel);
  const content = opts.content == null ? [] : Array.isArray(opts.content) ? opts.content : [opts.content];
  const form = h('form', { class: 'dialog-inner', method: 'dialog', novalidate: true },
    h('h2', { id: `${id}-title`, class: 'dialog-title' }, opts.title),
    opts.body ? h('p', { id: `${id}-body`, class: 'dialog-body' }, opts.body) : null,
    ...content,
    h('div', { class: 'dialog-actions' }, cancel, accept));
  const dlg = /** @type {HTMLDialogElement} */ (h('dialog', {
    class: 'dialog' + (opts.wide ? ' dialog-wide' : ''),
    'aria-labelledby': `${id}-title`, 'aria-describedby': opts.body ? `${id}-body` : null,
    'data-testid': opts.testid ?? 'dialog',
  }, form));

  let value = cancelValue;
  let busy = false;
  let resolve;
  const result = new Promise((r) => {
    resolve = r;
  });
  const sync = () => {
    accept.disabled = busy || (opts.canAccept ? !opts.canAccept() : false);
    cancel.disabled = busy;
  };
  const close = (v) => {
    value = v;
    if (dlg.open) dlg.close();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || accept.disabled) return;
    if (!opts.onAccept) {
      close(/** @type {R} */ (/** @type {unknown} */ (true)));
      return;
    }
    busy = true;
    sync();
    dlg.setAttribute('aria-busy', 'true');
    let v;
    try {
      v = await opts.onAccept();
    } finally {
      busy = false;
      dlg.removeAttribute('aria-busy');
      sync();
    }
    if (v !== undefined) close(v);
  });
  cancel.addEventListener('click', () => close(cancelValue));
  // Escape: the browser closes the dialog; not while a request is on its way.
  dlg.addEventListener('cancel', (e) => {
    if (busy) e.preventDefault();
    else value = cancelValue;
  });
  // A click on the backdrop (the dialog box itself, outside the inner panel) cancels.
  dlg.addEventListener('click', (e) => {
    if (e.target === dlg && !busy) close(cancelValue);
  });
  dlg.addEventListener('close', () => {
    dlg.remove();
    resolve(value);
  });
  sync();
  document.body.append(dlg);
  dlg.showModal();
  const first = opts.focus === 'accept' ? accept : opts.focus instanceof HTMLElement ? opts.focus : cancel;
  first.focus();
  return { dialog: dlg, result, close, sync };
}

/**
 * Ask for confirmation. Cancel has the focus: the safe choice is the default one.
 * @param {{title: string, body: string, confirmLabel: string, cancelLabel?: string, danger?: boolean,
 *          content?: Node, wide?: boolean,
 *          checkbox?: {label: string, hint?: string, testid?: string}, testid?: string}} opts
 *   content: more to show below the body (a list of changes…); wide: a wider dialog for it
 * @returns {Promise<{confirmed: boolean, checked: boolean}>}
 */
export function confirmDialog(opts) {
  const boxId = `dlg-cb-${++seq}`;
  const box = opts.checkbox ? h('input', { type: 'checkbox', id: boxId, 'data-testid': opts.checkbox.testid }) : null;
  const ref = openDialog({
    title: opts.title,
    body: opts.body,
    content: [
      opts.content ?? null,
      box ? h('div', { class: 'check-row' },
        box,
        h('label', { for: boxId }, opts.checkbox.label,
          opts.checkbox.hint ? h('span', { class: 'hint' }, opts.checkbox.hint) : null)) : null,
    ].filter(Boolean),
    wide: opts.wide,
    testid: opts.testid ?? 'confirm-dialog',
    testids: { accept: 'confirm-accept', cancel: 'confirm-cancel' },
    acceptLabel: opts.confirmLabel,
    cancelLabel: opts.cancelLabel,
    danger: opts.danger,
    focus: 'cancel',
    cancelValue: { confirmed: false, checked: false },
    onAccept: () => ({ confirmed: true, checked: box ? box.checked : false }),
  });
  return ref.result;
}
