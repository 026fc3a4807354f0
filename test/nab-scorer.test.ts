import { describe, expect, it } from 'vitest';
import type { NabCorpus, NabFile } from '../bench/nab/corpus.js';
import { parseCsv, parseNabTime, resolveNabDir, windowSpans } from '../bench/nab/corpus.js';
import { formatNabTime, resultCsv } from '../bench/nab/detect.js';
import { CorpusScorer } from '../bench/nab/score.js';
import {
  bestThreshold,
  normalizedScore,
  NO_WINDOW,
  PROBATION,
  probationaryLength,
  scaledSigmoid,
  scoreAtThreshold,
  scoresByThreshold,
  sweepPoints,
  thresholdObjective,
  twiddle,
  type CostMatrix,
  type WindowSpan,
} from '../bench/nab/sweeper.js';

const UNIT: CostMatrix = { tpWeight: 1, fpWeight: 1, fnWeight: 1, tnWeight: 1 };
const STANDARD: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1, tnWeight: 1 };
/** 2 / (1 + e^(5x)) - 1, written out independently of the code under test. */
const S = (x: number): number => 2 / (1 + Math.exp(5 * x)) - 1;

/** Score of one file at threshold 0.5 with detections at `hits` (no probation unless given). */
function fileScore(rows: number, windows: WindowSpan[], hits: number[], cost: CostMatrix, probation = 0) {
  const scores = new Float64Array(rows);
  for (const h of hits) scores[h] = 1;
  const points = sweepPoints(rows, windows, cost, probation);
  return scoreAtThreshold(scoresByThreshold([{ anomalyScore: scores, points }], cost), 0.5);
}

describe('NAB scaled sigmoid and probation', () => {
  it('has the published values at the window edges', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(scaledSigmoid(3)).toBe(-1);
    expect(scaledSigmoid(10)).toBe(-1);
  });

  it('probation is 15% of the rows, at most 750', () => {
    expect(probationaryLength(1000)).toBe(150);
    expect(probationaryLength(4032)).toBe(604);
    expect(probationaryLength(22695)).toBe(750);
    expect(probationaryLength(7)).toBe(1);
  });
});

