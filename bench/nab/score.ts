/**
 * Scoring a detector over the NAB corpus, as NAB's runner does it: per profile, the sweep points of every file,
 * one threshold optimised over the corpus, each file scored at that threshold, the total normalized between the
 * null detector (never fires) and the perfect one (every window caught at its left edge: tpWeight per window).
 * Two threshold optimisers: 'twiddle', NAB's hill-climb, which produced the published thresholds and scores, and
 * 'sweep', the exhaustive search over every distinct score of NAB v1.1's sweeper (never lower, sometimes higher).
 */
export type Optimizer = 'twiddle' | 'sweep';
import type { NabCorpus } from './corpus.js';
import {
  bestThreshold,
  normalizedScore,
  scoreAtThreshold,
  scoresByThreshold,
  sweepPoints,
  thresholdObjective,
  twiddle,
  type CostMatrix,
  type Counts,
  type ScoredSeries,
  type SweepPoints,
} from './sweeper.js';

export interface FileScore extends Counts {
  readonly relPath: string;
  readonly score: number;
}

export interface ProfileResult {
  readonly profile: string;
  readonly optimizer: Optimizer;
  readonly threshold: number;
  /** Sum of the per-file scores at the threshold. */
  readonly raw: number;
  readonly nullScore: number;
  readonly perfect: number;
  readonly normalized: number;
  readonly files: readonly FileScore[];
}

/** Sweep points per profile and file: they depend only on the corpus, so one set serves every detector. */
export class CorpusScorer {
  private readonly points = new Map<string, SweepPoints[]>();
  private readonly nullScores = new Map<string, number>();

  constructor(readonly corpus: NabCorpus) {}

  profiles(): string[] {
    return Object.keys(this.corpus.profiles);
  }

  private cost(profile: string): CostMatrix {
    const c = this.corpus.profiles[profile];
    if (c === undefined) throw new Error(`unknown NAB profile ${profile}`);
    return c;
  }

  private sweep(profile: string): SweepPoints[] {
    let p = this.points.get(profile);
    if (p === undefined) {
      const cost = this.cost(profile);
      p = this.corpus.files.map((f) => sweepPoints(f.timestamps.length, f.windows, cost));
      this.points.set(profile, p);
    }
    return p;
  }

  private series(profile: string, scores: readonly ArrayLike<number>[]): ScoredSeries[] {
    const pts = this.sweep(profile);
    if (scores.length !== pts.length) throw new Error(`${scores.length} score columns for ${pts.length} files`);
    return pts.map((points, i) => ({ anomalyScore: scores[i] as ArrayLike<number>, points }));
  }

  /** Corpus-wide threshold and its raw total (NAB's optimize step). */
  optimize(profile: string, scores: readonly ArrayLike<number>[], optimizer: Optimizer = 'twiddle'): { threshold: number; score: number } {
    const rows = scoresByThreshold(this.series(profile, scores), this.cost(profile));
    if (optimizer === 'twiddle') return twiddle(thresholdObjective(rows));
    const best = bestThreshold(rows);
    return { threshold: best.threshold, score: best.score };
  }

  /** Per-file scores at a threshold (NAB's score step). */
  scoreFiles(profile: string, scores: readonly ArrayLike<number>[], threshold: number): FileScore[] {
    const cost = this.cost(profile);
    return this.series(profile, scores).map((s, i) => {
      const row = scoreAtThreshold(scoresByThreshold([s], cost), threshold);
      const { tp, tn, fp, fn, score } = row;
      return { relPath: (this.corpus.files[i] as { relPath: string }).relPath, score, tp, tn, fp, fn };
    });
  }

  /** The null detector's total: NAB's null detector outputs 0.5 everywhere and goes through the same steps. */
  nullScore(profile: string): number {
    let v = this.nullScores.get(profile);
    if (v === undefined) {
      const flat = this.corpus.files.map((f) => new Float64Array(f.timestamps.length).fill(0.5));
      const { threshold } = this.optimize(profile, flat);
      v = sum(this.scoreFiles(profile, flat, threshold).map((f) => f.score));
      this.nullScores.set(profile, v);
    }
    return v;
  }

  score(profile: string, scores: readonly ArrayLike<number>[], optimizer: Optimizer = 'twiddle'): ProfileResult {
    const { threshold } = this.optimize(profile, scores, optimizer);
    const files = this.scoreFiles(profile, scores, threshold);
    const raw = sum(files.map((f) => f.score));
    const nullScore = this.nullScore(profile);
    const perfect = this.corpus.windowCount * this.cost(profile).tpWeight;
    return { profile, optimizer, threshold, raw, nullScore, perfect, normalized: normalizedScore(raw, nullScore, perfect), files };
  }

  scoreAll(scores: readonly ArrayLike<number>[], optimizer: Optimizer = 'twiddle'): ProfileResult[] {
    return this.profiles().map((p) => this.score(p, scores, optimizer));
  }
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
