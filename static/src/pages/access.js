// The Access tab of a guest: who may use it, with which role. Administrators
// edit (a typeahead over the users and groups of every realm, a role per
// entry, remove/undo) and save with one PATCH after seeing the diff;
// auditors see the list read-only. Edits stay local until saved; a 422
// puts each refused entry's message next to it and keeps the edits.

import { api } from '../lib/api.js';
import { h, icon, setAttr, setText } from '../lib/dom.js';
import { SEARCH_DEBOUNCE_MS, SEARCH_LIMIT, clampQuery, searchDirectory } from '../lib/directory.js';
import {
  DEFAULT_ROLE, GRANT_ROLES, diffGrants, diffSize, errorsByGrant, grantKey, grantLabel, grantsOf, patchFor, patchResultKeys,
} from '../lib/grants.js';
import { t } from '../lib/i18n.js';
import { loadRealms, realmLabel } from '../realms.js';
import { confirmDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import { createTypeahead } from '../ui/typeahead.js';

const roleName = (role) => t(`access.role.${role}`);

/**
 * One entry of the list as edited: the grant now, the server's (null for a
 * new one), whether it is to be removed, and its elements.
 * @typedef {{key: string, grant: any, original: any, removed: boolean, display: string, errors: string[],
 *   li: HTMLElement, select: HTMLSelectElement|null, state: HTMLElement, toggle: HTMLButtonElement|null, error: HTMLElement}} Entry
 */

/**
 * Mount the access panel of the guest name into container.
 * @param {HTMLElement} container
 * @param {{name: string, canEdit: boolean}} opts
 * @returns {{isDirty: () => boolean, confirmLeave: () => Promise<boolean>, unmount: () => void}}
 */
export function mountAccess(container, { name, canEdit }) {
  const controller = new AbortController();
  /** @type {any[]} the server's list */
  let server = [];
  /** @type {Entry[]} in display order */
  let entries = [];
  let realms = [];
  let loaded = false;
  let saving = false;
  let seq = 0;

  // ---- structure
  const heading = h('h2', { id: 'access-title', tabindex: '-1' }, icon('shield'), t('access.title'));
  const intro = h('p', { class: 'muted access-intro' }, t(canEdit ? 'access.intro' : 'access.readOnly', { name }));
  const errorText = h('div', { class: 'banner-text' });
  const errorBanner = h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'access-error', hidden: true },
    icon('alert', 'banner-icon'), errorText);
  const loading = h('div', { class: 'state-panel', role: 'status', 'data-testid': 'access-loading' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('access.loading'));
  const list = h('ul', { class: 'grant-list', 'data-testid': 'grant-list', 'aria-labelledby': 'access-title', hidden: true });
  const empty = h('p', { class: 'grant-empty', 'data-testid': 'access-empty', hidden: true }, t('access.empty'));

  // Adding (administrators)
  let typeahead = null;
  let addBox = null;
  let newRole = null;
  const live = h('div', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'access-live' });
  if (canEdit) {
    const input = h('input', {
      type: 'text', id: 'access-search', class: 'input', maxlength: '128', 'data-testid': 'access-search',
      placeholder: t('access.searchPlaceholder'), 'aria-describedby': 'access-search-hint',
    });
    typeahead = createTypeahead({
      input,
      label: t('access.searchResults'),
      testid: 'access',
      minChars: 1,
      debounce: SEARCH_DEBOUNCE_MS,
      normalize: clampQuery,
      search,
      optionKey: (e) => grantKey(e),
      renderOption,
      onChoose: addEntry,
      texts: {
        searching: t('access.searching'),
        noMatch: (q) => t('access.noMatch', { q }),
        count: (n) => t('access.resultCount', { count: n }),
        failed: (message) => t('access.searchFailed', { message }),
      },
    });
    newRole = h('select', { id: 'access-new-role', class: 'input', 'data-testid': 'access-new-role' },
      GRANT_ROLES.map((r) => h('option', { value: r }, roleName(r))));
    newRole.value = DEFAULT_ROLE;
    addBox = h('div', { class: 'grant-add', 'data-testid': 'access-add' },
      h('div', { class: 'grant-add-search' },
        h('label', { for: 'access-search' }, t('access.addLabel')),
        typeahead.element,
        h('p', { id: 'access-search-hint', class: 'hint' }, t('access.searchHint'))),
      h('div', { class: 'grant-add-role' },
        h('label', { for: 'access-new-role' }, t('access.newRole')),
        newRole,
        h('p', { class: 'hint' }, t('access.newRoleHint'))));
  }

  const pending = h('span', { class: 'save-bar-text', 'data-testid': 'access-pending', 'aria-live': 'polite' });
  const discardBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'access-discard', disabled: true }, t('access.discard'));
  const saveLabel = h('span', null, t('access.save'));
  const saveBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'access-save', disabled: true }, saveLabel);
  const saveBar = canEdit
    ? h('div', { class: 'save-bar', 'data-testid': 'access-save-bar', hidden: true }, pending, h('div', { class: 'save-bar-actions' }, discardBtn, saveBtn))
    : null;

  const roleHelp = h('section', { class: 'card role-help', 'aria-labelledby': 'role-help-title', 'data-testid': 'role-help' },
    h('h2', { id: 'role-help-title' }, t('access.rolesTitle')),
    h('dl', null, GRANT_ROLES.map((r) => [
      h('dt', null, h('span', { class: 'role-chip', dataset: { role: r } }, roleName(r))),
      h('dd', null, t(`access.roleHelp.${r}`)),
    ])),
    h('p', { class: 'muted role-help-foot' }, t('access.rolesFoot')));

  const card = h('section', { class: 'card access-card', 'aria-labelledby': 'access-title', 'data-testid': 'access-card' },
    heading, intro, errorBanner, addBox, loading, list, empty, saveBar);
  container.replaceChildren(h('div', { class: 'access-layout' }, card, roleHelp), live);

  // ---- realms (labels, and the realms to ask one by one)
  loadRealms().then((r) => {
    realms = r.items;
    for (const e of entries) renderEntryMeta(e);
  }, () => {});

  // ---- search
  async function search(q, signal) {
    let names = realms.map((r) => r.name);
    if (names.length === 0) {
      try {
        names = (await loadRealms()).items.map((r) => r.name);
      } catch {
        names = [];
      }
    }
    const result = await searchDirectory(q, {
      realms: names,
      query: (kind, realm) => api.directory(kind, { q, realm, limit: SEARCH_LIMIT }, signal),
    });
    const notes = [];
    if (result.truncated) notes.push({ kind: 'info', text: t('access.truncated'), testid: 'access-truncated' });
    for (const u of result.unavailable) {
      const text = u.realm
        ? t('access.unavailable', { realm: realmLabel(realms, u.realm) })
        : t('access.unavailableAll', { message: u.message });
      notes.push({ kind: 'warn', text, testid: 'access-unavailable' });
    }
    return { items: result.items, notes };
  }

  function renderOption(e) {
    const has = entries.find((x) => x.key === grantKey(e) && !x.removed);
    return [
      h('span', { class: 'combo-kind', title: t(`access.kind.${e.kind}`) }, icon(e.kind === 'group' ? 'group' : 'user')),
      h('span', { class: 'combo-text' },
        h('span', { class: 'combo-main' }, e.display || e.name),
        h('span', { class: 'combo-sub' }, `${grantLabel(e)} · ${t(`access.kind.${e.kind}`)} · ${realmLabel(realms, e.realm)}`)),
      has ? h('span', { class: 'tag tag-info' }, t('access.hasAccess')) : null,
    ];
  }

  // ---- entries
  function makeEntry(grant, original, display = '') {
    const key = grantKey(grant);
    const n = ++seq;
    const main = h('span', { class: 'grant-name', 'data-testid': 'grant-name' });
    const meta = h('span', { class: 'grant-meta' });
    const state = h('span', { class: 'grant-state', 'data-testid': 'grant-state' });
    const error = h('p', { class: 'grant-error', id: `grant-err-${n}`, 'data-testid': 'grant-error', hidden: true });
    let select = null;
    let toggle = null;
    let roleCell;
    if (canEdit) {
      select = h('select', { class: 'input grant-role', 'data-testid': 'grant-role' },
        GRANT_ROLES.map((r) => h('option', { value: r }, roleName(r))));
      // A role this version does not know stays as it is until changed.
      if (!GRANT_ROLES.includes(grant.role)) select.append(h('option', { value: grant.role }, grant.role));
      select.value = grant.role;
      roleCell = select;
      toggle = h('button', { type: 'button', class: 'btn btn-sm grant-toggle', 'data-testid': 'grant-remove' });
    } else {
      roleCell = h('span', { class: 'role-chip', dataset: { role: grant.role }, 'data-testid': 'grant-role-text' },
        GRANT_ROLES.includes(grant.role) ? roleName(grant.role) : grant.role);
    }
    const li = h('li', { class: 'grant', 'data-testid': 'grant', dataset: { key: grantLabel(grant), kind: grant.kind } },
      h('span', { class: 'grant-icon', title: t(`access.kind.${grant.kind}`) }, icon(grant.kind === 'group' ? 'group' : 'user')),
      h('span', { class: 'grant-text' }, main, meta, error),
      h('span', { class: 'grant-side' }, state, roleCell, toggle));
    /** @type {Entry} */
    const e = { key, grant: { ...grant }, original, removed: false, display, errors: [], li, select, state, toggle, error, main, meta };
    if (select) {
      select.addEventListener('change', () => {
        e.grant.role = select.value;
        clearEntryErrors(e);
        changed();
      });
    }
    toggle?.addEventListener('click', () => {
      if (saving) return;
      if (!e.original) {
        // A new entry goes away at once; focus moves to a neighbour or the search.
        const i = entries.indexOf(e);
        entries.splice(i, 1);
        li.remove();
        const next = entries[i] ?? entries[i - 1];
        (next?.toggle ?? document.getElementById('access-search'))?.focus();
        setText(live, t('access.removedLive', { name: label(e) }));
        if (!entries.some((x) => x.errors.length)) hideError();
      } else {
        e.removed = !e.removed;
        clearEntryErrors(e);
        setText(live, t(e.removed ? 'access.willRemoveLive' : 'access.keptLive', { name: label(e) }));
      }
      changed();
    });
    renderEntryMeta(e);
    return e;
  }

  function label(e) {
    return e.display ? `${e.display} (${grantLabel(e.grant)})` : grantLabel(e.grant);
  }

  function renderEntryMeta(e) {
    setText(e.main, e.display || grantLabel(e.grant));
    setText(e.meta, e.display
      ? t('access.entryMetaNamed', { id: grantLabel(e.grant), kind: t(`access.kind.${e.grant.kind}`), realm: realmLabel(realms, e.grant.realm) })
      : t('access.entryMeta', { kind: t(`access.kind.${e.grant.kind}`), realm: realmLabel(realms, e.grant.realm) }));
    if (e.select) e.select.setAttribute('aria-label', t('access.roleFor', { name: label(e) }));
  }

  function renderEntry(e) {
    let state = '';
    let text = '';
    if (e.removed) {
      state = 'removed';
      text = t('access.state.removed');
    } else if (!e.original) {
      state = 'added';
      text = t('access.state.added');
    } else if (e.original.role !== e.grant.role) {
      state = 'changed';
      text = t('access.state.changed', { role: GRANT_ROLES.includes(e.original.role) ? roleName(e.original.role) : e.original.role });
    }
    setAttr(e.li, 'data-state', state || null);
    setText(e.state, text);
    e.state.hidden = !text;
    if (e.select) {
      e.select.disabled = e.removed || saving;
    }
    if (e.toggle) {
      const undo = e.removed;
      e.toggle.replaceChildren(icon(undo ? 'undo' : 'trash'), h('span', null, t(undo ? 'access.undo' : 'access.remove')));
      e.toggle.setAttribute('aria-label', t(undo ? 'access.undoFor' : 'access.removeFor', { name: label(e) }));
      e.toggle.dataset.testid = undo ? 'grant-undo' : 'grant-remove';
      e.toggle.disabled = saving;
    }
    const hasError = e.errors.length > 0;
    e.li.classList.toggle('has-error', hasError);
    e.error.hidden = !hasError;
    setText(e.error, e.errors.join(' '));
    if (e.select) {
      setAttr(e.select, 'aria-invalid', hasError ? 'true' : null);
      setAttr(e.select, 'aria-describedby', hasError ? e.error.id : null);
    }
  }

  function clearEntryErrors(e) {
    e.errors = [];
    if (!entries.some((x) => x.errors.length)) hideError();
  }

  /** The list as edited (removed entries left out). */
  function draft() {
    return entries.filter((e) => !e.removed).map((e) => e.grant);
  }

  function diff() {
    return diffGrants(server, draft());
  }

  function isDirty() {
    return loaded && diffSize(diff()) > 0;
  }

  function changed() {
    for (const e of entries) renderEntry(e);
    const present = entries.length > 0;
    list.hidden = !present;
    empty.hidden = present || !loaded;
    if (saveBar) {
      const n = diffSize(diff());
      saveBar.hidden = !loaded;
      setText(pending, n ? t('access.unsaved', { count: n }) : t('access.noChanges'));
      saveBar.classList.toggle('is-dirty', n > 0);
      saveBtn.disabled = n === 0 || saving;
      discardBtn.disabled = n === 0 || saving;
    }
  }

  function setServer(grants) {
    server = grants;
    const displays = new Map(entries.map((e) => [e.key, e.display]));
    entries = grants.map((g) => makeEntry(g, g, displays.get(grantKey(g)) ?? ''));
    list.replaceChildren(...entries.map((e) => e.li));
    loaded = true;
    loading.hidden = true;
    changed();
  }

  function addEntry(found) {
    if (saving) return;
    const key = grantKey(found);
    const existing = entries.find((e) => e.key === key);
    const role = newRole?.value ?? DEFAULT_ROLE;
    typeahead?.clear();
    if (existing) {
      if (existing.removed) {
        existing.removed = false;
        existing.grant.role = role;
        if (existing.select) existing.select.value = role;
        if (found.display && !existing.display) existing.display = found.display;
        renderEntryMeta(existing);
        setText(live, t('access.addedLive', { name: label(existing), role: roleName(role) }));
        changed();
      } else {
        setText(live, t('access.already', { name: label(existing) }));
      }
      flash(existing.li);
      return;
    }
    const e = makeEntry({ kind: found.kind, realm: found.realm, name: found.name, role }, null, found.display || '');
    entries.push(e);
    list.append(e.li);
    changed();
    flash(e.li);
    setText(live, t('access.addedLive', { name: label(e), role: roleName(role) }));
  }

  function flash(li) {
    li.classList.remove('flash');
    // Restart the animation.
    void li.offsetWidth;
    li.classList.add('flash');
    li.scrollIntoView({ block: 'nearest' });
  }

  function showError(message, items = []) {
    errorBanner.hidden = false;
    errorText.replaceChildren(h('p', null, message));
    if (items.length) errorText.append(h('ul', { class: 'banner-list' }, items.map((m) => h('li', null, m))));
  }

  function hideError() {
    errorBanner.hidden = true;
    errorText.replaceChildren();
  }

  // ---- load
  async function load() {
    try {
      const answer = await api.vmAccess(name, controller.signal);
      setServer(grantsOf(answer));
      hideError();
    } catch (err) {
      if (err?.name === 'AbortError' || err?.status === 401) return;
      loading.hidden = true;
      showError(t('access.loadFailed', { message: err.message }));
      const retry = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'access-retry' }, icon('refresh'), t('common.retry'));
      retry.addEventListener('click', () => {
        hideError();
        loading.hidden = false;
        load();
      });
      errorText.append(retry);
    }
  }

  // ---- save
  function diffContent(d) {
    const who = (g) => {
      const e = entries.find((x) => x.key === grantKey(g));
      return e ? label(e) : grantLabel(g);
    };
    const kindIcon = (g) => icon(g.kind === 'group' ? 'group' : 'user');
    const section = (kind, items, text) => (items.length
      ? h('section', { class: `diff-section diff-${kind}`, 'data-testid': `diff-${kind}` },
        h('h3', null, t(`access.diff.${kind}`), h('span', { class: 'count-pill' }, String(items.length))),
        h('ul', null, items.map((g) => h('li', { 'data-testid': 'diff-item', dataset: { key: grantLabel(g) } }, kindIcon(g), h('span', null, text(g))))))
      : null);
    return h('div', { class: 'diff', 'data-testid': 'access-diff' },
      section('added', d.added, (g) => t('access.diff.addedItem', { name: who(g), role: roleName(g.role) })),
      section('changed', d.changed, (g) => t('access.diff.changedItem', { name: who(g), from: roleName(g.from), to: roleName(g.role) })),
      section('removed', d.removed, (g) => t('access.diff.removedItem', { name: who(g), role: roleName(g.role) })));
  }

  /** Does anyone lose access or rights with this diff? */
  function losesAccess(d) {
    const rank = (r) => GRANT_ROLES.indexOf(r);
    return d.removed.length > 0 || d.changed.some((g) => rank(g.role) < rank(g.from));
  }

  function setSaving(b) {
    saving = b;
    saveBtn.setAttribute('aria-busy', String(b));
    setText(saveLabel, t(b ? 'access.saving' : 'access.save'));
    if (newRole) newRole.disabled = b;
    const input = document.getElementById('access-search');
    if (input) input.disabled = b;
    changed();
  }

  async function save() {
    const d = diff();
    if (diffSize(d) === 0 || saving) return;
    const { confirmed } = await confirmDialog({
      title: t('access.diff.title', { name }),
      body: t(losesAccess(d) ? 'access.diff.bodyLoss' : 'access.diff.body'),
      content: diffContent(d),
      confirmLabel: t('access.diff.accept'),
      wide: true,
      testid: 'access-diff-dialog',
    });
    if (!confirmed) return;
    const patch = patchFor(d);
    const base = server;
    setSaving(true);
    try {
      const answer = await api.patchVMAccess(name, patch);
      setSaving(false);
      for (const e of entries) e.errors = [];
      setServer(grantsOf(answer));
      hideError();
      toast(t('access.saved', { name }));
      heading.focus();
    } catch (err) {
      setSaving(false);
      if (err?.status === 401) return;
      if (err?.status === 422) {
        const { byKey, other } = errorsByGrant(patchResultKeys(base, patch), err.details);
        let first = null;
        for (const e of entries) {
          e.errors = byKey.get(e.key) ?? [];
          if (e.errors.length && !first) first = e;
        }
        changed();
        showError(t('access.invalid'), other);
        (first?.select ?? first?.toggle)?.focus();
        return;
      }
      showError(t('access.saveFailed', { message: err?.message || t('error.unknown') }));
    }
  }

  saveBtn.addEventListener('click', save);
  discardBtn.addEventListener('click', () => {
    for (const e of entries) e.errors = [];
    hideError();
    setServer(server);
    setText(live, t('access.discarded'));
  });

  load();

  return {
    isDirty,
    async confirmLeave() {
      if (!isDirty()) return true;
      const n = diffSize(diff());
      const { confirmed } = await confirmDialog({
        title: t('access.leave.title'),
        body: t('access.leave.body', { count: n, name }),
        confirmLabel: t('access.leave.accept'),
        cancelLabel: t('access.leave.cancel'),
        danger: true,
        testid: 'leave-dialog',
      });
      return confirmed;
    },
    unmount() {
      controller.abort();
      typeahead?.destroy();
    },
  };
}
