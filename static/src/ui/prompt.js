// A dialog that asks for text (native modal <dialog>: focus trapped, Escape
// cancels): the text to type into a console, a display's password. The
// field has the focus; Ctrl+Enter (or Enter in a one-line field) accepts.

import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

let seq = 0;

/**
 * Ask for text.
 * @param {{title: string, body: string, label: string, acceptLabel: string, hint?: string,
 *          multiline?: boolean, password?: boolean, maxLength?: number, testid?: string}} opts
 * @returns {Promise<string|null>} the text, or null when cancelled
 */
export function promptText(opts) {
  return new Promise((resolve) => {
    const id = `prompt-${++seq}`;
    const field = opts.multiline
      ? h('textarea', { id: `${id}-field`, class: 'input prompt-text', rows: '7', spellcheck: 'false', 'data-testid': 'prompt-field',
        maxlength: opts.maxLength ? String(opts.maxLength) : null, 'aria-describedby': opts.hint ? `${id}-hint` : null })
      : h('input', { id: `${id}-field`, class: 'input', type: opts.password ? 'password' : 'text', autocomplete: opts.password ? 'off' : null,
        'data-testid': 'prompt-field', maxlength: opts.maxLength ? String(opts.maxLength) : null });
    const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'prompt-cancel' }, t('common.cancel'));
    const accept = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'prompt-accept' }, opts.acceptLabel);
    const form = h('form', { class: 'dialog-inner', method: 'dialog' },
      h('h2', { id: `${id}-title`, class: 'dialog-title' }, opts.title),
      h('p', { id: `${id}-body`, class: 'dialog-body' }, opts.body),
      h('div', { class: 'field prompt-field' },
        h('label', { for: field.id }, opts.label),
        field,
        opts.hint ? h('p', { id: `${id}-hint`, class: 'hint' }, opts.hint) : null),
      h('div', { class: 'dialog-actions' }, cancel, accept));
    const dlg = h('dialog', {
      class: 'dialog' + (opts.multiline ? ' dialog-wide' : ''),
      'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-body`, 'data-testid': opts.testid ?? 'prompt-dialog',
    }, form);

    let result = null;
    const sync = () => {
      accept.disabled = field.value === '';
    };
    sync();
    field.addEventListener('input', sync);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (field.value === '') return;
      result = field.value;
      dlg.close();
    });
    field.addEventListener('keydown', (e) => {
      if (opts.multiline && e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('click', (e) => {
      if (e.target === dlg) dlg.close();
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    field.focus();
  });
}
