// A tiny DOM builder: h('button', {class: 'btn', onclick: fn}, t('…')).
// No virtual DOM: pages build elements once and update them in place.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Create an element.
 * attrs: "class"; "on<event>" functions become listeners; true → empty
 * attribute; false/null/undefined → left out; "dataset" → data-*; anything
 * else → setAttribute. Children: nodes, strings, numbers, arrays, null.
 * @param {string} tag
 * @param {Record<string, any>|null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) if (dv != null) el.dataset[dk] = String(dv);
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else if (k === 'checked' && 'checked' in el) {
      el.checked = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

/** Append children (nodes, text, nested arrays; null skipped). */
export function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(c instanceof Node ? c : String(c));
  }
  return parent;
}

/** Replace every child of parent. */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Set text only when it changed (no needless mutation or re-announcement). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Set or remove an attribute only when it changed. */
export function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const v = value === true ? '' : String(value);
  if (el.getAttribute(name) !== v) el.setAttribute(name, v);
}

// 24×24 stroke icons, drawn from paths so that no markup or file is needed.
const ICONS = {
  more: ['M12 5.5v.01', 'M12 12v.01', 'M12 18.5v.01'],
  help: ['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M9.5 9.5a2.5 2.5 0 0 1 5 .3c0 1.7-2.5 2.2-2.5 3.7', 'M12 17v.01'],
  sun: ['M12 4V2', 'M12 22v-2', 'M4 12H2', 'M22 12h-2', 'M5.6 5.6 4.2 4.2', 'M19.8 19.8l-1.4-1.4', 'M5.6 18.4l-1.4 1.4', 'M19.8 4.2l-1.4 1.4', 'M12 16a4 4 0 1 0 0-8 4 4 0 0 0 0 8z'],
  moon: ['M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z'],
  user: ['M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M4 21a8 8 0 0 1 16 0'],
  logout: ['M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3', 'M10 17l-5-5 5-5', 'M5 12h11'],
  search: ['M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z', 'M20 20l-4-4'],
  close: ['M6 6l12 12', 'M18 6 6 18'],
  refresh: ['M20 11a8 8 0 1 0-2.3 5.7', 'M20 4v7h-7'],
  alert: ['M12 9v4', 'M12 17v.01', 'M10.3 3.9 2.4 18a2 2 0 0 0 1.7 3h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z'],
  check: ['M5 12.5l4.5 4.5L19 7.5'],
  chevron: ['M9 6l6 6-6 6'],
  box: ['M21 8 12 3 3 8v8l9 5 9-5V8z', 'M3 8l9 5 9-5', 'M12 13v8'],
  disk: ['M4 7c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3z', 'M4 7v10c0 1.7 3.6 3 8 3s8-1.3 8-3V7', 'M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3'],
  network: ['M12 3v6', 'M5 15v-3h14v3', 'M9 3h6v6H9z', 'M2 15h6v6H2z', 'M16 15h6v6h-6z'],
  template: ['M4 4h16v5H4z', 'M4 13h7v7H4z', 'M15 13h5', 'M15 17h5'],
  server: ['M3 4h18v7H3z', 'M3 13h18v7H3z', 'M7 7.5v.01', 'M7 16.5v.01'],
  back: ['M15 6l-6 6 6 6'],
  list: ['M9 6h11', 'M9 12h11', 'M9 18h11', 'M4.5 6v.01', 'M4.5 12v.01', 'M4.5 18v.01'],
  group: ['M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z', 'M2.5 20a6.5 6.5 0 0 1 13 0', 'M15.5 4.3a3.5 3.5 0 0 1 0 6.4', 'M18 13.8a6.5 6.5 0 0 1 3.5 6.2'],
  trash: ['M4 7h16', 'M10 11v6', 'M14 11v6', 'M6 7l1 13h10l1-13', 'M9 7V4h6v3'],
  undo: ['M9 14 4 9l5-5', 'M4 9h11a5 5 0 0 1 0 10h-3'],
  plus: ['M12 5v14', 'M5 12h14'],
  filter: ['M4 5h16l-6 7.5V19l-4 1.5v-8z'],
  shield: ['M12 3l8 3v6c0 4.5-3.4 8.1-8 9-4.6-.9-8-4.5-8-9V6z'],
  screen: ['M3 4h18v12H3z', 'M8 20h8', 'M12 16v4'],
  keyboard: ['M3 6h18v12H3z', 'M7 10h.01', 'M11 10h.01', 'M15 10h.01', 'M7 14h10'],
  clipboard: ['M9 4h6v3H9z', 'M9 5.5H6v15h12v-15h-3', 'M9 12h6', 'M9 16h4'],
  fit: ['M4 9V4h5', 'M20 9V4h-5', 'M4 15v5h5', 'M20 15v5h-5', 'M9 9h6v6H9z'],
  expand: ['M4 9V4h5', 'M20 9V4h-5', 'M4 15v5h5', 'M20 15v5h-5'],
  download: ['M12 4v11', 'M7 10.5l5 5 5-5', 'M5 20h14'],
  upload: ['M12 15V4', 'M7 8.5l5-5 5 5', 'M5 20h14'],
  pause: ['M8 5v14', 'M16 5v14'],
  play: ['M7 4.5v15l12-7.5z'],
  globe: ['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M3 12h18', 'M12 3c2.4 2.5 3.6 5.5 3.6 9s-1.2 6.5-3.6 9c-2.4-2.5-3.6-5.5-3.6-9S9.6 5.5 12 3z'],
};

/**
 * An inline SVG icon (decorative: aria-hidden).
 * @param {keyof typeof ICONS} name
 * @param {string} [cls]
 */
export function icon(name, cls = '') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', ('icon ' + cls).trim());
  for (const d of ICONS[name] ?? []) {
    const p = document.createElementNS(SVG_NS, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}
