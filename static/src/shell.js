// The app shell: checks the session, draws the header (product, host
// summary, navigation, user menu) and routes between pages with
// history.pushState. Deep links work because the server serves app.html for
// every UI path.

import { adopt, api, configure } from './lib/api.js';
import { takeEarly } from './lib/early.js';
import { h, icon, setText } from './lib/dom.js';
import { formatList } from './lib/format.js';
import { hasKey, t } from './lib/i18n.js';
import { createPoller } from './lib/poller.js';
import { hostPath, matchRoute, navFor } from './lib/router.js';
import { currentTheme, toggleTheme } from './lib/theme.js';
import { events } from './lib/events.js';
import { loadPage } from './pages/index.js';
import { closeMenu, toggleMenu, updateMenu } from './ui/menu.js';
import { createTasksDrawer } from './ui/tasksdrawer.js';
import { toast } from './ui/toast.js';

const NAV_ICON = { guests: 'box', templates: 'template', storage: 'disk', networks: 'network', host: 'server', audit: 'list' };

/** /login?next=<here>[&reason=…] */
function loginURL(reason) {
  const p = new URLSearchParams();
  const here = location.pathname + location.search;
  if (here !== '/' && here !== '/guests') p.set('next', here);
  if (reason) p.set('reason', reason);
  const qs = p.toString();
  return '/login' + (qs ? '?' + qs : '');
}

/**
 * @param {HTMLElement} root
 * @param {{product: string, version: string}} info
 */
