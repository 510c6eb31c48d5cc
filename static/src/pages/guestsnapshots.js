// The Snapshots tab of a guest: its snapshots as a tree (indented under
// their parents, the current one marked), and for managers (vm.snapshot)
// create (a task followed in the tasks drawer; with memory when the guest
// runs and this host allows it), revert (confirmed) and delete. What this
// host cannot snapshot (UEFI firmware, raw disks) is said instead of a
// button that would fail; the test driver's limits are said once.

import { request } from '../lib/api.js';
import { events } from '../lib/events.js';
import { h, icon, setText } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { formatDateTime } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { can } from '../lib/vmstate.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { createField, createFormErrors } from '../ui/field.js';
import { toast } from '../ui/toast.js';
import { showTask } from '../ui/tasksdrawer.js';

const enc = encodeURIComponent;

/**
 * Each snapshot's depth in the tree (a root is 0), from the parents.
 * @param {Array<{name: string, parent?: string}>} items
 * @returns {Map<string, number>}
 */
export function snapshotDepths(items) {
  const parent = new Map(items.map((s) => [s.name, s.parent || '']));
  const depth = new Map();
  for (const s of items) {
    let d = 0;
    const seen = new Set();
    for (let p = parent.get(s.name); p && parent.has(p) && !seen.has(p); p = parent.get(p)) {
      seen.add(p);
      d++;
    }
    depth.set(s.name, d);
  }
  return depth;
}

/**
 * A name for a new snapshot: snap-YYYYMMDD-HHMM (local time).
 * @param {Date} now
 */
export function suggestName(now) {
  const p = (n) => String(n).padStart(2, '0');
  return `snap-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}`;
}

/**
 * Mount the Snapshots tab of guest name into container.
 * @param {HTMLElement} container
 * @param {{name: string, vm: any}} opts
 * @returns {{update: (vm: any) => void, unmount: () => void}}
 */
