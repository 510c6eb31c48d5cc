import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CATALOGS } from '../lib/i18n.js';
import { HELP_AREAS, HELP_BOOKS, shape } from './index.js';

test('every language the portal speaks has help', () => {
  assert.deepEqual(Object.keys(HELP_BOOKS).sort(), Object.keys(CATALOGS).sort());
});

test('every area has a help page in every language, block for block as in English', async () => {
  const en = await HELP_BOOKS.en();
  assert.deepEqual(Object.keys(en).sort(), [...HELP_AREAS].sort());
  for (const [lang, load] of Object.entries(HELP_BOOKS)) {
    const book = await load();
    assert.deepEqual(Object.keys(book).sort(), [...HELP_AREAS].sort(), `${lang}: areas`);
    for (const area of HELP_AREAS) {
      const page = book[area];
      assert.ok(page.title.trim(), `${lang}/${area}: title`);
      assert.deepEqual(shape(page), shape(en[area]), `${lang}/${area}: blocks differ from English`);
      const texts = page.body.flatMap((b) => (typeof b === 'string' ? [b] : 'h' in b ? [b.h] : b.ul));
      for (const text of texts) assert.ok(text.trim().length > 0, `${lang}/${area}: empty text`);
      if (lang !== 'en') {
        // A translation, not a copy of the English text (headings may be
        // the same word: "Pools", "Console").
        const prose = (p) => p.body.flatMap((b) => (typeof b === 'string' ? [b] : 'h' in b ? [] : b.ul));
        const english = prose(en[area]);
        prose(page).forEach((text, i) => assert.notEqual(text, english[i], `${lang}/${area}: text ${i} is English`));
      }
    }
  }
});
