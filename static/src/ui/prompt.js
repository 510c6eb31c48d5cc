// A dialog that asks for text (ui/dialog.js's openDialog: modal, Escape
// cancels): the text to type into a console, a display's password. The
// field has the focus; Ctrl+Enter (or Enter in a one-line field) accepts.

import { h } from '../lib/dom.js';
import { openDialog } from './dialog.js';

let seq = 0;

/**
 * Ask for text.
 * @param {{title: string, body: string, label: string, acceptLabel: string, hint?: string,
 *          multiline?: boolean, password?: boolean, maxLength?: number, testid?: string}} opts
 * @returns {Promise<string|null>} the text, or null when cancelled
 */
export function promptText(opts) {
  const id = `prompt-${++seq}`;
  const field = opts.multiline
    ? h('textarea', { id: `${id}-field`, class: 'input prompt-text', rows: '7', spellcheck: 'false', 'data-testid': 'prompt-field',
      maxlength: opts.maxLength ? String(opts.maxLength) : null, 'aria-describedby': opts.hint ? `${id}-hint` : null })
    : h('input', { id: `${id}-field`, class: 'input', type: opts.password ? 'password' : 'text', autocomplete: opts.password ? 'off' : null,
      'data-testid': 'prompt-field', maxlength: opts.maxLength ? String(opts.maxLength) : null });
  const ref = openDialog({
    title: opts.title,
    body: opts.body,
    content: h('div', { class: 'field prompt-field' },
      h('label', { for: field.id }, opts.label),
      field,
      opts.hint ? h('p', { id: `${id}-hint`, class: 'hint' }, opts.hint) : null),
    wide: opts.multiline,
    testid: opts.testid ?? 'prompt-dialog',
    testids: { accept: 'prompt-accept', cancel: 'prompt-cancel' },
    acceptLabel: opts.acceptLabel,
    focus: field,
    cancelValue: null,
    canAccept: () => field.value !== '',
    onAccept: () => (field.value === '' ? undefined : field.value),
  });
  field.addEventListener('input', ref.sync);
  field.addEventListener('keydown', (e) => {
    if (opts.multiline && e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      field.form?.requestSubmit();
    }
  });
  return ref.result;
}
