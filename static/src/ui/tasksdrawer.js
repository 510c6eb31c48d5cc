// The tasks drawer: a header button with a badge of the caller's pending
// tasks, and a panel listing their recent tasks (GET /api/v1/tasks), kept
// live by the event stream's "task" events: progress bars, status, the
// error through t(), and Cancel when the task's allowed_actions hold
// task.cancel. Rows are keyed by id and updated in place, so a Cancel
// button keeps its focus while progress arrives.

import { api } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { formatDateTime, formatNumber, formatPercent } from '../lib/format.js';
import { hasKey, t } from '../lib/i18n.js';
import { clampProgress, isPending, mergeTask, pendingCount, sortTasks } from '../lib/tasks.js';
import { can } from '../lib/vmstate.js';
import { toast } from './toast.js';

/** The colour of a status badge. */
const TONE = { queued: 'off', running: 'busy', done: 'ok', failed: 'danger', cancelled: 'warn' };

/** What a task is about, for a person: "Delete web01 and its disks". */
export function taskTitle(task) {
  const key = `tasks.kind.${task.kind}`;
  // The server's target names its kind ("vm:web01"); the title says it ("Delete web01").
  const target = String(task.target ?? '').replace(/^vm:/, '');
  return hasKey(key) ? t(key, { target }) : [task.kind, target].filter(Boolean).join(' ');
}

let current = null;

/**
 * Show a task the caller just started (a 202 answer): it joins the list and
 * the drawer opens on it.
 * @param {any} task
 */
export function showTask(task) {
  current?.show(task);
}

/**
 * Create the drawer (one per app). The shell puts button in the header and
 * panel at the end of the page.
 * @param {{events: ReturnType<typeof import('../lib/events.js').createEvents>}} opts
 */
