// The login page (/login): realm, username, password. Tells apart bad
// credentials, throttling (with a countdown from Retry-After), a realm that
// is down and a network failure. On success it returns to ?next= (a path of
// this site) or to the guest list.

import { api } from '../lib/api.js';
import { h, icon } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { safeNext } from '../lib/router.js';
import { loadRealms } from '../realms.js';

export const REALM_KEY = 'virtportal.realm';

function remembered() {
  try {
    return localStorage.getItem(REALM_KEY);
  } catch {
    return null;
  }
}

function remember(realm) {
  try {
    localStorage.setItem(REALM_KEY, realm);
  } catch {
    // no storage: nothing to remember
  }
}

/**
 * The message for a failed login.
 * @param {{status: number, message?: string}} err
 * @param {string} [realm] the label of the realm the user signed in with
 *   (named when that realm is unavailable)
 * @returns {string}
 */
export function loginErrorMessage(err, realm) {
  switch (err.status) {
    case 0:
      return t('error.network');
    case 401:
      return t('login.error.credentials');
    case 503:
      return realm ? t('login.error.unavailableRealm', { realm }) : t('login.error.unavailable');
    case 400:
      return err.message || t('login.error.bad');
    default:
      return err.message || t('error.unknown');
  }
}

/**
 * @param {HTMLElement} root
 * @param {{product: string, version: string}} info
 */