describe('NAB sweep scoring on hand-made files', () => {
  const win = [{ start: 10, end: 14 }];

  it('weights each row by where it falls', () => {
    const p = sweepPoints(30, win, STANDARD, 0.15);
    expect(p.window[0]).toBe(PROBATION);
    expect(p.window[5]).toBe(NO_WINDOW);
    expect(p.window[12]).toBe(0);
    expect(p.sweepScore[5]).toBeCloseTo(-0.11, 12); // before any window: the full FP weight
    expect(p.sweepScore[10]).toBeCloseTo(1, 12); // left edge: full TP weight
    expect(p.sweepScore[14]).toBeCloseTo(S(-1 / 5) / S(-1), 12); // right edge: -(14 - 14 + 1) / 5
    expect(p.sweepScore[15]).toBeCloseTo(0.11 * S(1 / 4), 12); // one row past: |14 - 15| / (5 - 1)
    expect(p.sweepScore[29]).toBeCloseTo(0.11 * -1, 12); // >= 3 widths past
  });

  it('scores nothing when there is nothing to find and nothing found', () => {
    const r = fileScore(10, [], [], UNIT);
    expect(r.score).toBe(0);
    expect([r.tp, r.tn, r.fp, r.fn]).toEqual([0, 10, 0, 0]);
  });

  it('a missed window costs fnWeight; four missed windows cost four times that', () => {
    expect(fileScore(100, win, [], UNIT).score).toBe(-1);
    const four = [0, 1, 2, 3].map((k) => ({ start: 10 + 20 * k, end: 14 + 20 * k }));
    const r = fileScore(100, four, [], { ...UNIT, fnWeight: 2 });
    expect(r.score).toBe(-8);
    expect(r.fn).toBe(20);
  });

  it('only the earliest detection in a window counts', () => {
    const early = fileScore(30, win, [11], STANDARD);
    expect(early.score).toBeCloseTo(S(-4 / 5) / S(-1), 12);
    const both = fileScore(30, win, [11, 13, 14], STANDARD);
    expect(both.score).toBeCloseTo(early.score, 12);
    expect(both.tp).toBe(3);
  });

  it('a false positive costs less right after a window than far from it, and in full before any window', () => {
    const tp = S(-5 / 5) / S(-1);
    expect(fileScore(40, win, [10, 16], STANDARD).score).toBeCloseTo(tp + 0.11 * S(2 / 4), 12);
    expect(fileScore(40, win, [10, 35], STANDARD).score).toBeCloseTo(tp - 0.11, 12);
    expect(fileScore(40, win, [2, 10], STANDARD).score).toBeCloseTo(-0.11 + tp, 12);
  });

  it('ignores detections in the probationary period', () => {
    // 15% of 40 rows = 6: a detection at row 3 is not counted.
    expect(fileScore(40, win, [3], STANDARD, 0.15).score).toBe(-1);
    expect(fileScore(40, win, [3], STANDARD, 0).score).toBeCloseTo(-1.11, 12);
  });

  it('lists every threshold, highest first, each detecting the scores at or above it', () => {
    const scores = Float64Array.from({ length: 30 }, (_, i) => (i === 12 ? 0.9 : i === 20 ? 0.7 : i === 25 ? 0.7 : 0.1));
    const rows = scoresByThreshold([{ anomalyScore: scores, points: sweepPoints(30, win, STANDARD, 0) }], STANDARD);
    expect(rows.map((r) => r.threshold)).toEqual([1.1, 0.9, 0.7, 0.1]);
    const tp = S(-3 / 5) / S(-1);
    expect(rows[0]?.score).toBe(-1);
    expect(rows[1]?.score).toBeCloseTo(tp, 12);
    expect(rows[2]?.score).toBeCloseTo(tp + 0.11 * S(6 / 4) + 0.11 * S(11 / 4), 12);
    expect(scoreAtThreshold(rows, 0.8).threshold).toBe(0.9); // 0.8 detects what 0.9 detects
    expect(scoreAtThreshold(rows, 0.7).threshold).toBe(0.7);
    expect(scoreAtThreshold(rows, 0.05).threshold).toBe(0.1); // below every score: everything detected
    expect(bestThreshold(rows).threshold).toBe(0.9);
  });

  it('rejects windows that overlap or leave the file', () => {
    expect(() => sweepPoints(10, [{ start: 2, end: 5 }, { start: 5, end: 7 }], UNIT)).toThrow(/disjoint/);
    expect(() => sweepPoints(10, [{ start: 8, end: 10 }], UNIT)).toThrow(/inside/);
    const bad = { anomalyScore: [0, Number.NaN], points: sweepPoints(2, [], UNIT, 0) };
    expect(() => scoresByThreshold([bad], UNIT)).toThrow(/finite/);
  });
});

