// Running a guest action from the list or the detail page: confirmation for
// the destructive ones, the API call, and the toasts.

import { runClone } from './clone.js';
import { api } from './lib/api.js';
import { t } from './lib/i18n.js';
import { DESTRUCTIVE } from './lib/vmstate.js';
import { confirmDialog } from './ui/dialog.js';
import { showTask } from './ui/tasksdrawer.js';
import { toast } from './ui/toast.js';

/** The label of an action button or menu item: "Start", "Power off"… */
export function actionLabel(action) {
  return t(`action.${action}`);
}

/**
 * Ask before a destructive action.
 * @param {string} name guest
 * @param {string} action
 * @returns {Promise<{confirmed: boolean, volumes: boolean}>}
 */
async function confirmAction(name, action) {
  if (!DESTRUCTIVE.has(action)) return { confirmed: true, volumes: false };
  const r = await confirmDialog({
    title: t(`confirm.${action}.title`, { name }),
    body: t(`confirm.${action}.body`, { name }),
    confirmLabel: t(`confirm.${action}.accept`),
    danger: true,
    checkbox: action === 'delete'
      ? { label: t('confirm.delete.volumes'), hint: t('confirm.delete.volumesHint'), testid: 'confirm-delete-volumes' }
      : undefined,
  });
  return { confirmed: r.confirmed, volumes: r.checked };
}

/**
 * Run action on the guest name.
 * @param {string} name
 * @param {string} action
 * @param {{setBusy: (busy: boolean) => void, onUpdated?: (vm: any) => void, onDeleted?: () => void}} hooks
 * @returns {Promise<boolean>} whether it was done
 */
export async function runAction(name, action, hooks) {
  if (action === 'clone') return runClone(name, hooks); // its own dialog: the pre-check's plan
  const { confirmed, volumes } = await confirmAction(name, action);
  if (!confirmed) return false;
  hooks.setBusy(true);
  try {
    if (action === 'delete') {
      const task = await api.deleteVM(name, { volumes });
      hooks.setBusy(false);
      if (task && typeof task === 'object' && task.id !== undefined) {
        // 202: deleting the volumes runs as a task; the drawer follows it.
        showTask(task);
        toast(t('toast.deleting', { name }), { kind: 'info' });
      } else {
        toast(t(volumes ? 'toast.deletedWithVolumes' : 'toast.deleted', { name }));
      }
      hooks.onDeleted?.();
    } else {
      const vm = await api.vmAction(name, action);
      hooks.setBusy(false);
      toast(t(`toast.done.${action}`, { name }));
      if (vm && typeof vm === 'object') hooks.onUpdated?.(vm);
    }
    return true;
  } catch (err) {
    hooks.setBusy(false);
    if (err?.status === 401) return false; // on the way to the login page
    toast(err?.message || t('error.unknown'), {
      kind: 'error',
      title: t('toast.failed', { action: actionLabel(action), name }),
    });
    return false;
  }
}
