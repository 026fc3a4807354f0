import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { BlockRange, createDetector, DETECTOR_PRESETS, NOVELTY_FLOOR, restoreDetector } from '../perception/anomaly/index.js';
import { resultPath, type NabCorpus, type NabFile } from '../bench/nab/corpus.js';
import { runDetector, writeResults } from '../bench/nab/detect.js';
import { CorpusScorer } from '../bench/nab/score.js';

/** Seeded PRNG (mulberry32) and a Gaussian from it. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gaussian(seed: number): () => number {
  const r = prng(seed);
  return () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}
const STEP = 5 * 60_000;

describe('BlockRange', () => {
  it('covers at least the last window - block points and at most the last window points', () => {
    const r = prng(1);
    const br = new BlockRange(100, 10);
    const all: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const x = r() * 1000;
      br.push(x);
      all.push(x);
      const must = all.slice(-90);
      const may = all.slice(-100);
      expect(br.max).toBeGreaterThanOrEqual(Math.max(...must));
      expect(br.max).toBeLessThanOrEqual(Math.max(...may));
      expect(br.min).toBeLessThanOrEqual(Math.min(...must));
      expect(br.min).toBeGreaterThanOrEqual(Math.min(...may));
    }
    // Bounded: finished blocks never exceed window / block, whatever the stream length.
    const snap = br.snapshot();
    expect(snap.mins.length).toBeLessThanOrEqual(10);
    expect(snap.curN).toBeLessThan(10);
  });

  it('measures extension beyond the range in range widths, with a floor for a constant series', () => {
    const br = new BlockRange(50, 5);
    expect(br.extension(5, 0.01, 1e-6)).toBe(0); // nothing seen yet
    for (const x of [10, 20, 15]) br.push(x);
    expect(br.extension(25, 0.01, 1e-6)).toBeCloseTo(0.5, 12);
    expect(br.extension(5, 0.01, 1e-6)).toBeCloseTo(-0.5, 12);
    expect(br.extension(12, 0.01, 1e-6)).toBe(0);
    const flat = new BlockRange(50, 5);
    for (let i = 0; i < 20; i++) flat.push(100);
    expect(flat.extension(101, 0.01, 1e-6)).toBeCloseTo(1, 12); // width floor: 1% of 100
  });
});

/** A noisy flat series, then `events` (index -> added value), scores returned. */
function scores(n: number, events: Record<number, number>, config = {}, shiftFrom = Infinity, shift = 0): number[] {
  const noise = gaussian(7);
  const d = createDetector(config);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(d.update(i * STEP, 100 + 2 * noise() + (events[i] ?? 0) + (i >= shiftFrom ? shift : 0)).score);
  return out;
}

describe('novelty band', () => {
  it('scores a sustained shift once in the novelty band, and every point of it above 0.8', () => {
    const s = scores(700, {}, {}, 600, 40).slice(600, 612);
    expect(s.filter((x) => x >= NOVELTY_FLOOR).length).toBe(1);
    expect(s[0]).toBeGreaterThanOrEqual(NOVELTY_FLOOR);
    expect(Math.min(...s)).toBeGreaterThan(0.8);
  });

  it('a spike smaller than an earlier one is a deviation (0.8, 0.9), not news', () => {
    const s = scores(700, { 300: 60, 600: 40 });
    expect(s[300]).toBeGreaterThanOrEqual(NOVELTY_FLOOR);
    expect(s[600]).toBeGreaterThan(0.8);
    expect(s[600]).toBeLessThan(NOVELTY_FLOOR);
  });

  it("a new extreme of only ~3 sigmas is news for preset 'nab' but not for the default", () => {
    const base = scores(700, {});
    const ev = { 600: 7 };
    const def = scores(700, ev)[600] as number;
    const nab = scores(700, ev, DETECTOR_PRESETS.nab)[600] as number;
    expect(base[600]).toBeLessThan(0.5);
    expect(def).toBeLessThan(NOVELTY_FLOOR);
    expect(nab).toBeGreaterThanOrEqual(NOVELTY_FLOOR);
  });

  it('noveltyWindow 0 gives the plain deviation score (no band compression)', () => {
    const s = scores(400, { 300: 200 }, { noveltyWindow: 0 });
    expect(s[300]).toBeGreaterThan(0.99);
    expect(scores(400, { 300: 200 })[300]).toBeGreaterThan(NOVELTY_FLOOR);
  });

  it('rejects a mean longer than the rolling window', () => {
    expect(() => createDetector({ window: 10, noveltyMeanPoints: 11 })).toThrow(NightshiftError);
  });
});

