// Form fields that show the API's 422 details inline: a label, the
// control, a hint, and an error line tied to the control
// (aria-describedby, aria-invalid). createForm groups fields, takes an
// ApiError and puts each detail next to its field (lib/formerrors.js);
// details that name no field show in the form's alert above them, so no
// message is dropped. The first field in error gets the focus.

import { h, setText } from '../lib/dom.js';
import { mapDetails } from '../lib/formerrors.js';

let seq = 0;

/**
 * A labelled field.
 * @param {{name: string, label: string, type?: string, value?: string, hint?: string, required?: boolean,
 *          maxLength?: number, placeholder?: string, autocomplete?: string, testid?: string,
 *          multiline?: boolean, options?: Array<{value: string, label: string}>}} o
 *   options: a select; multiline: a textarea
 */
export function createField(o) {
  const id = `f-${++seq}-${o.name}`;
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const common = {
    id, name: o.name, class: 'input', 'data-testid': o.testid ?? `field-${o.name}`,
    required: o.required ?? false, 'aria-describedby': o.hint ? hintId : null,
  };
  let input;
  if (o.options) {
    input = h('select', common, o.options.map((x) => h('option', { value: x.value }, x.label)));
    if (o.value !== undefined) input.value = o.value;
  } else if (o.multiline) {
    input = h('textarea', { ...common, rows: '4', maxlength: o.maxLength ? String(o.maxLength) : null, placeholder: o.placeholder ?? null });
    input.value = o.value ?? '';
  } else {
    input = h('input', {
      ...common, type: o.type ?? 'text', value: o.value ?? '', maxlength: o.maxLength ? String(o.maxLength) : null,
      placeholder: o.placeholder ?? null, autocomplete: o.autocomplete ?? null,
    });
  }
  const error = h('p', { id: errId, class: 'field-error', 'data-testid': `field-error-${o.name}`, hidden: true });
  const el = h('div', { class: 'field', 'data-field': o.name },
    h('label', { for: id }, o.label), input,
    o.hint ? h('p', { id: hintId, class: 'hint' }, o.hint) : null, error);

  function describe(withError) {
    const ids = [o.hint ? hintId : null, withError ? errId : null].filter(Boolean).join(' ');
    if (ids) input.setAttribute('aria-describedby', ids);
    else input.removeAttribute('aria-describedby');
  }

  const field = {
    name: o.name,
    el,
    input,
    value: () => input.value,
    /** Show messages under the field (null or [] clears). */
    setError(messages) {
      const list = Array.isArray(messages) ? messages : messages ? [messages] : [];
      const on = list.length > 0;
      setText(error, list.join(' '));
      error.hidden = !on;
      el.classList.toggle('has-error', on);
      if (on) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      describe(on);
    },
  };
  // Editing a field clears its error: the message was about the old value.
  input.addEventListener('input', () => {
    if (!error.hidden) field.setError(null);
  });
  return field;
}

/**
 * A group of fields with a form-level alert.
 * @param {ReturnType<typeof createField>[]} fields
 * @param {{testid?: string}} [o]
 */
export function createFormErrors(fields, o = {}) {
  const alert = h('div', { class: 'banner banner-error form-alert', role: 'alert', 'data-testid': o.testid ?? 'form-error', hidden: true });
  const names = fields.map((f) => f.name);
  return {
    /** The alert for what names no field: put it above the fields. */
    alert,
    /**
     * Show an API error: each detail next to its field, the rest in the alert.
     * @param {any} err an ApiError (status, message, details)
     * @returns {boolean} whether some field got a message
     */
    show(err) {
      const { byField, general } = mapDetails(err, names);
      for (const f of fields) f.setError(byField.get(f.name) ?? null);
      alert.replaceChildren(...general.map((m) => h('p', null, m)));
      alert.hidden = general.length === 0;
      const first = fields.find((f) => byField.has(f.name));
      first?.input.focus();
      return byField.size > 0;
    },
    clear() {
      for (const f of fields) f.setError(null);
      alert.hidden = true;
      alert.replaceChildren();
    },
    /** name → value of every field. */
    values: () => Object.fromEntries(fields.map((f) => [f.name, f.value()])),
  };
}
