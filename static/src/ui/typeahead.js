// A typeahead on a text input (the ARIA 1.2 combobox pattern with a listbox
// popup): searches after a pause in typing, one request at a time (a newer
// query aborts the older one), arrows move through the options, Enter
// chooses, Escape closes (and clears when already closed). Notes under the
// options say what is going on: searching, no match, more results than
// shown, a part of the search that failed.

import { h, icon, setAttr, setText } from '../lib/dom.js';

let seq = 0;

/**
 * @template T
 * @param {{
 *   input: HTMLInputElement,
 *   label: string,
 *   search: (q: string, signal: AbortSignal) => Promise<{items: T[], notes?: Array<{kind: 'info'|'warn'|'error', text: string, testid?: string}>}>,
 *   normalize?: (value: string) => string,
 *   minChars?: number,
 *   debounce?: number,
 *   renderOption: (item: T) => Array<Node|string>,
 *   optionKey: (item: T) => string,
 *   onChoose: (item: T) => void,
 *   texts: {searching: string, noMatch: (q: string) => string, count: (n: number) => string, failed: (message: string) => string},
 *   testid?: string,
 * }} opts
 * @returns {{element: HTMLElement, close: () => void, clear: () => void, destroy: () => void}}
 */
export function createTypeahead(opts) {
  const id = `ta-${++seq}`;
  const { input } = opts;
  const minChars = opts.minChars ?? 1;
  const normalize = opts.normalize ?? ((v) => v.trim());
  const testid = opts.testid ?? 'typeahead';

  const list = h('ul', { id: `${id}-list`, role: 'listbox', class: 'combo-list', 'aria-label': opts.label, 'data-testid': `${testid}-list` });
  const notes = h('div', { class: 'combo-notes' });
  const pop = h('div', { class: 'combo-pop', hidden: true, 'data-testid': `${testid}-popup` }, list, notes);
  const live = h('div', { class: 'visually-hidden', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const element = h('div', { class: 'combo' }, icon('search', 'combo-icon'), input, pop, live);

  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('autocomplete', 'off');
  input.setAttribute('spellcheck', 'false');

  /** @type {T[]} */
  let items = [];
  let active = -1;
  let shownQuery = null; // the query the options are for
  let timer = 0;
  let controller = null;

  function setNotes(list_) {
    notes.replaceChildren(...list_.map((n) => h('p', { class: `combo-note combo-note-${n.kind}`, 'data-testid': n.testid ?? `${testid}-note` },
      n.kind === 'info' ? null : icon('alert', 'combo-note-icon'), h('span', null, n.text))));
  }

  function open() {
    if (!pop.hidden) return;
    pop.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  function close() {
    if (pop.hidden) return;
    pop.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    setActive(-1);
  }

  function setActive(i) {
    const opts_ = list.children;
    if (active >= 0 && opts_[active]) opts_[active].setAttribute('aria-selected', 'false');
    active = i;
    if (i >= 0 && opts_[i]) {
      opts_[i].setAttribute('aria-selected', 'true');
      setAttr(input, 'aria-activedescendant', opts_[i].id);
      opts_[i].scrollIntoView({ block: 'nearest' });
    } else {
      setAttr(input, 'aria-activedescendant', null);
    }
  }

  function render(q, result) {
    items = result.items;
    shownQuery = q;
    list.replaceChildren(...items.map((it, i) => h('li', {
      id: `${id}-opt-${i}`, role: 'option', class: 'combo-option', 'aria-selected': 'false',
      'data-testid': `${testid}-option`, dataset: { key: opts.optionKey(it) },
    }, opts.renderOption(it))));
    const n = [...(result.notes ?? [])];
    if (items.length === 0 && !n.some((x) => x.kind === 'error')) n.unshift({ kind: 'info', text: opts.texts.noMatch(q), testid: `${testid}-nomatch` });
    setNotes(n);
    setActive(items.length ? 0 : -1);
    setText(live, items.length ? opts.texts.count(items.length) : opts.texts.noMatch(q));
    if (document.activeElement === input) open();
  }

  async function run(q) {
    controller?.abort();
    const c = new AbortController();
    controller = c;
    element.classList.add('is-searching');
    if (shownQuery === null || pop.hidden) {
      list.replaceChildren();
      items = [];
      setActive(-1);
      setNotes([{ kind: 'info', text: opts.texts.searching, testid: `${testid}-searching` }]);
      if (document.activeElement === input) open();
    }
    try {
      const result = await opts.search(q, c.signal);
      if (c.signal.aborted) return;
      render(q, result);
    } catch (err) {
      if (err?.name === 'AbortError' || c.signal.aborted) return;
      if (err?.status === 401) return;
      items = [];
      list.replaceChildren();
      setActive(-1);
      shownQuery = q;
      setNotes([{ kind: 'error', text: opts.texts.failed(err?.message ?? ''), testid: `${testid}-error` }]);
      setText(live, opts.texts.failed(err?.message ?? ''));
      if (document.activeElement === input) open();
    } finally {
      if (controller === c) {
        controller = null;
        element.classList.remove('is-searching');
      }
    }
  }

  function schedule() {
    clearTimeout(timer);
    const q = normalize(input.value);
    if (q.length < minChars) {
      controller?.abort();
      controller = null;
      element.classList.remove('is-searching');
      shownQuery = null;
      items = [];
      list.replaceChildren();
      close();
      return;
    }
    timer = setTimeout(() => run(q), opts.debounce ?? 250);
  }

  function choose(i) {
    const it = items[i];
    if (it === undefined) return;
    opts.onChoose(it);
  }

  function onKey(e) {
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (pop.hidden) {
          if (items.length) open();
          else if (normalize(input.value).length >= minChars) run(normalize(input.value));
          return;
        }
        if (items.length) setActive((active + 1) % items.length);
        break;
      case 'ArrowUp':
        e.preventDefault();
        if (pop.hidden) {
          if (items.length) open();
          return;
        }
        if (items.length) setActive(active <= 0 ? items.length - 1 : active - 1);
        break;
      case 'Enter':
        // Never submit a form from here; choose the highlighted option.
        e.preventDefault();
        if (!pop.hidden && active >= 0) choose(active);
        break;
      case 'Escape':
        if (!pop.hidden) {
          e.preventDefault();
          e.stopPropagation();
          close();
        } else if (input.value) {
          e.preventDefault();
          e.stopPropagation();
          clear();
        }
        break;
      case 'Tab':
        close();
        break;
      default:
    }
  }

  function clear() {
    clearTimeout(timer);
    controller?.abort();
    controller = null;
    input.value = '';
    shownQuery = null;
    items = [];
    list.replaceChildren();
    setNotes([]);
    close();
  }

  input.addEventListener('input', schedule);
  input.addEventListener('keydown', onKey);
  input.addEventListener('focus', () => {
    if (shownQuery !== null && shownQuery === normalize(input.value)) open();
  });
  input.addEventListener('blur', () => {
    // A click in the popup keeps the focus (mousedown is cancelled there).
    close();
  });
  pop.addEventListener('mousedown', (e) => e.preventDefault());
  list.addEventListener('click', (e) => {
    const li = /** @type {HTMLElement} */ (e.target).closest('[role=option]');
    if (!li) return;
    choose([...list.children].indexOf(li));
  });

  return {
    element,
    close,
    clear,
    destroy() {
      clearTimeout(timer);
      controller?.abort();
    },
  };
}
