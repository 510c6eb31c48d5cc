// xterm.js styles its rows with <style> elements and, for 24-bit colours,
// style="" attributes: both are inline styles, which the portal's CSP
// (style-src 'self') refuses. While a terminal lives, this routes them
// through the CSSOM instead, which the CSP allows: a <style> that xterm.js
// creates becomes an inert element whose text fills a constructed
// stylesheet adopted by the document, and setAttribute('style', …) sets
// style.cssText. The result on screen is the same; nothing inline is parsed.

let installs = 0;
let restore = null;
/** The sheets standing in for <style> elements, dropped when the last terminal goes. */
const sheets = new Set();

/**
 * Start routing inline styles through the CSSOM; returns the undo (counted:
 * the last undo restores the originals).
 * @param {Document} doc
 * @returns {() => void}
 */
export function routeInlineStyles(doc = document) {
  if (installs++ === 0) restore = install(doc);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    if (--installs === 0) {
      restore?.();
      restore = null;
    }
  };
}

function install(doc) {
  const createElement = doc.createElement;
  const setAttribute = Element.prototype.setAttribute;

  doc.createElement = function patchedCreateElement(tag, options) {
    if (String(tag).toLowerCase() !== 'style') return createElement.call(this, tag, options);
    return sheetElement(doc, createElement);
  };
  Element.prototype.setAttribute = function patchedSetAttribute(name, value) {
    if (String(name).toLowerCase() === 'style' && this instanceof HTMLElement) {
      this.style.cssText = String(value);
      return;
    }
    return setAttribute.call(this, name, value);
  };

  return () => {
    delete doc.createElement;
    Element.prototype.setAttribute = setAttribute;
    // Sheets of elements that went with their terminal without remove().
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => !sheets.has(s));
    sheets.clear();
  };
}

/** An inert element standing in for a <style>: its text lives in an adopted sheet. */
function sheetElement(doc, createElement) {
  const el = createElement.call(doc, 'vp-style');
  el.hidden = true;
  const sheet = new doc.defaultView.CSSStyleSheet();
  let text = '';
  sheets.add(sheet);
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  Object.defineProperty(el, 'textContent', {
    configurable: true,
    get: () => text,
    set: (v) => {
      text = v == null ? '' : String(v);
      sheet.replaceSync(text);
    },
  });
  const drop = () => {
    sheets.delete(sheet);
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet);
  };
  const remove = el.remove;
  el.remove = function patchedRemove() {
    drop();
    return remove.call(this);
  };
  return el;
}
