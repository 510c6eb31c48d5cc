// The Account page (/account): who you are (identity, realm, roles,
// groups), the language of the portal in this browser (the vp_lang cookie,
// read by the server when it renders a page), and personal API tokens:
// list, create (the secret shown once, with a copy button), revoke.

import { api } from '../lib/api.js';
import {
  DEFAULT_EXPIRY_DAYS, LANGUAGES, TOKEN_EXPIRY_DAYS, TOKEN_NAME_MAX, langCookie, storedLang, tokenExpired, tokenFormErrors,
  tokenNameProblem,
} from '../lib/account.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatDateTime, formatList, formatNumber, none } from '../lib/format.js';
import { getLocale, hasKey, t } from '../lib/i18n.js';
import { loadRealms, realmLabel } from '../realms.js';
import { confirmDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';

/**
 * @param {HTMLElement} main
 * @param {{session: {identity: string, realm: string, username: string, roles?: string[], groups?: string[], expires?: string}}} ctx
 */
export function mountAccount(main, ctx) {
  const session = ctx.session;
  const controller = new AbortController();
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: 'account-title' }, t('account.title'));

  // ---- who you are
  const realmCell = h('dd', { 'data-testid': 'account-realm' }, session.realm || none());
  const roleNames = (session.roles ?? []).map((r) => (hasKey(`role.${r}`) ? t(`role.${r}`) : r));
  const who = h('section', { class: 'card', 'aria-labelledby': 'card-who' },
    h('h2', { id: 'card-who' }, icon('user'), t('account.who')),
    h('dl', { class: 'facts' },
      h('dt', null, t('account.username')), h('dd', { 'data-testid': 'account-username' }, session.username || none()),
      h('dt', null, t('account.identity')), h('dd', { 'data-testid': 'account-identity' }, session.identity || none()),
      h('dt', null, t('account.realm')), realmCell,
      h('dt', null, t('account.roles')), h('dd', { 'data-testid': 'account-roles' }, roleNames.length ? formatList(roleNames) : none()),
      h('dt', null, t('account.groups')), h('dd', { 'data-testid': 'account-groups' },
        session.groups?.length ? formatList(session.groups) : t('account.noGroups')),
      h('dt', null, t('account.sessionEnds')), h('dd', { 'data-testid': 'account-expires' }, session.expires ? formatDateTime(session.expires) : none())));
  loadRealms().then((r) => {
    if (session.realm) setText(realmCell, `${realmLabel(r.items, session.realm)} (${session.realm})`);
  }).catch(() => {});

  // ---- language
  const chosen = storedLang(document.cookie);
  const langSelect = h('select', { id: 'account-lang', class: 'input', 'data-testid': 'account-lang', 'aria-describedby': 'account-lang-hint' },
    h('option', { value: '' }, t('account.languageAuto')),
    LANGUAGES.map((l) => h('option', { value: l, lang: l }, t(`lang.${l}`))));
  langSelect.value = chosen;
  const language = h('section', { class: 'card', 'aria-labelledby': 'card-lang' },
    h('h2', { id: 'card-lang' }, icon('globe'), t('account.language')),
    h('div', { class: 'field' },
      h('label', { for: 'account-lang' }, t('account.languageLabel')),
      langSelect,
      h('p', { class: 'hint', id: 'account-lang-hint' }, t('account.languageHint', { lang: t(`lang.${getLocale()}`) }))));
  langSelect.addEventListener('change', () => {
    document.cookie = langCookie(langSelect.value, location.protocol === 'https:');
    // The server renders the page in the chosen language.
    location.reload();
  });

  // ---- API tokens
  const nameIn = h('input', {
    id: 'token-name', class: 'input', type: 'text', autocomplete: 'off', maxlength: String(TOKEN_NAME_MAX * 2), spellcheck: 'false',
    placeholder: t('account.token.namePlaceholder'), 'data-testid': 'token-name', 'aria-describedby': 'token-name-hint token-name-error',
  });
  const nameErr = h('p', { class: 'field-error', id: 'token-name-error', 'data-testid': 'token-name-error', hidden: true });
  const expiryIn = h('select', { id: 'token-expiry', class: 'input', 'data-testid': 'token-expiry', 'aria-describedby': 'token-expiry-error' },
    TOKEN_EXPIRY_DAYS.map((d) => h('option', { value: String(d) }, t('account.token.days', { count: d }))));
  expiryIn.value = String(DEFAULT_EXPIRY_DAYS);
  const expiryErr = h('p', { class: 'field-error', id: 'token-expiry-error', 'data-testid': 'token-expiry-error', hidden: true });
  const formErr = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'token-form-error', hidden: true });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'token-create' }, icon('plus'), t('account.token.create'));
  const form = h('form', { class: 'token-form', 'data-testid': 'token-form', novalidate: true },
    h('div', { class: 'field token-field-name' },
      h('label', { for: 'token-name' }, t('account.token.name')), nameIn,
      h('p', { class: 'hint', id: 'token-name-hint' }, t('account.token.nameHint')), nameErr),
    h('div', { class: 'field token-field-expiry' },
      h('label', { for: 'token-expiry' }, t('account.token.expiry')), expiryIn, expiryErr),
    h('div', { class: 'token-form-actions' }, createBtn),
    formErr);

  const secretIn = h('input', { class: 'input token-secret', type: 'text', readonly: true, 'data-testid': 'token-secret', 'aria-labelledby': 'token-secret-title' });
  const copyBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'token-copy' }, icon('clipboard'), t('account.token.copy'));
  const copyNote = h('span', { class: 'hint', role: 'status', 'data-testid': 'token-copy-status' });
  const secretDone = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'token-secret-done' }, t('account.token.secretDone'));
  const secretTitle = h('h3', { id: 'token-secret-title', tabindex: '-1' });
  const secretBox = h('div', { class: 'token-secret-box', 'data-testid': 'token-secret-box', hidden: true },
    secretTitle,
    h('p', { class: 'token-warning' }, icon('alert'), h('span', null, t('account.token.secretWarning'))),
    h('div', { class: 'token-secret-row' }, secretIn, copyBtn),
    h('p', { class: 'hint' }, t('account.token.usage')),
    h('div', { class: 'token-secret-foot' }, copyNote, secretDone));

  const listState = h('div', { class: 'state-panel', role: 'status', 'data-testid': 'tokens-state' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('account.tokens.loading'));
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table token-table', 'data-testid': 'token-table', hidden: true },
    h('caption', { class: 'visually-hidden' }, t('account.tokens')),
    h('thead', null, h('tr', null,
      [t('account.token.name'), t('account.token.created'), t('account.token.expires'), t('account.token.lastUsed'), ''].map((c, i) =>
        h('th', { scope: 'col', class: i === 4 ? 'c-actions' : null }, c ? c : h('span', { class: 'visually-hidden' }, t('account.token.actions')))))),
    tbody);
  const count = h('span', { class: 'count-pill', 'data-testid': 'token-count', hidden: true });
  const tokensCard = h('section', { class: 'card card-wide', 'aria-labelledby': 'card-tokens', 'data-testid': 'tokens-card' },
    h('h2', { id: 'card-tokens' }, icon('shield'), t('account.tokens'), count),
    h('p', { class: 'muted' }, t('account.tokens.intro')),
    form, secretBox,
    h('h3', { class: 'token-list-title' }, t('account.tokens.yours')),
    listState, h('div', { class: 'table-wrap' }, table));

  main.replaceChildren(h('section', { class: 'page page-account', 'aria-labelledby': 'account-title' },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading)),
    h('div', { class: 'cards account-cards' }, who, language, tokensCard)));

  // ---- tokens: list
  let tokens = [];
  function renderTokens() {
    count.hidden = tokens.length === 0;
    setText(count, formatNumber(tokens.length));
    table.hidden = tokens.length === 0;
    listState.hidden = tokens.length > 0;
    if (tokens.length === 0) listState.replaceChildren(t('account.tokens.empty'));
    const sorted = [...tokens].sort((a, b) => (Date.parse(b.created) || 0) - (Date.parse(a.created) || 0));
    tbody.replaceChildren(...sorted.map((tok) => {
      const expired = tokenExpired(tok);
      const revoke = h('button', {
        type: 'button', class: 'btn btn-sm', 'data-testid': 'token-revoke', 'aria-label': t('account.token.revokeFor', { name: tok.name }),
      }, icon('trash'), t('account.token.revoke'));
      revoke.addEventListener('click', () => revokeToken(tok, revoke));
      return h('tr', { 'data-testid': 'token-row', dataset: { id: tok.id, name: tok.name } },
        h('td', { 'data-label': t('account.token.name'), class: 'token-name' }, tok.name),
        h('td', { 'data-label': t('account.token.created') }, formatDateTime(tok.created)),
        h('td', { 'data-label': t('account.token.expires') }, h('span', null, formatDateTime(tok.expires),
          expired ? h('span', { class: 'tag tag-warn', 'data-testid': 'token-expired' }, t('account.token.expired')) : null)),
        h('td', { 'data-label': t('account.token.lastUsed') }, tok.last_used ? formatDateTime(tok.last_used) : t('account.token.never')),
        h('td', { class: 'c-actions' }, revoke));
    }));
  }

  async function loadTokens() {
    try {
      const got = await api.tokens(controller.signal);
      tokens = Array.isArray(got?.items) ? got.items : [];
      renderTokens();
    } catch (err) {
      if (err?.name === 'AbortError' || err?.status === 401) return;
      const retry = h('button', { type: 'button', class: 'btn btn-sm', onclick: () => loadTokens() }, icon('refresh'), t('common.retry'));
      listState.hidden = false;
      listState.replaceChildren(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'tokens-error' },
        icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('account.tokens.loadFailed', { message: err.message })), retry));
    }
  }

  // ---- tokens: create
  function showFieldErrors(errs) {
    for (const [el, input, msg] of [[nameErr, nameIn, errs.name], [expiryErr, expiryIn, errs.expiry], [formErr, null, errs.form]]) {
      el.hidden = !msg;
      setText(el, msg ?? '');
      if (input) {
        if (msg) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      }
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = nameIn.value;
    const problem = tokenNameProblem(name);
    if (problem) {
      showFieldErrors({ name: t(problem, { max: TOKEN_NAME_MAX }) });
      nameIn.focus();
      return;
    }
    showFieldErrors({});
    createBtn.disabled = true;
    try {
      const got = await api.createToken(name, Number(expiryIn.value));
      nameIn.value = '';
      secretIn.value = got?.secret ?? '';
      setText(secretTitle, t('account.token.createdTitle', { name: got?.token?.name ?? name }));
      setText(copyNote, '');
      secretBox.hidden = false;
      secretTitle.focus();
      if (got?.token) tokens = [...tokens.filter((x) => x.id !== got.token.id), got.token];
      renderTokens();
    } catch (err) {
      if (err?.status === 401) return;
      const errs = tokenFormErrors(err);
      if (errs.form !== undefined) errs.form = t('account.token.createFailed', { message: errs.form || t('error.unknown') });
      showFieldErrors(errs);
      (errs.name ? nameIn : errs.expiry ? expiryIn : createBtn).focus();
    } finally {
      createBtn.disabled = false;
    }
  });

  copyBtn.addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(secretIn.value);
      ok = true;
    } catch {
      secretIn.focus();
      secretIn.select();
    }
    setText(copyNote, t(ok ? 'account.token.copied' : 'account.token.copyFailed'));
  });
  secretIn.addEventListener('focus', () => secretIn.select());
  secretDone.addEventListener('click', () => {
    secretIn.value = '';
    secretBox.hidden = true;
    nameIn.focus();
  });

  // ---- tokens: revoke
  async function revokeToken(tok, btn) {
    const r = await confirmDialog({
      title: t('account.token.revokeTitle', { name: tok.name }),
      body: t('account.token.revokeBody', { name: tok.name }),
      confirmLabel: t('account.token.revokeAccept'),
      danger: true,
      testid: 'token-revoke-dialog',
    });
    if (!r.confirmed) return;
    btn.disabled = true;
    try {
      await api.deleteToken(tok.id);
      tokens = tokens.filter((x) => x.id !== tok.id);
      renderTokens();
      toast(t('account.token.revoked', { name: tok.name }));
      heading.focus();
    } catch (err) {
      btn.disabled = false;
      if (err?.status === 401) return;
      if (err?.status === 404) {
        // Gone already (revoked elsewhere): the list says so.
        tokens = tokens.filter((x) => x.id !== tok.id);
        renderTokens();
      }
      toast(err?.message || t('error.unknown'), { kind: 'error', title: t('account.token.revokeFailed', { name: tok.name }) });
    }
  }

  loadTokens();

  return {
    title: t('account.title'),
    heading,
    // A secret on screen is lost when leaving: that is the point, but say so.
    isDirty: () => !secretBox.hidden,
    confirmLeave: async () => {
      if (secretBox.hidden) return true;
      const r = await confirmDialog({
        title: t('account.token.leaveTitle'),
        body: t('account.token.leaveBody'),
        confirmLabel: t('account.token.leaveAccept'),
        testid: 'token-leave-dialog',
      });
      return r.confirmed;
    },
    unmount: () => controller.abort(),
  };
}
