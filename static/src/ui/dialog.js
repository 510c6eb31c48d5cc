// A confirmation dialog on the native <dialog> (modal, focus-trapped, Escape
// cancels). Cancel has the focus: the safe choice is the default one.

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

/**
 * Ask for confirmation.
 * @param {{title: string, body: string, confirmLabel: string, cancelLabel?: string, danger?: boolean,
 *          content?: Node, wide?: boolean,
 *          checkbox?: {label: string, hint?: string, testid?: string}, testid?: string}} opts
 *   content: more to show below the body (a list of changes…); wide: a wider dialog for it
 * @returns {Promise<{confirmed: boolean, checked: boolean}>}
 */
export function confirmDialog(opts) {
  return new Promise((resolve) => {
    const titleId = 'dlg-title-' + Math.random().toString(36).slice(2);
    const bodyId = titleId + '-body';
    const box = opts.checkbox
      ? h('input', { type: 'checkbox', id: titleId + '-cb', 'data-testid': opts.checkbox.testid })
      : null;
    const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'confirm-cancel', autofocus: true },
      opts.cancelLabel ?? t('common.cancel'));
    const accept = h('button', {
      type: 'button',
      class: 'btn ' + (opts.danger ? 'btn-danger' : 'btn-primary'),
      'data-testid': 'confirm-accept',
    }, opts.confirmLabel);

    const dlg = h('dialog', {
      class: 'dialog' + (opts.wide ? ' dialog-wide' : ''),
      'aria-labelledby': titleId,
      'aria-describedby': bodyId,
      'data-testid': opts.testid ?? 'confirm-dialog',
    },
    h('div', { class: 'dialog-inner' },
      h('h2', { id: titleId, class: 'dialog-title' }, opts.title),
      h('p', { id: bodyId, class: 'dialog-body' }, opts.body),
      opts.content ?? null,
      box ? h('div', { class: 'check-row' },
        box,
        h('label', { for: box.id }, opts.checkbox.label,
          opts.checkbox.hint ? h('span', { class: 'hint' }, opts.checkbox.hint) : null)) : null,
      h('div', { class: 'dialog-actions' }, cancel, accept)));

    let result = { confirmed: false, checked: false };
    cancel.addEventListener('click', () => dlg.close());
    accept.addEventListener('click', () => {
      result = { confirmed: true, checked: box ? box.checked : false };
      dlg.close();
    });
    // A click on the backdrop (the dialog box itself, outside the inner panel) cancels.
    dlg.addEventListener('click', (e) => {
      if (e.target === dlg) dlg.close();
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}
