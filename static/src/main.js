// Entry point of the browser app (bundled to /static/app.js). The same
// bundle serves both server-rendered pages: <body data-page="login"> gets
// the login form, <body data-page="app"> the app shell.

import './styles/app.css';
import { loadLocale, negotiateLocale } from './lib/i18n.js';
import { bootApp } from './shell.js';

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

// The server chose the page's language (a vp_lang cookie or Accept-Language).
await loadLocale(negotiateLocale([document.documentElement.lang, ...(navigator.languages ?? [navigator.language])]));

const info = {
  product: meta('application-name') || 'virtportal',
  version: meta('virtportal-version'),
};
const root = document.getElementById('app') ?? document.body;

if (document.body.dataset.page === 'login') {
  import('./pages/login.js').then((m) => m.mountLogin(root, info));
} else {
  bootApp(root, info);
}
