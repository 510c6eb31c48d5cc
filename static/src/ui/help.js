// The help button of a page and the dialog it opens: the area's help page
// (static/src/help) in the portal's language, built from text nodes only.

import { loadHelp } from '../help/index.js';
import { h, icon } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { openDialog } from './dialog.js';

/**
 * A button that opens the help of an area.
 * @param {string|(() => string)} area one of HELP_AREAS, or what chooses one when clicked
 * @returns {HTMLButtonElement}
 */
export function helpButton(area) {
  const btn = /** @type {HTMLButtonElement} */ (h('button', {
    type: 'button', class: 'btn help-button', 'data-testid': 'help-button',
    'aria-haspopup': 'dialog', title: t('help.open'),
  }, icon('help'), h('span', { class: 'btn-label' }, t('help.button'))));
  btn.addEventListener('click', () => {
    void openHelp(typeof area === 'function' ? area() : area);
  });
  return btn;
}

/**
 * Open the help dialog of an area.
 * @param {string} area
 */
export async function openHelp(area) {
  const { page, lang } = await loadHelp(area);
  const body = h('div', { class: 'help-body', lang, 'data-testid': 'help-body' },
    page.body.map((b) => {
      if (typeof b === 'string') return h('p', {}, b);
      if ('h' in b) return h('h3', {}, b.h);
      return h('ul', {}, b.ul.map((item) => h('li', {}, item)));
    }));
  return openDialog({
    title: page.title, content: body, wide: true, testid: 'help-dialog',
    acceptLabel: t('help.close'), cancelLabel: null, focus: 'accept',
  }).result;
}
