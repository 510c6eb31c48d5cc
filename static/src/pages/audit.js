// The audit log (/audit, for administrators and auditors): who did what to
// which resource, newest first. Filters (user, realm, action with presets,
// target, result, time range) live in the URL, so a filtered view is a link;
// older events come on request.

import { api } from '../lib/api.js';
import {
  ACTION_PRESETS, AUDIT_PAGE, RESULT_FILTERS, SCAN_BUDGET, SCAN_PAGE, auditQuery, emptyFilters, filtersFromSearch,
  fromLocalInput, guestOfTarget, hasFilters, presetOf, resultClass, resultCode, searchFromFilters, toLocalInput, untilToLocalInput,
} from '../lib/auditfilter.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatDateTime, formatFullDateTime, formatRelative, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { guestPath } from '../lib/router.js';
import { loadRealms } from '../realms.js';

/** The badge tone of an audit result: "ok", "denied:<code>", "error:<code>". */
export function resultTone(result) {
  switch (resultClass(result)) {
    case 'ok':
      return 'ok';
    case 'denied':
      return 'warn';
    default:
      return 'danger';
  }
}

/** The words of a result badge: "OK", "Denied · forbidden", "Error · conflict". */
export function resultLabel(result) {
  const cls = resultClass(result);
  if (cls === 'other') return String(result ?? '') || none();
  const code = resultCode(result);
  return code ? t(`audit.result.${cls}Code`, { code }) : t(`audit.result.${cls}`);
}

const COLUMNS = ['time', 'actor', 'action', 'target', 'result', 'client'];

/**
 * @param {HTMLElement} main
 */