export async function bootApp(root, info) {
  // The guest list does not need the session's answer: ask for both at once.
  const first = matchRoute(location.pathname).name;
  // The boot script may have asked already (lib/early.js).
  const early = first === 'guests' || first === 'home' ? takeEarly('/api/v1/vms') : null;
  let prefetch = first === 'guests' || first === 'home' ? (early ? adopt(early) : api.listVMs()) : null;
  prefetch?.catch(() => {}); // a 401 here is handled by the session check
  // The first page's code loads while the session is checked.
  loadPage(first === 'home' ? 'guests' : first).catch(() => {});
  let session;
  try {
    const early = takeEarly('/api/v1/session');
    session = await (early ? adopt(early) : api.session());
  } catch (err) {
    if (err?.status === 401) {
      location.replace(loginURL());
      return;
    }
    const retry = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => bootApp(root, info) }, icon('refresh'), t('common.retry'));
    root.replaceChildren(h('main', { class: 'boot-error' },
      h('div', { class: 'state-panel empty', role: 'alert', 'data-testid': 'boot-error' },
        icon('alert', 'empty-icon'),
        h('h1', null, t('shell.bootFailed')),
        h('p', null, err?.message || t('error.unknown')), retry)));
    root.removeAttribute('aria-busy');
    return;
  }

  let leaving = false;
  configure({
    csrfToken: session.csrf_token,
    onUnauthorized: () => {
      if (leaving) return;
      leaving = true;
      location.assign(loginURL('expired'));
    },
  });
  const roles = Array.isArray(session.roles) ? session.roles : [];
  const seesAll = (session.roles ?? []).some((r) => r === 'admin' || r === 'auditor');

  // ---- header
  const navLinks = new Map();
  const nav = h('nav', { class: 'mainnav', 'aria-label': t('nav.main') },
    h('ul', null, navFor(session.roles).map((id) => {
      const a = h('a', { href: `/${id}`, 'data-testid': `nav-${id}`, class: 'nav-link' }, icon(NAV_ICON[id]), h('span', null, t(`nav.${id}`)));
      navLinks.set(id, a);
      return h('li', null, a);
    })));

  const hostName = h('span', { class: 'host-name', 'data-testid': 'host-name' });
  const demo = h('span', { class: 'tag tag-info', 'data-testid': 'demo-badge', hidden: true, title: t('shell.demoTitle') }, t('shell.demo'));
  const hostCounts = h('span', { class: 'host-counts', 'data-testid': 'host-counts' });
  const hostSummary = h('a', { class: 'host-summary', href: '/host', 'data-testid': 'host-summary', hidden: true },
    icon('server'), h('span', { class: 'host-text' }, hostName, hostCounts), demo);

  // ---- ui: the event stream (one per tab) and the tasks drawer
  const stream = events();
  const tasks = createTasksDrawer({ events: stream });
  stream.on('end', (e) => {
    if (leaving) return;
    leaving = true;
    location.assign(loginURL(e?.reason === 'logout' ? 'logout' : 'expired'));
  });

  const userButton = h('button', {
    type: 'button', class: 'user-button', 'data-testid': 'user-menu-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    'aria-label': t('shell.userMenu', { name: session.username || session.identity }),
  }, icon('user'), h('span', { class: 'user-name' }, session.username || session.identity));

  const header = h('header', { class: 'topbar' },
    h('div', { class: 'topbar-inner' },
      h('a', { class: 'brand', href: '/guests', 'data-testid': 'brand' },
        h('img', { src: `/static/logo.svg${info.version ? `?v=${encodeURIComponent(info.version)}` : ''}`, alt: '', width: '28', height: '28', class: 'brand-logo' }),
        h('span', { class: 'brand-name' }, info.product)),
      nav,
      h('div', { class: 'topbar-end' }, hostSummary, tasks.button, userButton)));
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  root.replaceChildren(
    h('a', { class: 'skip-link', href: '#main' }, t('shell.skip')),
    header, main, tasks.panel);
  root.removeAttribute('aria-busy');
  stream.start();
  tasks.load();

  // ---- user menu
  function userItems() {
    const dark = currentTheme() === 'dark';
    return [
      { kind: 'info', label: t('shell.signedInAs', { identity: session.identity }), testid: 'user-identity' },
      { kind: 'info', label: t('shell.roles', { roles: formatList((session.roles ?? []).map((r) => (hasKey(`role.${r}`) ? t(`role.${r}`) : r))) }), testid: 'user-roles' },
      { kind: 'separator' },
      { label: t('shell.account'), testid: 'account-link', icon: icon('user'), onSelect: () => navigate('/account') },
      {
        label: t('shell.darkTheme'), checked: dark, keepOpen: true, testid: 'theme-toggle', icon: icon(dark ? 'moon' : 'sun'),
        onSelect: () => {
          toggleTheme();
          updateMenu(userButton, userItems());
        },
      },
      { kind: 'separator' },
      { label: t('shell.logout'), testid: 'logout', icon: icon('logout'), onSelect: logout },
    ];
  }
  userButton.addEventListener('click', () => toggleMenu(userButton, userItems(), { label: t('shell.userMenuLabel'), testid: 'user-menu' }));

  async function logout() {
    if (!(await mayLeave())) return;
    try {
      await api.logout();
    } catch (err) {
      if (err?.status !== 401) {
        toast(err?.message || t('error.unknown'), { kind: 'error', title: t('shell.logoutFailed') });
        return;
      }
    }
    leaving = true;
    location.replace('/login?reason=logout');
  }

  // ---- host summary (refreshed every 15 s while visible)
  const hostPoller = createPoller(async (signal) => {
    try {
      // One host: its name and counts. Several: how many, with the sums.
      const { items = [] } = await api.hosts(signal);
      const reached = items.filter((it) => it.state === 'connected');
      const hosts = await Promise.all(reached.map((it) => api.host(it.name, signal)));
      if (hosts.length === 0) {
        hostSummary.hidden = true;
        return;
      }
      const one = hosts.length === 1 ? hosts[0] : null;
      hostSummary.hidden = false;
      hostSummary.href = one ? hostPath(one.name) : '/hosts';
      setText(hostName, one ? one.hostname || one.uri || one.name : t('shell.hostsCount', { count: hosts.length }));
      const sum = (k) => hosts.reduce((n, x) => n + (x[k] || 0), 0);
      setText(hostCounts, t('shell.hostCounts', { running: sum('vms_running'), count: sum('vms_total') }));
      demo.hidden = !hosts.some((x) => x.demo);
      hostSummary.title = one
        ? t('shell.hostTitle', { host: one.hostname || '', uri: one.uri || '' })
        : hosts.map((x) => x.name).join(', ');
    } catch (err) {
      if (err?.status === 403) hostPoller.stop();
      throw err;
    }
  }, { interval: 15000, backoffMax: 60000 });
  hostPoller.start();

  // ---- routing
  let page = null;
  let renderNo = 0;
  const pageError = h('div', { class: 'state-panel empty', role: 'alert', 'data-testid': 'page-load-error' });
  /** Show the page of the current address (its module is imported on first use). */
  async function render(focus) {
    closeMenu();
    page?.unmount();
    page = null;
    const no = ++renderNo;
    const route = matchRoute(location.pathname);
    if (route.name === 'home') {
      history.replaceState(history.state, '', '/guests' + location.search + location.hash);
      render(focus);
      return;
    }
    for (const [id, a] of navLinks) {
      if (id === route.section) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    here = location.pathname + location.search + location.hash;
    let mount;
    try {
      mount = await loadPage(route.name);
    } catch (err) {
      // A chunk that does not load (a new version deployed, the network gone).
      if (no !== renderNo) return;
      const retry = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => location.reload() }, icon('refresh'), t('common.retry'));
      pageError.replaceChildren(icon('alert', 'empty-icon'), h('h1', null, t('shell.bootFailed')), h('p', null, err?.message || t('error.unknown')), retry);
      main.replaceChildren(pageError);
      return;
    }
    if (no !== renderNo) return; // another navigation overtook this one
    const ctx = { seesAll, roles, session, navigate, replaceURL, params: route.params, section: route.section, prefetch };
    prefetch = null; // only for the first page
    page = mount(main, ctx);
    document.title = `${page.title} · ${info.product}`;
    if (focus) {
      window.scrollTo(0, 0);
      (page.heading ?? main).focus({ preventScroll: true });
    }
  }

  /** Change the address without a new history entry (a tab, a filter). */
  function replaceURL(url) {
    if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, '', url);
    here = url;
  }

  /** May the page go away? A page with unsaved edits asks (page.confirmLeave). */
  async function mayLeave() {
    if (!page?.confirmLeave) return true;
    try {
      return await page.confirmLeave();
    } catch {
      return true;
    }
  }

  async function navigate(path, { replace = false } = {}) {
    if (!(await mayLeave())) return;
    if (path === location.pathname + location.search) {
      render(true);
      return;
    }
    history[replace ? 'replaceState' : 'pushState'](null, '', path);
    render(true);
  }

  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = /** @type {HTMLElement} */ (e.target).closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // in-page anchor
    const route = matchRoute(url.pathname);
    if (route.name === 'notfound') return; // not ours: let the browser go
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  // Back and forward cannot be cancelled: with unsaved edits the address is
  // put back first, and the move made again once the user agrees.
  let here = location.pathname + location.search + location.hash;
  window.addEventListener('popstate', async () => {
    if (page?.isDirty?.()) {
      const target = location.pathname + location.search + location.hash;
      history.pushState(null, '', here);
      if (!(await mayLeave())) return;
      history.pushState(null, '', target);
    }
    render(true);
  });
  // Reloading or closing the window with unsaved edits: the browser asks.
  window.addEventListener('beforeunload', (e) => {
    if (!leaving && page?.isDirty?.()) {
      e.preventDefault();
      e.returnValue = '';
    }
  });

  render(false);
}