describe('threshold optimisers and normalization', () => {
  it('twiddle climbs to the peak of a smooth objective and stays in [0, 1]', () => {
    const r = twiddle((x) => -((x - 0.73) ** 2));
    expect(r.threshold).toBeCloseTo(0.73, 4);
    const edge = twiddle((x) => x);
    expect(edge.threshold).toBeLessThanOrEqual(1);
    expect(edge.threshold).toBeGreaterThan(0.999);
  });

  it('twiddle is a local search: it can stop on a lower peak the sweep would not', () => {
    // Thresholds in (0.62, 0.95] score 5, (0.4, 0.5] score 1, the rest 0: from 0.5 the climb never gets past 0.62.
    const rows = [
      { threshold: 1.1, score: 0, tp: 0, tn: 0, fp: 0, fn: 0 },
      { threshold: 0.95, score: 5, tp: 0, tn: 0, fp: 0, fn: 0 },
      { threshold: 0.62, score: 0, tp: 0, tn: 0, fp: 0, fn: 0 },
      { threshold: 0.5, score: 1, tp: 0, tn: 0, fp: 0, fn: 0 },
      { threshold: 0.4, score: 0, tp: 0, tn: 0, fp: 0, fn: 0 },
    ];
    expect(twiddle(thresholdObjective(rows)).score).toBe(1);
    expect(bestThreshold(rows).score).toBe(5);
  });

  it('normalizes the null detector to 0 and the perfect one to 100', () => {
    expect(normalizedScore(-116, -116, 116)).toBe(0);
    expect(normalizedScore(116, -116, 116)).toBe(100);
    expect(normalizedScore(46.634450197, -116, 116)).toBeCloseTo(70.101, 3);
    expect(() => normalizedScore(0, 1, 1)).toThrow();
  });

  it('on a small corpus: null detector 0, perfect detector 100, one miss in between', () => {
    const file = (relPath: string, rows: number, windows: WindowSpan[]): NabFile => ({
      relPath,
      timestamps: Float64Array.from({ length: rows }, (_, i) => i * 300_000),
      values: new Float64Array(rows),
      windows,
    });
    const files = [file('a/one.csv', 200, [{ start: 60, end: 79 }]), file('b/two.csv', 300, [{ start: 100, end: 119 }, { start: 200, end: 219 }])];
    const corpus: NabCorpus = { dir: '-', files, profiles: { standard: STANDARD }, windowCount: 3 };
    const scorer = new CorpusScorer(corpus);
    expect(scorer.nullScore('standard')).toBe(-3);
    const perfect = files.map((f) => {
      const s = new Float64Array(f.values.length);
      for (const w of f.windows) s[w.start] = 1;
      return s;
    });
    expect(scorer.score('standard', perfect).normalized).toBeCloseTo(100, 9);
    expect(scorer.score('standard', perfect, 'sweep').normalized).toBeCloseTo(100, 9);
    const missOne = perfect.map((s) => Float64Array.from(s));
    (missOne[1] as Float64Array)[200] = 0;
    // Two windows caught at their left edge (1 each), one missed (-1): (1 + 3) / 6.
    expect(scorer.score('standard', missOne, 'sweep').normalized).toBeCloseTo((100 * 4) / 6, 9);
  });
});

describe('NAB corpus and result files', () => {
  it('reads NAB timestamps as UTC and maps windows to the rows inside them', () => {
    expect(parseNabTime('2014-07-01 00:30:00')).toBe(Date.UTC(2014, 6, 1, 0, 30));
    expect(parseNabTime('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(() => parseNabTime('yesterday')).toThrow(/timestamp/);
    const ts = Float64Array.from([0, 10, 20, 30, 40]);
    expect(windowSpans(ts, [[10, 30]], 'f')).toEqual([{ start: 1, end: 3 }]);
    expect(windowSpans(ts, [[5, 12]], 'f')).toEqual([{ start: 1, end: 1 }]);
    expect(() => windowSpans(ts, [[41, 50]], 'f')).toThrow(/no rows/);
    expect(formatNabTime(Date.UTC(2015, 1, 26, 21, 42, 53))).toBe('2015-02-26 21:42:53');
  });

  it('rejects ragged CSV rows with the row number', () => {
    expect(() => parseCsv('timestamp,value\n2014-01-01 00:00:00,1,2\n', 'x.csv')).toThrow(/x.csv: row 2/);
  });

  it('writes timestamp,value,anomaly_score,label with label 1 inside windows', () => {
    const f: NabFile = { relPath: 'a/b.csv', timestamps: Float64Array.from([0, 60_000, 120_000]), values: Float64Array.from([1.5, 2, 3]), windows: [{ start: 1, end: 1 }] };
    expect(resultCsv(f, [0, 0.25, 1]).split('\n')).toEqual([
      'timestamp,value,anomaly_score,label',
      '1970-01-01 00:00:00,1.5,0,0',
      '1970-01-01 00:01:00,2,0.25,1',
      '1970-01-01 00:02:00,3,1,0',
      '',
    ]);
  });

  it('finds the corpus next to the repo unless NIGHTSHIFT_NAB_DIR says otherwise', () => {
    expect(resolveNabDir({ NIGHTSHIFT_NAB_DIR: '/data/nab' })).toBe('/data/nab');
    expect(resolveNabDir({}).endsWith('/shared/data/nab')).toBe(true);
  });
});