export function mountAudit(main) {
  const filters = filtersFromSearch(location.search);
  const controller = new AbortController();
  let realms = [];

  // ---- filters
  const field = (id, labelKey, control, hint) => h('div', { class: `field filter-${id}` },
    h('label', { for: `audit-${id}` }, t(labelKey)), control,
    hint ? h('p', { class: 'hint', id: `audit-${id}-hint` }, hint) : null,
    h('p', { class: 'field-error', id: `audit-${id}-error`, 'data-testid': `audit-${id}-error`, hidden: true }));
  const input = (id, value, extra = {}) => h('input', {
    id: `audit-${id}`, name: id, class: 'input', type: 'text', value, autocomplete: 'off', spellcheck: 'false',
    'data-testid': `audit-filter-${id}`, 'aria-describedby': `audit-${id}-hint audit-${id}-error`, ...extra,
  });

  const userIn = input('user', filters.user, { placeholder: t('audit.filter.userPlaceholder') });
  const realmSel = h('select', { id: 'audit-realm', name: 'realm', class: 'input', 'data-testid': 'audit-filter-realm' },
    h('option', { value: '' }, t('audit.filter.anyRealm')));
  const actionIn = input('action', filters.action, { placeholder: 'vm.*' });
  const targetIn = input('target', filters.target, { placeholder: 'vm:web01' });
  const resultSel = h('select', { id: 'audit-result', name: 'result', class: 'input', 'data-testid': 'audit-filter-result' },
    h('option', { value: '' }, t('audit.filter.anyResult')),
    RESULT_FILTERS.map((r) => h('option', { value: r }, t(`audit.filter.result.${r}`))));
  resultSel.value = filters.result;
  const sinceIn = h('input', { id: 'audit-since', name: 'since', class: 'input', type: 'datetime-local', value: toLocalInput(filters.since), 'data-testid': 'audit-filter-since', 'aria-describedby': 'audit-since-error' });
  const untilIn = h('input', { id: 'audit-until', name: 'until', class: 'input', type: 'datetime-local', value: untilToLocalInput(filters.until), 'data-testid': 'audit-filter-until', 'aria-describedby': 'audit-until-error' });

  const presetButtons = new Map();
  const presets = h('div', { class: 'segmented', role: 'group', 'aria-label': t('audit.filter.presets'), 'data-testid': 'audit-presets' },
    [{ id: '', action: '' }, ...ACTION_PRESETS].map((p) => {
      const b = h('button', {
        type: 'button', class: 'seg', 'data-testid': `audit-preset-${p.id || 'all'}`, 'aria-pressed': 'false', dataset: { action: p.action },
      }, t(`audit.preset.${p.id || 'all'}`));
      presetButtons.set(p.id, b);
      return b;
    }));

  const activeCount = h('span', { class: 'filter-count', 'data-testid': 'audit-filter-count' });
  const clearBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'audit-clear' }, icon('close'), t('audit.filter.clear'));
  const applyBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'audit-apply' }, icon('filter'), t('audit.filter.apply'));

  // Narrow windows fold the fields away (the presets stay) until asked for.
  const moreToggle = h('button', {
    type: 'button', class: 'btn btn-sm filter-toggle', 'aria-expanded': 'false', 'aria-controls': 'audit-filter-grid', 'data-testid': 'audit-filter-toggle',
  }, icon('filter'), t('audit.filter.more'));
  const form = h('form', { class: 'card audit-filters', role: 'search', 'aria-label': t('audit.filters'), 'data-testid': 'audit-filters', novalidate: true },
    h('div', { class: 'filter-presets' }, h('span', { class: 'filter-presets-label', 'aria-hidden': 'true' }, t('audit.filter.presets')), presets, activeCount, moreToggle),
    h('div', { class: 'filter-grid', id: 'audit-filter-grid' },
      field('user', 'audit.filter.user', userIn, t('audit.filter.userHint')),
      field('realm', 'audit.filter.realm', realmSel),
      field('action', 'audit.filter.action', actionIn, t('audit.filter.actionHint')),
      field('target', 'audit.filter.target', targetIn, t('audit.filter.targetHint')),
      field('result', 'audit.filter.result', resultSel),
      field('since', 'audit.filter.since', sinceIn),
      field('until', 'audit.filter.until', untilIn),
      h('div', { class: 'filter-actions' }, clearBtn, applyBtn)));

  // ---- results
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: 'audit-title' }, t('audit.title'));
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table audit-table', 'data-testid': 'audit-table' },
    h('caption', { class: 'visually-hidden' }, t('audit.title')),
    h('thead', null, h('tr', null, COLUMNS.map((k) => h('th', { scope: 'col', class: `a-${k}` }, t(`audit.${k}`))))),
    tbody);
  const moreLabel = h('span', null, t('audit.more'));
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'audit-more', hidden: true }, moreLabel);
  const scanned = h('p', { class: 'muted audit-scanned', 'data-testid': 'audit-scanned', hidden: true });
  const shown = h('p', { class: 'list-count', 'data-testid': 'audit-count', 'aria-live': 'polite' });
  const status = h('div', { class: 'state-panel', role: 'status', 'data-testid': 'audit-status' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('audit.loading'));
  const card = h('section', { class: 'card audit-card', hidden: true, 'aria-labelledby': 'audit-title' },
    h('div', { class: 'table-wrap' }, table), h('div', { class: 'card-foot audit-foot' }, scanned, more));
  main.replaceChildren(h('section', { class: 'page page-audit', 'aria-labelledby': 'audit-title' },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading,
      h('p', { class: 'page-summary' }, t('audit.summary')))),
    form, h('div', { class: 'list-meta' }, shown), status, card));

  function renderFilterState() {
    const preset = presetOf(filters.action);
    for (const [id, b] of presetButtons) b.setAttribute('aria-pressed', String(id === preset && (id !== '' || !filters.action)));
    const n = ['user', 'realm', 'action', 'target', 'result', 'since', 'until'].filter((k) => filters[k]).length;
    setText(activeCount, n ? t('audit.filter.active', { count: n }) : '');
    clearBtn.hidden = n === 0;
  }

  function fieldError(id, message) {
    const el = document.getElementById(`audit-${id}-error`);
    const control = document.getElementById(`audit-${id}`);
    if (!el || !control) return;
    el.hidden = !message;
    setText(el, message ?? '');
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }

  /** The filters as the form shows them. */
  function readForm() {
    return {
      ...emptyFilters(),
      user: userIn.value.trim(),
      realm: realmSel.value,
      action: actionIn.value.trim(),
      target: targetIn.value.trim(),
      result: resultSel.value,
      since: fromLocalInput(sinceIn.value),
      until: fromLocalInput(untilIn.value, { endOfMinute: true }),
    };
  }

  function apply(next) {
    Object.assign(filters, next);
    const url = location.pathname + searchFromFilters(filters);
    if (url !== location.pathname + location.search) history.pushState(null, '', url);
    renderFilterState();
    reload();
  }

  function setOpen(open) {
    form.classList.toggle('is-open', open);
    moreToggle.setAttribute('aria-expanded', String(open));
  }
  setOpen(['user', 'realm', 'target', 'result', 'since', 'until'].some((k) => filters[k]));
  moreToggle.addEventListener('click', () => {
    setOpen(!form.classList.contains('is-open'));
    if (form.classList.contains('is-open')) userIn.focus();
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply(readForm());
  });
  for (const sel of [realmSel, resultSel]) sel.addEventListener('change', () => apply(readForm()));
  presets.addEventListener('click', (e) => {
    const b = /** @type {HTMLElement} */ (e.target).closest('button[data-action]');
    if (!b) return;
    actionIn.value = b.dataset.action;
    apply(readForm());
  });
  clearBtn.addEventListener('click', () => {
    for (const el of [userIn, actionIn, targetIn, sinceIn, untilIn]) el.value = '';
    realmSel.value = '';
    resultSel.value = '';
    apply(emptyFilters());
    userIn.focus();
  });

  // ---- rows
  function row(e) {
    const when = new Date(e.time);
    const guest = guestOfTarget(e.target);
    const cells = {
      time: h('div', { class: 'audit-time', title: formatFullDateTime(when) },
        h('time', { datetime: e.time }, formatDateTime(when)),
        h('span', { class: 'audit-ago' }, formatRelative(when))),
      actor: e.actor ? h('span', { class: 'audit-actor' }, e.actor) : h('span', { class: 'muted' }, t('audit.unknownActor')),
      action: h('div', { class: 'audit-action' },
        h('code', null, e.action),
        e.reason ? h('span', { class: 'audit-reason', 'data-testid': 'audit-reason' }, e.reason) : null),
      target: guest
        ? h('a', { href: guestPath(guest), 'data-testid': 'audit-target-link', title: t('audit.openGuest', { name: guest }) }, e.target)
        : (e.target || none()),
      result: h('span', { class: 'badge', 'data-tone': resultTone(e.result), 'data-result': e.result, 'data-testid': 'audit-result-badge' }, resultLabel(e.result)),
      client: e.client ? h('span', { class: 'audit-client' }, e.client) : none(),
    };
    return h('tr', { 'data-testid': 'audit-row', dataset: { id: e.id, action: e.action } },
      COLUMNS.map((k) => h('td', { class: `a-${k}`, 'data-label': t(`audit.${k}`), 'data-testid': `audit-${k}` }, cells[k])));
  }

  // ---- loading
  let cursor = '';
  let loadNo = 0;
  let count = 0;

  function showStatus(kind, ...children) {
    status.hidden = false;
    status.className = 'state-panel' + (kind === 'empty' ? ' empty' : '');
    status.replaceChildren(...children);
  }

  async function reload() {
    // What the results answer (the address they were read for): tests and
    // tools wait for it to match the address after a navigation.
    delete status.dataset.shows;
    cursor = '';
    count = 0;
    tbody.replaceChildren();
    card.hidden = true;
    setText(shown, '');
    fieldError('user', '');
    fieldError('since', '');
    fieldError('until', '');
    const q = auditQuery(filters, { realms: realms.map((r) => r.name) });
    if (q.invalid.length) {
      if (q.invalid.includes('user')) fieldError('user', t('audit.filter.userAmbiguous'));
      if (q.invalid.includes('range')) fieldError('until', t('audit.filter.rangeInvalid'));
      showStatus('empty', icon('filter', 'empty-icon'), h('p', null, t('audit.fixFilters')));
      status.dataset.shows = location.search;
      return;
    }
    showStatus('loading', h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('audit.loading'));
    await load();
  }

  async function load() {
    const no = ++loadNo;
    const q = auditQuery(filters, { realms: realms.map((r) => r.name) });
    more.disabled = true;
    more.setAttribute('aria-busy', 'true');
    try {
      const found = [];
      let lastTime = '';
      let read = 0;
      let next = cursor;
      do {
        const page = await api.audit({ ...q.query, limit: q.scan ? SCAN_PAGE : AUDIT_PAGE, before: next || undefined }, controller.signal);
        if (no !== loadNo) return;
        const items = Array.isArray(page?.items) ? page.items : [];
        read += items.length;
        if (items.length) lastTime = items[items.length - 1].time;
        found.push(...(q.match ? items.filter(q.match) : items));
        next = page?.next ?? '';
      } while (q.scan && next && found.length < AUDIT_PAGE && read < SCAN_BUDGET);
      cursor = next;
      count += found.length;
      tbody.append(...found.map(row));
      more.hidden = !cursor;
      scanned.hidden = !(q.scan && cursor && lastTime);
      if (!scanned.hidden) setText(scanned, t('audit.scanned', { time: formatDateTime(lastTime) }));
      setText(shown, count ? t('audit.count', { count }) : '');
      if (count === 0 && !cursor) {
        card.hidden = true;
        const filtered = hasFilters(filters);
        showStatus('empty', icon(filtered ? 'filter' : 'list', 'empty-icon'),
          h('p', { 'data-testid': 'audit-empty' }, t(filtered ? 'audit.emptyFiltered' : 'audit.empty')),
          filtered ? h('button', { type: 'button', class: 'btn', onclick: () => clearBtn.click() }, t('audit.filter.clear')) : null);
      } else {
        status.hidden = true;
        card.hidden = false;
      }
    } catch (err) {
      if (err?.name === 'AbortError' || err?.status === 401 || no !== loadNo) return;
      const retry = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'audit-retry' }, icon('refresh'), t('common.retry'));
      retry.addEventListener('click', () => (count ? load() : reload()));
      const banner = h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'audit-error' }, icon('alert', 'banner-icon'),
        h('span', { class: 'banner-text' }, t('audit.loadFailed', { message: err.message })), retry);
      if (count) {
        // Keep what is shown; say that the older ones failed.
        status.hidden = false;
        status.className = 'audit-more-error';
        status.replaceChildren(banner);
      } else {
        showStatus('error', banner);
      }
    } finally {
      if (no === loadNo) {
        more.disabled = false;
        more.removeAttribute('aria-busy');
        status.dataset.shows = location.search;
      }
    }
  }
  more.addEventListener('click', () => {
    if (status.classList.contains('audit-more-error')) status.hidden = true;
    load();
  });

  renderFilterState();
  // The realms fill the realm filter and complete bare user names.
  loadRealms().then((r) => {
    realms = r.items;
    realmSel.append(...realms.map((x) => h('option', { value: x.name }, x.label || x.name)));
    if (filters.realm && !realms.some((x) => x.name === filters.realm)) realmSel.append(h('option', { value: filters.realm }, filters.realm));
    realmSel.value = filters.realm;
  }, () => {
    if (filters.realm) {
      realmSel.append(h('option', { value: filters.realm }, filters.realm));
      realmSel.value = filters.realm;
    }
  }).finally(() => {
    if (!controller.signal.aborted) reload();
  });

  return { title: t('audit.title'), heading, unmount: () => controller.abort() };
}

