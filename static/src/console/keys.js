// Pasted text → the key presses that type it into a graphical console.
// Pure; its own module so that the noVNC chunk needs nothing of the app's
// bundle (no shared chunk on the guest list's critical path).

export const KEYSYM = Object.freeze({ SHIFT: 0xffe1, RETURN: 0xff0d, TAB: 0xff09 });

// Characters of a US keyboard: the key (KeyboardEvent.code) and whether Shift is held.
const US_KEYS = (() => {
  const m = new Map();
  for (let c = 0; c < 26; c++) {
    const lower = String.fromCharCode(97 + c);
    m.set(lower, ['Key' + lower.toUpperCase(), false]);
    m.set(lower.toUpperCase(), ['Key' + lower.toUpperCase(), true]);
  }
  const digits = '1234567890';
  const shifted = '!@#$%^&*()';
  for (let i = 0; i < 10; i++) {
    m.set(digits[i], ['Digit' + digits[i], false]);
    m.set(shifted[i], ['Digit' + digits[i], true]);
  }
  const pairs = [['`', '~', 'Backquote'], ['-', '_', 'Minus'], ['=', '+', 'Equal'], ['[', '{', 'BracketLeft'], [']', '}', 'BracketRight'],
    ['\\', '|', 'Backslash'], [';', ':', 'Semicolon'], ["'", '"', 'Quote'], [',', '<', 'Comma'], ['.', '>', 'Period'], ['/', '?', 'Slash']];
  for (const [plain, shift, code] of pairs) {
    m.set(plain, [code, false]);
    m.set(shift, [code, true]);
  }
  m.set(' ', ['Space', false]);
  return m;
})();

/**
 * The key presses that type text into a graphical console: X11 keysyms
 * (Latin-1 characters are their own keysym, others 0x01000000 + code
 * point), with the US-keyboard key and Shift where the character has one,
 * so that QEMU's scancode path types it too. Line ends become Return (CR LF
 * counts once), tabs Tab; other control characters are left out.
 * @param {string} text
 * @returns {{keys: Array<{keysym: number, code: string|null, shift: boolean}>, skipped: number}}
 */
export function textToKeys(text) {
  const keys = [];
  let skipped = 0;
  const s = String(text ?? '').replace(/\r\n?/g, '\n');
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (ch === '\n') {
      keys.push({ keysym: KEYSYM.RETURN, code: 'Enter', shift: false });
    } else if (ch === '\t') {
      keys.push({ keysym: KEYSYM.TAB, code: 'Tab', shift: false });
    } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      skipped++;
    } else {
      const us = US_KEYS.get(ch);
      const keysym = cp <= 0xff ? cp : 0x01000000 + cp;
      keys.push({ keysym, code: us ? us[0] : null, shift: us ? us[1] : false });
    }
  }
  return { keys, skipped };
}