export function mountGuestSnapshots(container, { name, vm }) {
  const controller = new AbortController();
  let current = vm;
  let list = null;
  let state = vm?.state;
  const base = `/vms/${enc(name)}/snapshots`;

  const createButton = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'snapshot-create', hidden: true },
    icon('plus'), t('snapshots.create'));
  const heading = h('h2', { id: 'snapshots-title' }, t('snapshots.title'));
  const note = h('p', { class: 'banner banner-info', 'data-testid': 'snapshots-test-driver', hidden: true }, t('snapshots.testDriver'));
  const refusal = h('p', { class: 'banner banner-warn', 'data-testid': 'snapshots-unsupported', hidden: true });
  const error = h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'snapshots-error', hidden: true });
  const tree = h('ul', { class: 'snapshot-tree', 'data-testid': 'snapshot-tree', 'aria-labelledby': 'snapshots-title' });
  const empty = h('p', { class: 'muted', 'data-testid': 'snapshots-empty', hidden: true }, t('snapshots.empty'));
  container.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'snapshots-title' },
    h('div', { class: 'toolbar' }, heading, createButton), note, refusal, error, tree, empty));

  const canEdit = () => can(current, 'vm.snapshot');

  async function load() {
    try {
      list = await request('GET', base, { signal: controller.signal });
      error.hidden = true;
    } catch (err) {
      if (controller.signal.aborted) return;
      setText(error, t('snapshots.loadFailed', { message: err.message }));
      error.hidden = false;
      return;
    }
    render();
  }

  function render() {
    if (!list) return;
    const caps = list.capabilities;
    const edit = canEdit();
    createButton.hidden = !edit || !caps.create;
    note.hidden = caps.note !== 'test_driver';
    refusal.hidden = caps.create;
    if (!caps.create) setText(refusal, errorText(caps.reason, caps.message));
    empty.hidden = list.items.length > 0;
    const depth = snapshotDepths(list.items);
    tree.replaceChildren(...list.items.map((s) => {
      const tags = [
        s.current ? h('span', { class: 'tag tag-info', 'data-testid': 'snapshot-current' }, t('snapshots.current')) : null,
        h('span', { class: 'tag' }, s.memory ? t('snapshots.withMemory') : t('snapshots.diskOnly')),
      ];
      const actions = edit ? h('div', { class: 'c-actions' },
        h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'snapshot-revert', onclick: () => revert(s) }, t('snapshots.revert')),
        h('button', { type: 'button', class: 'btn btn-sm btn-danger', 'data-testid': 'snapshot-delete', onclick: () => remove(s) }, t('snapshots.delete')))
        : null;
      const li = h('li', {
        class: 'snapshot' + (s.current ? ' is-current' : ''), 'data-testid': 'snapshot-row', 'data-name': s.name,
        'aria-current': s.current ? 'true' : null,
      },
      h('div', { class: 'snapshot-main' },
        h('strong', { class: 'snapshot-name' }, s.name), ...tags,
        h('span', { class: 'muted' }, t('snapshots.taken', { time: formatDateTime(s.created) })),
        s.description ? h('p', { class: 'snapshot-desc' }, s.description) : null),
      actions);
      // Through the CSSOM: the Content-Security-Policy refuses style attributes.
      li.style.setProperty('--depth', String(depth.get(s.name) ?? 0));
      return li;
    }));
  }

  async function revert(s) {
    const { confirmed } = await confirmDialog({
      title: t('snapshots.revertTitle', { snapshot: s.name }),
      body: s.memory ? t('snapshots.revertBodyMemory', { name, snapshot: s.name }) : t('snapshots.revertBody', { name, snapshot: s.name }),
      confirmLabel: t('snapshots.revert'),
      danger: true,
      testid: 'snapshot-revert-dialog',
    });
    if (!confirmed) return;
    try {
      await request('POST', `${base}/${enc(s.name)}/revert`);
      toast(t('snapshots.reverted', { name, snapshot: s.name }));
    } catch (err) {
      toast(err.message, { kind: 'error', title: t('snapshots.revertFailed', { snapshot: s.name }) });
    }
    await load();
  }

  async function remove(s) {
    const { confirmed } = await confirmDialog({
      title: t('snapshots.deleteTitle', { snapshot: s.name }),
      body: s.children.length > 0 ? t('snapshots.deleteBodyChildren', { snapshot: s.name }) : t('snapshots.deleteBody', { snapshot: s.name }),
      confirmLabel: t('snapshots.delete'),
      danger: true,
    });
    if (!confirmed) return;
    try {
      await request('DELETE', `${base}/${enc(s.name)}`);
      toast(t('snapshots.deleted', { snapshot: s.name }));
    } catch (err) {
      toast(err.message, { kind: 'error', title: t('snapshots.deleteFailed', { snapshot: s.name }) });
    }
    await load();
  }

  function openCreate() {
    const caps = list.capabilities;
    const nameField = createField({ name: 'name', label: t('snapshots.field.name'), value: suggestName(new Date()), maxLength: 64, required: true,
      hint: t('snapshots.field.nameHint') });
    const descField = createField({ name: 'description', label: t('snapshots.field.description'), multiline: true, maxLength: 1000 });
    const errs = createFormErrors([nameField, descField]);
    const memory = h('input', {
      type: 'checkbox', id: 'snapshot-memory', 'data-testid': 'field-memory',
      checked: caps.memory, disabled: caps.memory_required || !caps.memory,
    });
    const memoryRow = caps.memory ? h('div', { class: 'check-row' }, memory,
      h('label', { for: 'snapshot-memory' }, t('snapshots.field.memory'),
        h('span', { class: 'hint' }, caps.memory_required ? t('snapshots.memoryRequired') : t('snapshots.memoryHint')))) : null;
    openDialog({
      title: t('snapshots.createTitle', { name }),
      testid: 'snapshot-dialog',
      content: [errs.alert, nameField.el, descField.el, memoryRow].filter(Boolean),
      acceptLabel: t('snapshots.create'),
      focus: nameField.input,
      onAccept: async () => {
        errs.clear();
        const body = { name: nameField.value().trim(), description: descField.value() || undefined };
        if (caps.memory) body.memory = memory.checked;
        try {
          const task = await request('POST', base, { body });
          if (task?.id) showTask(task);
          toast(t('snapshots.started', { snapshot: body.name }));
          return true;
        } catch (err) {
          if (err.code === 'invalid_name') nameField.setError(err.message);
          else if (!errs.show(err)) {
            errs.alert.replaceChildren(h('p', null, err.message));
            errs.alert.hidden = false;
          }
          return undefined;
        }
      },
    });
  }

  createButton.addEventListener('click', () => list && openCreate());
  // A snapshot task of this guest ending changes the list.
  const unsub = events().on('task', (task) => {
    if (task?.kind === 'vm.snapshot.create' && task.target === `vm:${name}` && task.finished) load();
  });
  load();

  return {
    update(vm) {
      const changed = vm?.state !== state;
      current = vm;
      state = vm?.state;
      if (changed) load();
      else render();
    },
    unmount() {
      controller.abort();
      unsub();
    },
  };
}