export function mountLogin(root, info) {
  const params = new URLSearchParams(location.search);
  // Back to where the user was going; the guest list by default.
  const wanted = safeNext(params.get('next'), location.origin);
  const next = wanted === '/' ? '/guests' : wanted;
  const reason = params.get('reason');

  const realm = h('select', { id: 'login-realm', name: 'realm', class: 'input', 'data-testid': 'login-realm' });
  const realmField = h('div', { class: 'field', hidden: true, 'data-testid': 'login-realm-field' },
    h('label', { for: 'login-realm' }, t('login.realm')), realm);
  const username = h('input', {
    id: 'login-username', name: 'username', class: 'input', type: 'text', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', required: true, 'data-testid': 'login-username',
  });
  const password = h('input', {
    id: 'login-password', name: 'password', class: 'input', type: 'password', autocomplete: 'current-password',
    required: true, 'data-testid': 'login-password', 'aria-describedby': 'login-caps',
  });
  const caps = h('p', { id: 'login-caps', class: 'hint hint-warn', hidden: true }, t('login.capsLock'));
  const submitLabel = h('span', null, t('login.submit'));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'login-submit' }, submitLabel);
  const errorText = h('span', { class: 'banner-text', 'data-testid': 'login-error-text' });
  const errorBox = h('div', { class: 'banner banner-error', 'data-testid': 'login-error', hidden: true },
    icon('alert', 'banner-icon'), errorText);
  const infoBox = reason === 'expired' || reason === 'logout'
    ? h('div', { class: 'banner banner-info', role: 'status', 'data-testid': 'login-info' },
      h('span', { class: 'banner-text' }, t(reason === 'expired' ? 'login.info.expired' : 'login.info.loggedOut')))
    : null;
  // Announcements go through their own live region, so that the countdown
  // can tick in the visible message without being read out every second.
  const live = h('div', { class: 'visually-hidden', role: 'alert', 'aria-live': 'assertive', 'data-testid': 'login-live' });

  const form = h('form', { class: 'login-form', novalidate: true, 'data-testid': 'login-form', 'aria-labelledby': 'login-title' },
    realmField,
    h('div', { class: 'field' }, h('label', { for: 'login-username' }, t('login.username')), username),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, t('login.password')), password, caps),
    submit);

  root.replaceChildren(h('main', { class: 'login-page' },
    h('div', { class: 'login-card' },
      h('div', { class: 'brand brand-login' },
        h('img', { src: `/static/logo.svg${info.version ? `?v=${encodeURIComponent(info.version)}` : ''}`, alt: '', width: '40', height: '40', class: 'brand-logo' }),
        h('span', { class: 'brand-name', 'data-testid': 'product-name' }, info.product)),
      h('h1', { id: 'login-title', class: 'login-title' }, t('login.title')),
      h('p', { class: 'muted login-sub' }, t('login.subtitle')),
      infoBox, errorBox, form),
    h('p', { class: 'login-foot muted' }, info.version ? t('login.version', { product: info.product, version: info.version }) : null),
    live));
  document.title = `${t('login.title')} · ${info.product}`;
  username.focus();

  let countdown = 0;
  let busy = false;

  function showError(message, { announce = true } = {}) {
    errorBox.hidden = false;
    errorText.textContent = message;
    if (infoBox) infoBox.hidden = true;
    if (announce) live.textContent = message;
  }
  function clearError() {
    errorBox.hidden = true;
    errorText.textContent = '';
    username.removeAttribute('aria-invalid');
    password.removeAttribute('aria-invalid');
  }
  function setBusy(b) {
    busy = b;
    submit.disabled = b || countdown > 0;
    submit.setAttribute('aria-busy', String(b));
    submitLabel.textContent = t(b ? 'login.submitting' : 'login.submit');
  }

  function throttle(seconds) {
    clearInterval(countdown);
    let left = Math.max(1, Math.round(seconds));
    const until = Date.now() + left * 1000;
    showError(t('login.error.throttled', { seconds: left }));
    submit.disabled = true;
    countdown = setInterval(() => {
      left = Math.ceil((until - Date.now()) / 1000);
      if (left > 0) {
        showError(t('login.error.throttled', { seconds: left }), { announce: false });
        return;
      }
      clearInterval(countdown);
      countdown = 0;
      submit.disabled = busy;
      showError(t('login.error.tryAgain'));
      password.focus();
    }, 250);
  }

  // Realms: filled from the API; hidden when there is only one.
  let realms = null;
  async function fillRealms() {
    const r = await loadRealms();
    const items = r.items.length ? r.items : [{ name: r.default || 'local', label: '' }];
    realm.replaceChildren(...items.map((it) => h('option', { value: it.name }, it.label || it.name)));
    const saved = remembered();
    realm.value = items.some((it) => it.name === saved) ? saved : (r.default && items.some((it) => it.name === r.default) ? r.default : items[0].name);
    realmField.hidden = items.length < 2;
    realms = items;
    return items;
  }
  // The last choice is kept for the next visit (also when signing in fails).
  realm.addEventListener('change', () => remember(realm.value));
  const realmsLoaded = fillRealms().catch((err) => {
    showError(loginErrorMessage(err));
    return null;
  });

  // Already signed in (a second tab, the back button): go on.
  api.session().then(() => location.replace(next), () => {});

  password.addEventListener('keyup', (e) => {
    caps.hidden = !(e.getModifierState && e.getModifierState('CapsLock'));
  });
  password.addEventListener('blur', () => {
    caps.hidden = true;
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || countdown) return;
    clearError();
    if (!username.value.trim()) {
      username.setAttribute('aria-invalid', 'true');
      showError(t('login.error.noUsername'));
      username.focus();
      return;
    }
    if (!password.value) {
      password.setAttribute('aria-invalid', 'true');
      showError(t('login.error.noPassword'));
      password.focus();
      return;
    }
    setBusy(true);
    let chosen = realm.value;
    try {
      if (!realms) {
        await realmsLoaded;
        if (!realms) await fillRealms();
      }
      chosen = realm.value;
      await api.login(chosen, username.value.trim(), password.value);
      remember(realm.value);
      location.replace(next);
      // Keep the button busy while the browser leaves.
    } catch (err) {
      setBusy(false);
      if (err?.status === 429) {
        password.value = '';
        if (err.retryAfter) throttle(err.retryAfter);
        else showError(t('login.error.throttledNoTime'));
        return;
      }
      const label = realms?.find((it) => it.name === chosen)?.label || chosen;
      showError(loginErrorMessage(err, label));
      if (err?.status === 401) {
        username.setAttribute('aria-invalid', 'true');
        password.setAttribute('aria-invalid', 'true');
        password.value = '';
        password.focus();
      } else if (err?.status === 503 && !realmField.hidden) {
        realm.focus();
      } else {
        submit.focus();
      }
    }
  });
}