describe('novelty state in snapshots', () => {
  it('round-trips mid-stream and continues identically; the snapshot does not grow with the stream', () => {
    const noise = gaussian(11);
    const a = createDetector();
    const values = Array.from({ length: 9000 }, (_, i) => 50 + 10 * Math.sin(i / 40) + noise() + (i === 8000 ? 80 : 0) + (i > 8500 ? 30 : 0));
    for (let i = 0; i < 7000; i++) a.update(i * STEP, values[i] as number);
    const json = JSON.stringify(a.toJSON());
    const b = restoreDetector(JSON.parse(json));
    for (let i = 7000; i < 9000; i++) expect(b.update(i * STEP, values[i] as number)).toEqual(a.update(i * STEP, values[i] as number));
    const later = JSON.stringify(b.toJSON());
    expect(later.length).toBeLessThan(json.length * 1.2);
  });

  it('restores a version-1 snapshot (no novelty state) with an empty novelty memory', () => {
    const a = createDetector();
    for (let i = 0; i < 100; i++) a.update(i * STEP, 10 + (i % 3));
    const snap = a.toJSON() as Record<string, unknown>;
    const v1 = { ...snap, version: 1 };
    delete v1.novelty;
    const b = restoreDetector(v1);
    expect(Number.isFinite(b.update(100 * STEP, 11).score)).toBe(true);
    const broken = { ...snap, novelty: { values: { mins: [1], maxs: [], curMin: 0, curMax: 0, curN: 0 }, means: { mins: [], maxs: [], curMin: 0, curMax: 0, curN: 0 }, sinceRecord: 0 } };
    expect(() => restoreDetector(broken)).toThrow(NightshiftError);
  });
});

describe('bench/nab on a small synthetic corpus', () => {
  function file(relPath: string, seed: number, n: number, at: number, jump: number): NabFile {
    const noise = gaussian(seed);
    const values = Float64Array.from({ length: n }, (_, i) => 20 + 5 * Math.sin((2 * Math.PI * i) / 288) + noise() + (i >= at ? jump : 0));
    return { relPath, timestamps: Float64Array.from({ length: n }, (_, i) => i * STEP), values, windows: [{ start: at - 50, end: at + 49 }] };
  }

  it('runs the default detector one point at a time, scores it, and writes NAB-layout files', () => {
    const files = [file('synthetic/up.csv', 1, 3000, 2000, 25), file('synthetic/down.csv', 2, 3000, 2500, -25)];
    const corpus: NabCorpus = { dir: '-', files, profiles: { standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1, tnWeight: 1 } }, windowCount: 2 };
    const run = runDetector(corpus, () => createDetector());
    expect(run.points).toBe(6000);
    expect(run.updateNanos).toBeGreaterThan(0);
    const r = new CorpusScorer(corpus).score('standard', run.scores);
    // Both level shifts are caught at their onset (window position -0.5: 0.85 each), with few false positives.
    expect(r.normalized).toBeGreaterThan(85);
    expect(r.files.every((f) => f.tp > 0)).toBe(true);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nab-test-'));
    try {
      writeResults(dir, 'nightshift', corpus, run.scores);
      const text = readFileSync(resultPath(dir, 'nightshift', 'synthetic/up.csv'), 'utf8').split('\n');
      expect(text[0]).toBe('timestamp,value,anomaly_score,label');
      expect(text.length).toBe(3002);
      expect(resultPath(dir, 'nightshift', 'synthetic/up.csv')).toBe(path.join(dir, 'nightshift', 'synthetic', 'nightshift_up.csv'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
