import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { idOfInput, labelledInput, StableIdMemo, stableId } from '../core/hash.js';
import { prng } from './helpers/reference-lru.js';

/** stableId as it was: one update per part and one per separator. */
function oldStableId(prefix: string, ...parts: readonly (string | number)[]): string {
  const h = createHash('sha1');
  for (const p of parts) {
    h.update(String(p));
    h.update('\u0000');
  }
  return `${prefix}_${h.digest('hex').slice(0, 16)}`;
}

describe('stableId and StableIdMemo', () => {
  const samples: Array<readonly (string | number)[]> = [
    [],
    [''],
    ['checkout-api', 'tpl_0123456789abcdef'],
    ['a\u0000b', 'c'],
    ['a', '\u0000b', 'c'],
    ['\ud800', '\udc00'], // lone surrogates either side of a separator must not pair up
    ['\ud83d\ude00 ok', 42, -0.5, 1e21],
    ['svc', 'http.server.duration', 'quantile=0.95', 'service.instance.id=pod-1'],
  ];

  it('stableId gives the same ids as the per-part implementation', () => {
    for (const parts of samples) expect(stableId('x', ...parts)).toBe(oldStableId('x', ...parts));
    const rnd = prng(11);
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: Math.floor(rnd() * 5) }, () =>
        String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 6) }, () => Math.floor(rnd() * 0xffff))),
      );
      expect(stableId('tpl', ...parts)).toBe(oldStableId('tpl', ...parts));
    }
  });

  it('the memo answers exactly what stableId does, and stays within two generations of max', () => {
    const memo = new StableIdMemo('series', 100);
    const rnd = prng(5);
    for (let i = 0; i < 5000; i++) {
      const parts = [`svc-${Math.floor(rnd() * 30)}`, `m${Math.floor(rnd() * 20)}`];
      expect(memo.id(...parts)).toBe(oldStableId('series', ...parts));
      expect(memo.size).toBeLessThanOrEqual(200);
    }
    for (const parts of samples) expect(memo.id(...parts)).toBe(oldStableId('series', ...parts));
  });

  it('labelled inputs hash as the parts with each key=value in key order, memoized or not', () => {
    const memo = new StableIdMemo('series', 50);
    const rnd = prng(17);
    const word = (): string => String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 5) }, () => 32 + Math.floor(rnd() * 0xff)));
    for (let i = 0; i < 3000; i++) {
      const head = [word(), word()];
      const labels: Record<string, string> = {};
      for (let k = Math.floor(rnd() * 5); k > 0; k--) labels[word()] = word();
      // As seriesId computed it before: sort, map to k=v, spread after the head.
      const parts = Object.keys(labels)
        .sort()
        .map((k) => `${k}=${labels[k] ?? ''}`);
      const want = oldStableId('series', ...head, ...parts);
      expect(idOfInput('series', labelledInput(head, labels))).toBe(want);
      expect(memo.idOfInput(labelledInput(head, labels))).toBe(want);
    }
  });

  it('rejects a bound below 1', () => {
    expect(() => new StableIdMemo('x', 0)).toThrow(RangeError);
  });
});