export function createTasksDrawer({ events }) {
  /** @type {Map<string, any>} */
  const tasks = new Map();
  /** @type {Map<string, ReturnType<typeof taskRow>>} */
  const rows = new Map();
  /** Tasks seen pending here: their end is announced. */
  const watched = new Set();
  /** Tasks whose end was announced (once each). */
  const announced = new Set();
  let loaded = false;
  let loading = null;
  let available = true;

  const badge = h('span', { class: 'tasks-badge', 'data-testid': 'tasks-badge', hidden: true });
  const button = h('button', {
    type: 'button', class: 'tasks-button', 'data-testid': 'tasks-button', 'aria-expanded': 'false',
    'aria-controls': 'tasks-drawer', title: t('tasks.title'),
  }, icon('list'), h('span', { class: 'tasks-button-label' }, t('tasks.title')), badge);

  const closeButton = h('button', { type: 'button', class: 'icon-button', 'data-testid': 'tasks-close', 'aria-label': t('tasks.close') }, icon('close'));
  const heading = h('h2', { id: 'tasks-title', tabindex: '-1' }, t('tasks.title'));
  const live = h('p', { class: 'tasks-live', 'data-testid': 'tasks-live', hidden: true });
  const stateText = h('span', null);
  const retry = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'tasks-retry', hidden: true }, icon('refresh'), t('common.retry'));
  const statePanel = h('div', { class: 'tasks-state', role: 'status', 'data-testid': 'tasks-state' }, stateText, retry);
  const list = h('ul', { class: 'task-list', 'data-testid': 'task-list' });
  const panel = h('aside', {
    id: 'tasks-drawer', class: 'drawer', role: 'dialog', 'aria-labelledby': 'tasks-title', 'data-testid': 'tasks-drawer', hidden: true,
  },
  h('header', { class: 'drawer-head' }, heading, closeButton),
  live, statePanel, list);

  function renderBadge() {
    const n = pendingCount(tasks.values());
    badge.hidden = n === 0;
    setText(badge, formatNumber(n));
    button.setAttribute('aria-label', n > 0 ? t('tasks.buttonPending', { count: n }) : t('tasks.title'));
    button.classList.toggle('has-pending', n > 0);
  }

  function renderList() {
    const order = sortTasks(tasks.values());
    const keep = new Set(order.map((x) => String(x.id)));
    for (const [id, row] of rows) {
      if (!keep.has(id)) {
        row.el.remove();
        rows.delete(id);
      }
    }
    let prev = null;
    for (const task of order) {
      const id = String(task.id);
      let row = rows.get(id);
      if (!row) {
        row = taskRow(id);
        rows.set(id, row);
      }
      row.update(task);
      // Move only what is out of place, so focus and hover survive.
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== row.el) list.insertBefore(row.el, want);
      prev = row.el;
    }
    if (!loaded) return;
    statePanel.hidden = order.length > 0;
    retry.hidden = true;
    setText(stateText, order.length === 0 ? t('tasks.empty') : '');
  }

  function render() {
    renderBadge();
    renderList();
  }

  /** One task in the list. */
  function taskRow(id) {
    const title = h('span', { class: 'task-title', 'data-testid': 'task-title' });
    const status = h('span', { class: 'badge', 'data-testid': 'task-status' });
    const bar = h('progress', { class: 'task-bar', max: '100', 'data-testid': 'task-progress' });
    const percent = h('span', { class: 'task-percent' });
    const progress = h('div', { class: 'task-progress' }, bar, percent);
    const message = h('p', { class: 'task-message', 'data-testid': 'task-message' });
    const error = h('p', { class: 'task-error', role: 'note', 'data-testid': 'task-error' }, icon('alert'), h('span'));
    const meta = h('p', { class: 'task-meta', 'data-testid': 'task-meta' });
    const cancel = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'task-cancel' }, t('tasks.cancel'));
    const el = h('li', { class: 'task', 'data-testid': 'task', dataset: { id } },
      h('div', { class: 'task-head' }, title, status), progress, message, error,
      h('div', { class: 'task-foot' }, meta, cancel));
    let task = null;

    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        const got = await api.cancelTask(id);
        if (got && typeof got === 'object' && got.id !== undefined) merge(got);
      } catch (err) {
        cancel.disabled = false;
        if (err?.status === 401) return;
        toast(err?.message || t('error.unknown'), { kind: 'error', title: t('tasks.cancelFailed', { task: taskTitle(task) }) });
      }
    });

    return {
      el,
      update(next) {
        task = next;
        const pending = isPending(next.status);
        el.dataset.status = next.status;
        setText(title, taskTitle(next));
        status.dataset.tone = TONE[next.status] ?? 'unknown';
        setText(status, hasKey(`tasks.status.${next.status}`) ? t(`tasks.status.${next.status}`) : String(next.status));
        const p = clampProgress(next.progress);
        progress.hidden = !pending;
        if (next.status === 'queued') bar.removeAttribute('value'); // indeterminate while waiting
        else bar.value = p;
        bar.setAttribute('aria-label', t('tasks.progressFor', { task: taskTitle(next) }));
        setText(percent, next.status === 'queued' ? '' : formatPercent(p));
        setText(message, next.message ?? '');
        message.hidden = !next.message || next.status === 'failed';
        const failed = next.error && (next.error.code || next.error.message);
        error.hidden = !failed;
        if (failed) setText(error.lastChild, errorText(next.error.code, next.error.message));
        const when = next.status === 'queued' && next.queue_position
          ? t('tasks.queued', { position: next.queue_position })
          : t(isPending(next.status) ? 'tasks.startedAt' : 'tasks.finishedAt', {
            time: formatDateTime(isPending(next.status) ? (next.started || next.created) : (next.finished || next.created)),
          });
        setText(meta, when);
        const mayCancel = pending && can(next, 'task.cancel');
        cancel.hidden = !mayCancel;
        if (!mayCancel) cancel.disabled = false;
        cancel.setAttribute('aria-label', t('tasks.cancelFor', { task: taskTitle(next) }));
      },
    };
  }

  function merge(task) {
    const id = String(task.id);
    const before = tasks.get(id);
    if (!mergeTask(tasks, task)) return;
    const now = tasks.get(id);
    if (isPending(now.status)) watched.add(id);
    else if (watched.has(id) && (!before || isPending(before.status))) {
      watched.delete(id);
      announce(now);
    }
    render();
  }

  /** Say that a task watched here ended, in a toast. */
  function announce(task) {
    announced.add(String(task.id));
    const what = taskTitle(task);
    if (task.status === 'done') toast(t('tasks.doneToast', { task: what }));
    else if (task.status === 'failed') {
      toast(errorText(task.error?.code, task.error?.message), { kind: 'error', title: t('tasks.failedToast', { task: what }) });
    } else if (task.status === 'cancelled') toast(t('tasks.cancelledToast', { task: what }), { kind: 'info' });
  }

  async function load() {
    if (loading) return loading;
    if (!loaded) {
      statePanel.hidden = false;
      setText(stateText, t('tasks.loading'));
    }
    loading = (async () => {
      try {
        const got = await api.tasks({ limit: 50 });
        available = true;
        button.hidden = false;
        for (const task of got?.items ?? []) merge(task);
        loaded = true;
        render();
      } catch (err) {
        if (err?.status === 401) return;
        if (err?.status === 404 || err?.status === 405) {
          // A server without tasks: no button.
          available = false;
          button.hidden = true;
          return;
        }
        statePanel.hidden = false;
        retry.hidden = false;
        setText(stateText, t('tasks.loadFailed', { message: err?.message || t('error.unknown') }));
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  function isOpen() {
    return !panel.hidden;
  }

  function open({ focus = true } = {}) {
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    if (!loaded) load();
    if (focus) heading.focus();
  }

  function close({ focusButton = true } = {}) {
    if (!isOpen()) return;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (focusButton && !button.hidden) button.focus();
  }

  button.addEventListener('click', () => (isOpen() ? close() : open()));
  closeButton.addEventListener('click', () => close());
  retry.addEventListener('click', () => load());
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      close();
    }
  });

  const offs = [
    events.on('task', (task) => merge(task)),
    events.on('reset', () => load()),
    events.on('status', (s) => {
      // Only a stream that failed for good: the browser's own quick resume is no news.
      live.hidden = s !== 'down';
      setText(live, s === 'down' ? t('tasks.reconnecting') : '');
    }),
  ];

  const self = {
    button,
    panel,
    /** Ask for the list (at start, for the badge). */
    load,
    open,
    close,
    /** A task just started here: list it, watch it, open the drawer on it. */
    show(task) {
      if (!task || task.id === undefined) return;
      const id = String(task.id);
      merge(task);
      // The stream may have brought its end before the 202 answer got here.
      const now = tasks.get(id);
      if (now && !isPending(now.status)) {
        if (!announced.has(id)) announce(now);
      } else watched.add(id);
      if (!available) {
        available = true;
        button.hidden = false;
      }
      open({ focus: false });
      rows.get(String(task.id))?.el.scrollIntoView({ block: 'nearest' });
    },
    destroy() {
      for (const off of offs) off();
      panel.remove();
      if (current === self) current = null;
    },
  };
  current = self;
  return self;
}
