import { describe, expect, it } from 'vitest';
import { drain3ToLoghub } from '../bench/templates/drain3.js';
import { parseCsv } from '../bench/templates/loghub.js';
import { normalizeTemplate, scoreParsing, type Labelled } from '../bench/templates/metrics.js';
import { finalTemplates, runNightshift } from '../bench/templates/nightshift.js';
import { TemplateMiner, type MatchResult } from '../perception/templates/index.js';
import { LINE_CACHE_MAX, LINE_CACHE_MAX_CHARS, ROUTE_CACHE_MAX } from '../perception/templates/miner.js';

/** Builds labels from [group, template] pairs. */
const L = (pairs: ReadonlyArray<readonly [string, string]>): Labelled[] => pairs.map(([group, template]) => ({ group, template }));

describe('parsing metrics on hand-made examples', () => {
  it('scores a perfect parse 1 everywhere, whatever the predicted keys are called', () => {
    const truth = L([['E1', 'send <*>'], ['E1', 'send <*>'], ['E1', 'send <*>'], ['E2', 'close']]);
    const pred = L([['x', 'send <*>'], ['x', 'send <*>'], ['x', 'send <*>'], ['y', 'close']]);
    const s = scoreParsing(truth, pred);
    expect(s.ga).toBe(1);
    expect(s.fga.f1).toBe(1);
    expect(s.pa).toBe(1);
    expect(s.fta.f1).toBe(1);
    expect([s.truthGroups, s.predictedGroups]).toEqual([2, 2]);
  });

  it('over-merging: only the untouched group counts (GA 1/4, FGA 0.4, PA 1/4, FTA 0.4)', () => {
    // Truth: {m1,m2} send, {m3} recv, {m4} close. Prediction merges m1..m3 into one group.
    const truth = L([['T1', 'send <*>'], ['T1', 'send <*>'], ['T2', 'recv <*>'], ['T3', 'close']]);
    const pred = L([['P1', '<*> <*>'], ['P1', '<*> <*>'], ['P1', '<*> <*>'], ['P2', 'close']]);
    const s = scoreParsing(truth, pred);
    expect(s.ga).toBe(0.25); // m4 only
    // 1 correct group of 2 predicted and 3 true: P = 1/2, R = 1/3, F1 = 2 * (1/6) / (5/6) = 0.4
    expect(s.fga.precision).toBe(0.5);
    expect(s.fga.recall).toBeCloseTo(1 / 3, 12);
    expect(s.fga.f1).toBeCloseTo(0.4, 12);
    expect(s.pa).toBe(0.25);
    expect(s.fta.f1).toBeCloseTo(0.4, 12);
    expect(s.ftaLenient.f1).toBeCloseTo(0.4, 12);
  });

  it('splitting: GA and strict FTA are 0, PA counts the right half, lenient FTA counts the pure right group', () => {
    const truth = L([['T', 'a <*>'], ['T', 'a <*>'], ['T', 'a <*>'], ['T', 'a <*>']]);
    const pred = L([['P1', 'a <*>'], ['P1', 'a <*>'], ['P2', 'a b'], ['P3', 'a c']]);
    const s = scoreParsing(truth, pred);
    expect(s.ga).toBe(0);
    expect(s.fga.f1).toBe(0);
    expect(s.pa).toBe(0.5);
    expect(s.fta.f1).toBe(0);
    // Lenient: P1 is pure and right: P = 1/3, R = 1/1, F1 = 0.5.
    expect(s.ftaLenient.precision).toBeCloseTo(1 / 3, 12);
    expect(s.ftaLenient.recall).toBe(1);
    expect(s.ftaLenient.f1).toBeCloseTo(0.5, 12);
  });

  it('right groups with wrong text: GA and FGA 1, PA and FTA 0', () => {
    const truth = L([['T', 'open <*>'], ['T', 'open <*>'], ['U', 'shut <*>']]);
    const pred = L([['a', 'open file<*>'], ['a', 'open file<*>'], ['b', 'shut <*> now']]);
    const s = scoreParsing(truth, pred);
    expect(s.ga).toBe(1);
    expect(s.fga.f1).toBe(1);
    expect(s.pa).toBe(0);
    expect(s.fta.f1).toBe(0);
  });

  it('mixed case: GA 0.6, PA 0.4, FTA from one exact template', () => {
    // m1,m2: T1 'login <*>' predicted as one group with the right text (correct group, correct template).
    // m3: T2 'logout <*>' predicted alone with text 'logout bob' (correct group, wrong text).
    // m4,m5: T3 'error <*>' split into two groups (wrong group; m4's text right, m5's wrong).
    const truth = L([['T1', 'login <*>'], ['T1', 'login <*>'], ['T2', 'logout <*>'], ['T3', 'error <*>'], ['T3', 'error <*>']]);
    const pred = L([['A', 'login <*>'], ['A', 'login <*>'], ['B', 'logout bob'], ['C', 'error <*>'], ['D', 'error 42']]);
    const s = scoreParsing(truth, pred);
    expect(s.ga).toBeCloseTo(3 / 5, 12);
    expect(s.pa).toBeCloseTo(3 / 5, 12); // m1, m2, m4
    // FGA: 2 correct groups, 4 predicted, 3 true: P 0.5, R 2/3, F1 = 2 * (1/3) / (7/6) = 4/7
    expect(s.fga.f1).toBeCloseTo(4 / 7, 12);
    // FTA strict: only T1: P 1/4, R 1/3, F1 = 2 * (1/12) / (7/12) = 2/7
    expect(s.fta.f1).toBeCloseTo(2 / 7, 12);
    // Lenient adds C (pure, right text, though T3 is split): P 2/4, R 2/3 -> 4/7
    expect(s.ftaLenient.f1).toBeCloseTo(4 / 7, 12);
  });

  it('normalizes only whitespace and consecutive <*> (Loghub-2.0 DS and CV rules)', () => {
    expect(normalizeTemplate('  foo   <*><*><*>  bar\t')).toBe('foo <*> bar');
    // `<*> <*>` is two variables, not one; other punctuation is not touched.
    expect(normalizeTemplate('a <*> <*>')).toBe('a <*> <*>');
    expect(normalizeTemplate('uid=<*>,')).toBe('uid=<*>,');
    const s = scoreParsing(L([['T', 'x <*> y'], ['T', 'x <*> y']]), L([['P', ' x  <*><*> y '], ['P', ' x  <*><*> y ']]));
    expect(s.pa).toBe(1);
    expect(s.fta.f1).toBe(1);
    const t = scoreParsing(L([['T', 'x <*>']]), L([['P', 'x <*> <*>']]));
    expect(t.pa).toBe(0);
  });

  it('rejects inputs it cannot score', () => {
    expect(() => scoreParsing(L([['T', 'a']]), L([]))).toThrow(RangeError);
    expect(() => scoreParsing([], [])).toThrow(/no messages/);
    expect(() => scoreParsing(L([['T', 'a'], ['T', 'a']]), L([['P', 'a'], ['P', 'b']]))).toThrow(/two templates/);
  });
});

