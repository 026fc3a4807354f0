import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { createDetector, DetectorConfig, restoreDetector, RollingWindow } from '../perception/anomaly/index.js';

/** Seeded PRNG (mulberry32) and a Gaussian from it: no Math.random in tests. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gaussian(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

const DAY = 86_400_000;
const STEP = 5 * 60_000;
const WARMUP = DetectorConfig.parse({}).warmupPoints;

function daily(ts: number): number {
  return 100 + 50 * Math.sin((2 * Math.PI * ts) / DAY);
}

describe('RollingWindow', () => {
  it('keeps median and MAD exact against a brute-force recomputation', () => {
    const r = prng(5);
    const w = new RollingWindow(25);
    const all: number[] = [];
    for (let i = 0; i < 300; i++) {
      const x = Math.round(r() * 50) - (i % 7 === 0 ? 100 : 0);
      w.push(x);
      all.push(x);
      const win = all.slice(-25).sort((a, b) => a - b);
      const n = win.length;
      const med = n % 2 ? (win[n >> 1] as number) : ((win[(n >> 1) - 1] as number) + (win[n >> 1] as number)) / 2;
      const dev = win.map((v) => Math.abs(v - med)).sort((a, b) => a - b);
      const mad = n % 2 ? (dev[n >> 1] as number) : ((dev[(n >> 1) - 1] as number) + (dev[n >> 1] as number)) / 2;
      expect(w.median()).toBe(med);
      expect(w.mad(med)).toBe(mad);
      expect(w.size).toBe(Math.min(25, i + 1));
    }
  });

  it('gives the MAD around any centre, the mean deviation, its bound and recent medians exactly as recomputed', () => {
    const r = prng(9);
    for (const cap of [5, 6, 25, 120]) {
      const w = new RollingWindow(cap);
      const all: number[] = [];
      for (let i = 0; i < 800; i++) {
        // Runs of ties (a third of the points on a few values), fractions, and a level shift halfway.
        const x = r() < 0.35 ? Math.round(r() * 3) : r() * 10 + (i > 400 ? 50 : 0) - 0.1;
        w.push(x);
        all.push(x);
        const win = all.slice(-cap);
        const sorted = [...win].sort((a, b) => a - b);
        for (const m of [sorted[sorted.length >> 1] as number, sorted[0] as number, (sorted[sorted.length - 1] as number) + 1, 2, x]) {
          const dev = sorted.map((v) => Math.abs(v - m)).sort((a, b) => a - b);
          const n = dev.length;
          const mad = ((dev[(n - 1) >> 1] as number) + (dev[n >> 1] as number)) / 2;
          expect(w.mad(m)).toBe(mad);
          expect(w.madByMerge(m)).toBe(mad);
          let sum = 0;
          for (const v of sorted) sum += Math.abs(v - m);
          expect(w.meanAbsDev(m)).toBe(sum / n);
          expect(w.meanAbsDevBound(m)).toBeGreaterThanOrEqual(sum / n);
        }
        for (const k of [1, 4, 5]) {
          const recent = win.slice(-k).sort((a, b) => a - b);
          const q = recent.length;
          const med = q % 2 ? (recent[q >> 1] as number) : ((recent[(q >> 1) - 1] as number) + (recent[q >> 1] as number)) / 2;
          expect(w.recentMedian(k)).toBe(med);
        }
        expect(w.values()).toEqual(win);
      }
    }
  });
});

describe('anomaly detector', () => {
  it('returns score 0 during warm-up, even for wild values', () => {
    const d = createDetector();
    for (let i = 0; i < WARMUP; i++) {
      const r = d.update(i * STEP, i % 2 === 0 ? 1 : 1e9);
      expect(r.score).toBe(0);
    }
  });

  it('does not alarm on a daily sine with noise (two weeks, several seeds)', () => {
    for (const seed of [1, 2, 3]) {
      const noise = gaussian(prng(seed));
      const d = createDetector();
      let max = 0;
      for (let i = 0; i < 14 * 288; i++) {
        const ts = i * STEP;
        const r = d.update(ts, daily(ts) + 5 * noise());
        if (i >= WARMUP) max = Math.max(max, r.score);
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(1);
      }
      expect(max).toBeLessThan(0.5);
    }
  });

  it('compares against the same phase once a season is known', () => {
    const noise = gaussian(prng(9));
    const d = createDetector();
    let last = { expected: 0 };
    let ts = 0;
    for (let i = 0; i < 3 * 288; i++) {
      ts = i * STEP;
      last = d.update(ts, daily(ts) + noise());
    }
    // After 3 days the expectation follows the curve, not a lagging rolling median.
    expect(Math.abs(last.expected - daily(ts))).toBeLessThan(3);
  });

  /** Feeds `n` points of `base + noise`, then a spike, then 12 points shifted by +60; returns the scores. */
  function spikeThenShift(base: (ts: number) => number, n: number): { spike: number; dev: number; shift: number[] } {
    const noise = gaussian(prng(3));
    const d = createDetector();
    for (let i = 0; i < n; i++) d.update(i * STEP, base(i * STEP) + 5 * noise());
    const s = d.update(n * STEP, base(n * STEP) + 80);
    const shift: number[] = [];
    for (let i = n + 1; i < n + 13; i++) shift.push(d.update(i * STEP, base(i * STEP) + 60 + 5 * noise()).score);
    return { spike: s.score, dev: s.deviation, shift };
  }

  it('flags a spike and a level shift on a flat series (score > 0.8), with a signed deviation', () => {
    const r = spikeThenShift(() => 100, 150);
    expect(r.spike).toBeGreaterThan(0.8);
    expect(r.dev).toBeGreaterThan(0);
    expect(Math.min(...r.shift)).toBeGreaterThan(0.8);
  });

  it('flags a spike and a level shift on a seasonal series once the season is known', () => {
    const r = spikeThenShift(daily, 4 * 288);
    expect(r.spike).toBeGreaterThan(0.8);
    expect(Math.min(...r.shift)).toBeGreaterThan(0.8);
  });

  it('flags a spike and the onset of a shift during a steep trend before any season is known', () => {
    // At 12 h the daily curve falls fastest; the rolling median lags far behind it, the local baseline does not.
    // Without a season, a shift there is only distinguishable from the trend at its onset.
    const r = spikeThenShift(daily, 144);
    expect(r.spike).toBeGreaterThan(0.8);
    expect(r.shift[0]).toBeGreaterThan(0.8);
  });

  it('respects direction', () => {
    const feed = (direction: 'up' | 'down' | 'both', last: number): number => {
      const noise = gaussian(prng(4));
      const d = createDetector({ direction });
      for (let i = 0; i < 200; i++) d.update(i * 60_000, 50 + noise());
      return d.update(200 * 60_000, last).score;
    };
    expect(feed('up', 80)).toBeGreaterThan(0.8);
    expect(feed('up', 20)).toBe(0);
    expect(feed('down', 20)).toBeGreaterThan(0.8);
    expect(feed('down', 80)).toBe(0);
    expect(feed('both', 20)).toBeGreaterThan(0.8);
    expect(feed('both', 80)).toBeGreaterThan(0.8);
  });

  it('handles a constant series with a floor relative to the level', () => {
    const d = createDetector();
    for (let i = 0; i < 100; i++) expect(d.update(i * 1000, 100).score).toBe(0);
    expect(d.update(100_000, 100).deviation).toBe(0);
    expect(d.update(101_000, 102).score).toBe(0); // 2% of the level: within the floor
    const jump = d.update(102_000, 120);
    expect(jump.score).toBeGreaterThan(0.8);
    expect(Number.isFinite(jump.deviation)).toBe(true);
    const zero = createDetector();
    for (let i = 0; i < 50; i++) zero.update(i * 1000, 0);
    expect(zero.update(50_000, 0).score).toBe(0);
    expect(zero.update(51_000, 5).score).toBeGreaterThan(0.8);
  });

  it('ignores NaN and Infinity (score 0, state unchanged)', () => {
    const noise = gaussian(prng(6));
    const a = createDetector();
    const b = createDetector();
    for (let i = 0; i < 100; i++) {
      const v = 10 + noise();
      a.update(i * 1000, v);
      b.update(i * 1000, v);
      if (i % 10 === 0) {
        for (const bad of [Number.NaN, Infinity, -Infinity]) {
          const r = b.update(i * 1000 + 1, bad);
          expect(r.score).toBe(0);
          expect(Number.isFinite(r.expected)).toBe(true);
        }
        expect(b.update(Number.NaN, 10).score).toBe(0);
      }
    }
    expect(b.toJSON()).toEqual(a.toJSON());
  });

  it('copes with irregular sampling', () => {
    const r = prng(8);
    const noise = gaussian(r);
    const d = createDetector();
    let ts = 0;
    let max = 0;
    for (let i = 0; i < 3000; i++) {
      ts += 30_000 + Math.floor(r() * 15 * 60_000); // 30 s to 15.5 min apart
      const s = d.update(ts, daily(ts) + 3 * noise()).score;
      if (i >= WARMUP) max = Math.max(max, s);
    }
    expect(max).toBeLessThan(0.5);
    expect(d.update(ts + 60_000, daily(ts) + 60).score).toBeGreaterThan(0.8);
  });

  it('round-trips a snapshot and continues identically', () => {
    const noise = gaussian(prng(10));
    const a = createDetector({ direction: 'up', seasonPeriodMs: 3_600_000, seasonBuckets: 12 });
    for (let i = 0; i < 2000; i++) a.update(i * 60_000, 20 + 5 * Math.sin(i / 9) + noise());
    const b = restoreDetector(JSON.parse(JSON.stringify(a.toJSON())));
    for (let i = 2000; i < 3000; i++) {
      const v = (i === 2500 ? 60 : 20) + 5 * Math.sin(i / 9) + noise();
      expect(b.update(i * 60_000, v)).toEqual(a.update(i * 60_000, v));
    }
    expect(b.toJSON()).toEqual(a.toJSON());
  });

  it('rejects bad snapshots and configs with typed errors', () => {
    for (const bad of [null, 'x', { kind: 'nightshift.anomaly-detector', version: 1 }]) {
      expect(() => restoreDetector(bad)).toThrow(NightshiftError);
    }
    const snap = createDetector({ window: 10 }).toJSON() as { values: number[] };
    snap.values = Array.from({ length: 11 }, () => 1);
    try {
      restoreDetector(snap);
      expect.fail('accepted a window larger than its config');
    } catch (e) {
      expect((e as NightshiftError).code).toBe('SCHEMA_MISMATCH');
    }
    expect(() => createDetector({ window: 1 })).toThrow(NightshiftError);
  });

  // Its cost per point is a benchmark figure (npm run bench:nab: us_per_point), not a timed test.
});
