// Cloning a guest from the list or the detail page: the pre-check (a dry
// run: "Verifying guest disks…"), a dialog with the plan (per disk: from →
// to, size, whether it fits, and that the access grants travel with the
// clone), then the task in the tasks drawer.

import { api } from './lib/api.js';
import { h, replaceChildren, setText } from './lib/dom.js';
import { errorText } from './lib/errors.js';
import { formatBytes } from './lib/format.js';
import { t } from './lib/i18n.js';
import { openDialog } from './ui/dialog.js';
import { showTask } from './ui/tasksdrawer.js';
import { toast } from './ui/toast.js';

/** "pool/volume" of one side of a disk, or its path. */
function place(pool, volume, path) {
  return pool ? `${pool}/${volume}` : path || '';
}

/**
 * The plan as a table: one row per disk.
 * @param {any} plan
 */
export function planTable(plan) {
  const rows = (plan.disks || []).map((d) => {
    const from = place(d.source_pool, d.source_volume, d.source_path);
    let to;
    if (d.action === 'share') to = t('clone.shared', { name: plan.source });
    else if (d.action === 'link') to = `${place(d.dest_pool, d.dest_volume, '')} (${t('clone.linked')})`;
    else to = place(d.dest_pool, d.dest_volume, '');
    return h('tr', { 'data-testid': 'clone-disk', 'data-fits': String(!!d.fits), 'data-fallback': String(!!d.fallback) },
      h('td', null, d.target || ''),
      h('td', { class: 'mono' }, from),
      h('td', { class: 'mono' }, to, d.reason ? h('div', { class: 'hint', 'data-testid': 'clone-reason' }, d.reason) : null),
      h('td', null, d.size ? formatBytes(d.size) : ''),
      h('td', null, d.fits ? t('common.yes') : t('common.no')));
  });
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data-table', 'data-testid': 'clone-plan' },
      h('thead', null, h('tr', null,
        h('th', null, t('clone.disk')), h('th', null, t('clone.from')), h('th', null, t('clone.to')),
        h('th', null, t('clone.size')), h('th', null, t('clone.fits')))),
      h('tbody', null, ...rows)));
}

/**
 * Clone the guest name: dry run, plan dialog, task.
 * @param {string} name
 * @param {{setBusy: (busy: boolean) => void}} hooks
 * @returns {Promise<boolean>} whether a clone was started
 */
export async function runClone(name, hooks) {
  const status = h('p', { class: 'state-panel', role: 'status', 'data-testid': 'clone-verifying' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('clone.verifying'));
  const nameInput = /** @type {HTMLInputElement} */ (h('input', {
    type: 'text', id: 'clone-name', class: 'input', maxlength: '64', autocomplete: 'off', 'data-testid': 'clone-name',
  }));
  const field = h('div', { class: 'field', hidden: true }, h('label', { for: 'clone-name' }, t('clone.name')), nameInput);
  const planBox = h('div', { 'data-testid': 'clone-plan-box' });
  const errorLine = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'clone-error', hidden: true });
  let plan = null;
  hooks.setBusy(true);
  const ref = openDialog({
    title: t('clone.title', { name }),
    content: [status, field, planBox, errorLine],
    wide: true,
    testid: 'clone-dialog',
    acceptLabel: t('clone.accept'),
    testids: { accept: 'clone-accept', cancel: 'clone-cancel' },
    focus: 'cancel',
    cancelValue: null,
    canAccept: () => !!plan && plan.fits && nameInput.value.trim() !== '',
    onAccept: async () => {
      errorLine.hidden = true;
      try {
        return await api.cloneVM(name, { name: nameInput.value.trim() });
      } catch (err) {
        if (err?.status === 401) return null;
        errorLine.hidden = false;
        setText(errorLine, errorText(err?.code, err?.message));
        return undefined; // stays open: the name may be changed
      }
    },
  });
  nameInput.addEventListener('input', () => ref.sync());
  api.cloneVM(name, { dry_run: true }).then((p) => {
    plan = p;
    status.hidden = true;
    field.hidden = false;
    nameInput.value = p.name;
    const notes = [];
    if (!p.fits) notes.push(h('p', { class: 'banner banner-error', 'data-testid': 'clone-no-space' }, t('clone.noSpace')));
    else if (p.disks.some((d) => d.fallback)) notes.push(h('p', { class: 'banner', 'data-testid': 'clone-fallback' }, t('clone.fallback')));
    notes.push(planTable(p));
    notes.push(h('p', { class: 'hint', 'data-testid': 'clone-grants' },
      p.grants > 0 ? t('clone.grants', { name, count: p.grants }) : t('clone.noGrants', { name })));
    notes.push(h('p', { class: 'hint' }, t('clone.macs')));
    replaceChildren(planBox, ...notes);
    ref.sync();
    if (p.fits) nameInput.focus();
  }, (err) => {
    status.hidden = true;
    errorLine.hidden = false;
    setText(errorLine, `${t('clone.failed', { name })}: ${errorText(err?.code, err?.message)}`);
  });
  const task = await ref.result;
  hooks.setBusy(false);
  if (!task) return false;
  showTask(task);
  toast(t('toast.done.clone', { name }), { kind: 'info' });
  return true;
}
