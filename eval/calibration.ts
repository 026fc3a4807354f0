/**
 * Confidence calibration of a ranker's top-1 confidence against outcomes (1 = the top cause was right, 0 = wrong).
 * Pure functions: the eval reads the store, these only count.
 */
export interface Outcome {
  /** The published top-1 confidence, in [0, 1]; values outside are clamped (a bad row must not move a bin edge). */
  readonly confidence: number;
  readonly correct: boolean;
}

export interface ReliabilityBin {
  /** [lo, hi): the last bin also holds confidence 1. */
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  /** null for an empty bin: a mean of nothing is not 0. */
  readonly mean_confidence: number | null;
  readonly accuracy: number | null;
}

export const RELIABILITY_BINS = 10;

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** Which of `bins` equal-width bins a confidence falls in; 1.0 goes to the last one, not past it. */
export function binIndex(confidence: number, bins = RELIABILITY_BINS): number {
  return Math.min(bins - 1, Math.floor(clamp01(confidence) * bins));
}

export function reliabilityTable(outcomes: readonly Outcome[], bins = RELIABILITY_BINS): ReliabilityBin[] {
  const n = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const hit = new Array<number>(bins).fill(0);
  for (const o of outcomes) {
    const b = binIndex(o.confidence, bins);
    n[b]! += 1;
    conf[b]! += clamp01(o.confidence);
    if (o.correct) hit[b]! += 1;
  }
  return n.map((count, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count,
    mean_confidence: count ? conf[b]! / count : null,
    accuracy: count ? hit[b]! / count : null,
  }));
}

/** Expected calibration error: Σ (n_b / N) · |accuracy_b − mean confidence_b| over the non-empty bins; null without outcomes. */
export function expectedCalibrationError(table: readonly ReliabilityBin[]): number | null {
  const total = table.reduce((s, b) => s + b.count, 0);
  if (total === 0) return null;
  let e = 0;
  for (const b of table) if (b.count > 0) e += (b.count / total) * Math.abs(b.accuracy! - b.mean_confidence!);
  return e;
}

/** Brier score of the top-1 confidence: mean (confidence − outcome)²; null without outcomes. */
export function brierScore(outcomes: readonly Outcome[]): number | null {
  if (outcomes.length === 0) return null;
  return outcomes.reduce((s, o) => s + (clamp01(o.confidence) - (o.correct ? 1 : 0)) ** 2, 0) / outcomes.length;
}