describe('bench plumbing', () => {
  it('maps Drain3 mask placeholders to <*> and nothing else', () => {
    expect(drain3ToLoghub('took <NUM> ms from <IP> at <HEX> <*>')).toBe('took <*> ms from <*> at <*> <*>');
    expect(drain3ToLoghub('<FOO> <num> x<NUM>')).toBe('<FOO> <num> x<*>');
  });

  it('parses RFC 4180 CSV: quotes, doubled quotes, commas and newlines inside quotes', () => {
    const rows = parseCsv('a,b,c\n1,"x, ""y""",z\r\n2,"multi\nline",\n');
    expect(rows).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, "y"', 'z'],
      ['2', 'multi\nline', ''],
    ]);
    expect(() => parseCsv('a,"open')).toThrow(/unterminated/);
  });

  it('labels each line with the final template of its cluster, and a reused old id starts afresh', () => {
    const r = (id: string, template: string, previousId?: string): MatchResult =>
      previousId === undefined ? { id, template, isNew: false, count: 1 } : { id, template, isNew: false, count: 1, previousId };
    const run = finalTemplates([
      r('A', 'a x'),
      r('B', 'a <*>', 'A'),
      r('A', 'a x'), // a new cluster that took the retired text
      r('C', '<*> <*>', 'B'),
    ]);
    expect(run.templates).toEqual(['<*> <*>', '<*> <*>', 'a x', '<*> <*>']);
    expect(run.clusters).toBe(2);
  });

  it('runs the real miner: an early line gets the template learned later', () => {
    const run = runNightshift(['open file alpha now ok', 'open file beta now ok', 'disk 7 full']);
    expect(run.templates[0]).toBe('open file <*> now ok');
    expect(run.templates[1]).toBe('open file <*> now ok');
    expect(run.templates[2]).toBe('disk <*> full');
    const s = scoreParsing(
      L([['T', 'open file <*> now ok'], ['T', 'open file <*> now ok'], ['U', 'disk <*> full']]),
      run.templates.map((t, i) => ({ group: run.groups[i] as string, template: t })),
    );
    expect([s.ga, s.pa, s.fga.f1, s.fta.f1]).toEqual([1, 1, 1, 1]);
  });
});

describe('miner memos used by the fast path (bounded, and they do not change results)', () => {
  interface Memos {
    lineCache: Map<string, string>;
    routes: Map<string, unknown>;
  }
  const memos = (m: TemplateMiner): Memos => m as unknown as Memos;
  // Ten event types with variables, many exact repeats, and more distinct lines than the line memo holds.
  const lines: string[] = [];
  for (let i = 0; i < 3 * LINE_CACHE_MAX; i++) {
    const k = i % 10;
    const v = i % 7 === 0 ? i % 50 : i; // every 7th line repeats one of 50 values
    lines.push(k < 5 ? `worker ${k} finished job job_${v} in ${v % 13} ms` : `user u${v} logged ${k % 2 === 0 ? 'in' : 'out'} from host-${v}`);
  }

  it('gives the same ids and templates as a miner that never hits the line memo', () => {
    const cached = new TemplateMiner();
    const uncached = new TemplateMiner();
    // Trailing whitespace is not a token, but makes the raw line too long to be memoized.
    const pad = ' '.repeat(LINE_CACHE_MAX_CHARS + 1);
    for (const line of lines) {
      const a = cached.add(line);
      const b = uncached.add(line + pad);
      expect(a.id).toBe(b.id);
      expect(a.template).toBe(b.template);
    }
    expect(memos(uncached).lineCache.size).toBe(0);
  });

  it('keeps both memos within their bounds when more distinct lines and shapes arrive', () => {
    const m = new TemplateMiner();
    for (let i = 0; i < LINE_CACHE_MAX + 500; i++) {
      m.add(`shape${i % (ROUTE_CACHE_MAX + 300)} a b c d value ${i}`);
      expect(memos(m).lineCache.size).toBeLessThanOrEqual(LINE_CACHE_MAX);
      expect(memos(m).routes.size).toBeLessThanOrEqual(ROUTE_CACHE_MAX);
    }
    expect(memos(m).lineCache.size).toBeGreaterThan(0);
    expect(memos(m).routes.size).toBeGreaterThan(0);
  });
});
