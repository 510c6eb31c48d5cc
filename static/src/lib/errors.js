// API error codes → text a person reads. The codes are API: every code the
// server defines is in apicodes.json (kept equal to the server's registry by
// a Go test) and has a sentence `error.code.<code>` in every catalog (the
// catalogs' tests check). For the codes in DETAIL_CODES the server's own
// message names what is wrong (the field, the guests using a pool): English
// shows it as it is, other languages after the translated sentence.

import API_CODES from './apicodes.json' with { type: 'json' };
import { getLocale, hasKey, t } from './i18n.js';

/** Every code the server may answer; each has `error.code.<code>` in the catalogs. */
export const ERROR_CODES = Object.freeze([...API_CODES]);

/** Codes whose server message says more than the fixed sentence can. */
export const DETAIL_CODES = new Set([
  'bad_request', 'unprocessable', 'conflict', 'not_found', 'invalid_name', 'invalid_capacity', 'invalid_subnet',
  'invalid_dhcp_range', 'invalid_vlan', 'invalid_pool_path', 'invalid_pool_source', 'invalid_template', 'invalid_grants',
  'cloud_init_invalid', 'guest_spec_invalid', 'import_invalid', 'vm_create_bad_override', 'template_unusable',
  'pool_too_small', 'pool_setup_failed', 'pool_in_use', 'network_in_use', 'volume_in_use', 'guest_state', 'pool_state',
  'volume_delete_failed', 'url_bad_status', 'url_fetch_failed', 'subnet_overlap', 'no_display', 'unknown_state',
  'unknown_sort', 'too_many_grants',
  // guest settings (issue 11): the message names the field or the reason
  'settings_invalid', 'live_change_failed',
  // NICs and snapshots: the message names the guest using a MAC, or the disk
  'mac_in_use', 'snapshot_disk_format_unsupported', 'nic_source_not_allowed', 'device_change_refused', 'snapshot_failed',
  // disks: the message names the volume, the target or the reason
  'disk_already_attached', 'disk_bus_unsupported', 'disk_bus_not_hotpluggable', 'disk_detach_pending', 'disk_target_in_use',
  'invalid_disk_bus', 'invalid_disk_target', 'host_path_image_references', 'cdrom_tray_locked', 'host_path_invalid',
  // statistics and tokens: the message names the field or the permission
  'stats_bad_query', 'token_bad_permission',
  // consoles: the message says where the console is open, or which limit
  'console_busy', 'console_limit',
]);

/**
 * The text for an error code: its translation when the catalog has one,
 * else the server's message, else a generic sentence.
 * @param {string|null|undefined} code
 * @param {string|null|undefined} [message] the server's message
 * @returns {string}
 */
export function errorText(code, message) {
  if (code && hasKey(`error.code.${code}`)) {
    if (!message || !DETAIL_CODES.has(code)) return t(`error.code.${code}`);
    return getLocale() === 'en' ? message : t('error.withDetail', { text: t(`error.code.${code}`), detail: message });
  }
  return message || t('error.unknown');
}
