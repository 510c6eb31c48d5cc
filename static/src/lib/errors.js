// API error codes → text a person reads. The codes are API (listed in the
// OpenAPI document); a code with a catalog key `error.code.<code>` is
// translated, any other shows the server's own message. Generic codes whose
// server message says more than a fixed sentence could (bad_request,
// unprocessable, conflict, not_found, invalid_name) keep the server's text.

import { hasKey, t } from './i18n.js';

/** The codes the catalogs translate (each has `error.code.<code>` in en.js). */
export const ERROR_CODES = Object.freeze([
  'unauthorized', 'forbidden', 'csrf', 'bad_origin', 'too_many_requests', 'unavailable', 'busy', 'internal',
  'timeout', 'too_large', 'not_supported', 'token_used', 'token_expired', 'guest_running', 'guest_not_found',
  'name_taken', 'task_not_found', 'interrupted', 'cancelled',
  'pool_not_found', 'pool_exists', 'pool_active', 'pool_inactive', 'volume_not_found', 'volume_exists',
  'volume_shrink', 'insufficient_space', 'network_not_found', 'network_exists', 'network_active', 'network_inactive',
  'no_free_subnet', 'leases_not_supported', 'volume_read_not_supported',
  // volume operations
  'volume_wipe_not_supported', 'volume_upload_not_supported', 'volume_clone_across_not_supported', 'volume_building', 'url_scheme_refused',
  'url_address_refused', 'url_size_unknown', 'url_too_many_redirects',
  // guest clones
  'clone_no_space', 'clone_changed', 'guest_exists',
  // uploads
  'upload_too_large', 'upload_insufficient_space', 'upload_exists', 'upload_not_found', 'upload_locked', 'upload_offset_mismatch',
  'volume_write_not_supported', 'volume_download_not_supported', 'image_references_files',
  // new guests (template_unusable and pool_too_small keep the server's text: it names what is missing)
  'guest_exists', 'guest_name_busy', 'templates_unavailable',
  // guest disks (issue 11; volume_in_use and the other host path codes keep the server's text: it names the guest or the reason)
  'disk_bus_not_hotpluggable', 'disk_ide_full', 'host_path_forbidden', 'host_path_outside_roots', 'pool_not_allowed', 'media_not_iso',
]);

/**
 * The text for an error code: its translation when the catalog has one,
 * else the server's message, else a generic sentence.
 * @param {string|null|undefined} code
 * @param {string|null|undefined} [message] the server's message
 * @returns {string}
 */
export function errorText(code, message) {
  if (code && hasKey(`error.code.${code}`)) return t(`error.code.${code}`);
  return message || t('error.unknown');
}
