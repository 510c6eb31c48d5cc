import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setLocale } from '../lib/i18n.js';
import { progressText } from './progress.js';
import { tabKeyTarget } from './tabs.js';

before(() => setLocale('en'));

describe('progressText', () => {
  const cases = [
    [42, 'Copying disk', /^42\s?% · Copying disk$/],
    [null, 'Queued (3rd)', /^Queued \(3rd\)$/],
    [150, '', /^100\s?%$/],
    [-5, '', /^0\s?%$/],
    [NaN, '', /^$/],
  ];
  for (const [v, m, want] of cases) it(`${v} ${m}`, () => assert.match(progressText(v, m), want));
});

describe('tabKeyTarget', () => {
  const shown = ['overview', 'console', 'access'];
  const cases = [
    ['ArrowRight', 0, 'console'], ['ArrowRight', 2, 'overview'], ['ArrowLeft', 0, 'access'], ['ArrowLeft', 1, 'overview'],
    ['Home', 2, 'overview'], ['End', 0, 'access'], [' ', 1, 'console'], ['Enter', 1, null], ['a', 0, null],
  ];
  for (const [key, i, want] of cases) it(`${key} from ${shown[i]}`, () => assert.equal(tabKeyTarget(key, shown, i), want));
  it('has nowhere to go without tabs', () => assert.equal(tabKeyTarget('ArrowRight', [], -1), null));
});
