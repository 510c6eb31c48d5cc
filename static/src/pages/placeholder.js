// Sections that arrive in a later release: a friendly empty state that says
// so and points back to what works today.

import { h, icon } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

const ICON = { templates: 'template', storage: 'disk', networks: 'network' };

/**
 * @param {HTMLElement} main
 * @param {{section: 'templates'|'storage'|'networks'}} ctx
 */
export function mountPlaceholder(main, ctx) {
  const s = ctx.section;
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: `${s}-title` }, t(`nav.${s}`));
  main.replaceChildren(h('section', { class: `page page-${s}`, 'aria-labelledby': `${s}-title` },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading)),
    h('div', { class: 'state-panel empty', 'data-testid': 'coming-soon' },
      icon(ICON[s] ?? 'box', 'empty-icon'),
      h('h2', null, t('soon.title')),
      h('p', null, t(`soon.${s}`)),
      h('a', { class: 'btn', href: '/guests' }, t('soon.back')))));
  return { title: t(`nav.${s}`), heading, unmount() {} };
}

/**
 * An unknown path inside the app.
 * @param {HTMLElement} main
 */
export function mountNotFound(main) {
  const heading = h('h1', { class: 'page-title', tabindex: '-1' }, t('notfound.title'));
  main.replaceChildren(h('section', { class: 'page' },
    h('div', { class: 'state-panel empty', 'data-testid': 'not-found' },
      icon('alert', 'empty-icon'), heading,
      h('p', null, t('notfound.text')),
      h('a', { class: 'btn btn-primary', href: '/guests' }, t('soon.back')))));
  return { title: t('notfound.title'), heading, unmount() {} };
}
