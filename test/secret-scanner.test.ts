import { describe, expect, it } from 'vitest';
import { builtinRules, GITLEAKS_VERSION, looksRandom, SecretRedactionConfig, SecretScanner } from '../core/redact/index.js';
import { KeywordIndex } from '../core/redact/keywords.js';
import { GITLEAKS } from '../core/redact/gitleaks-rules.js';
import { secretForms } from './secret-forms.js';
import { CLEAN_MEMO_MAX, CLEAN_MEMO_MAX_CHARS } from '../core/redact/scanner.js';

describe('secret scanner', () => {
  it('compiles every gitleaks rule of the generated file', () => {
    expect(GITLEAKS_VERSION).toMatch(/^v8\./);
    const theirs = builtinRules().filter((r) => r.source === 'gitleaks');
    expect(theirs.length).toBe(GITLEAKS.rules.length);
    expect(theirs.length).toBeGreaterThan(200);
  });

  it.each(secretForms().map((f) => [f.name, f] as const))('redacts %s', (_n, f) => {
    const s = new SecretScanner();
    const out = f.parts.map((p) => s.redact(p)).join('\n');
    for (const secret of f.secrets) expect(out).not.toContain(secret);
    expect(out).toMatch(/<redacted:[a-z0-9-]+>/);
  });

  it('leaves ordinary operational text alone', () => {
    const s = new SecretScanner();
    const text = [
      'TraceID: 1c80cea334624a969f6c2b3421f66ce5 SpanID: a5c873a5d00f7d4c AddItemAsync called with userId=db2a5be8-a7a7-4ffa-8166-42a239c7c5a6, productId=6E92ZMYYFZ',
      'GET /api/v1/products/OLJCESPC7Z 200 in 12ms; pod checkoutservice-7d9f8b6c4-x2k9p on node gke-prod-pool-1-3f2a',
      'token validation failed for session; tokens=1200 latency_p95_ms = 1427, expected 122',
      'Input split: hdfs://10.10.34.11:9000/pjhe/logs/2kSOSP.log:21876+7292 by HipsterShopServer2024',
      'deployed sha256:4bf92f3577b34da6a3ce929d0e0e47364bf92f3577b34da6a3ce929d0e0e4736 as v1.4.2',
      'ciod: generated 128 core files for program /g/g20/valone1/SPaSM-shock/SPaSM_mpi',
    ];
    for (const t of text) expect(s.redact(t)).toBe(t);
  });

  it('judges random tokens by entropy and class changes, not by length alone', () => {
    const cfg = SecretRedactionConfig.parse({}).entropy;
    expect(looksRandom('Tq8vR2mZ9xLp4WnB7cYk3HsJ6dFg1AeQ0uVtXi5o', cfg)).toBe(true);
    expect(looksRandom('ProductCatalogServiceClient', cfg)).toBe(false);
    expect(looksRandom('4bf92f3577b34da6a3ce929d0e0e4736', cfg)).toBe(false); // hex: an id
  });

  it('finds keywords with Aho-Corasick, overlapping and case-insensitive', () => {
    const k = new KeywordIndex(['he', 'she', 'his', 'hers']);
    expect([...k.find('uSHErs')].sort()).toEqual([0, 1, 3]);
    expect([...k.find('nothing')]).toEqual([]);
  });

  it('takes configured rules and can disable a builtin', () => {
    const s = new SecretScanner(SecretRedactionConfig.parse({ patterns: [{ id: 'customer-id', regex: 'CUST-[0-9]{6}' }], disable: ['credential-assignment'] }));
    expect(s.redact('order CUST-123456 password=hunter22')).toBe('order <redacted:customer-id> password=hunter22');
    expect(s.counts.get('customer-id')).toBe(1);
    expect(SecretRedactionConfig.safeParse({ patterns: [{ id: 'x', regex: '([' }] }).success).toBe(false);
  });

  it('stays linear on hostile input (bounded pieces, no catastrophic backtracking)', () => {
    const s = new SecretScanner();
    const hostile = `${'password='.repeat(20_000)}${'-----BEGIN PRIVATE KEY-----'.repeat(2000)}${'a'.repeat(100_000)}`;
    const out = s.redact(hostile);
    expect(out.length).toBeGreaterThan(0);
  });

  it('its memo of clean texts is bounded: emptied when full, longer texts and texts with findings never kept', () => {
    const s = new SecretScanner();
    for (let i = 0; i < CLEAN_MEMO_MAX; i++) s.redact(`pod-name-${i}`);
    expect(s.memoSize).toBe(CLEAN_MEMO_MAX);
    // The next new clean text finds the memo full: it is emptied and holds only that text.
    expect(s.redact('one-more-pod')).toBe('one-more-pod');
    expect(s.memoSize).toBe(1);
    s.redact('z'.repeat(CLEAN_MEMO_MAX_CHARS + 1));
    s.redact('password=hunter22');
    expect(s.memoSize).toBe(1);
  });

  it('remembers clean short texts without changing any output or count (against a fresh scanner per text)', () => {
    const texts = [
      ...secretForms().flatMap((f) => f.parts),
      'prod-eu-1',
      'checkout-api-71eb721da-5382c',
      'GET /v1/cart',
      'password=hunter22',
      'Bearer abcdefghijklmnop',
      '<redacted:credential-assignment>',
      'x'.repeat(127),
      'y'.repeat(129),
    ];
    const memo = new SecretScanner();
    const counts = new Map<string, number>();
    // Each text three times, interleaved, so that both first scans and memo hits are compared.
    for (let round = 0; round < 3; round++) {
      for (const t of texts) {
        const fresh = new SecretScanner();
        expect(memo.redact(t)).toBe(fresh.redact(t));
        for (const [rule, n] of fresh.counts) counts.set(rule, (counts.get(rule) ?? 0) + n);
      }
    }
    expect(new Map([...memo.counts].sort())).toEqual(new Map([...counts].sort()));
    expect(counts.size).toBeGreaterThan(3);
  });
});
