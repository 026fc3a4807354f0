import { BlockRange, type BlockRangeState } from './range.js';

/**
 * Novelty: a point that sets a new extreme for roughly the last `window` points — either the value itself or the
 * mean of the last `meanPoints` values (a sustained shift in a noisy series breaks the range of means before any
 * single value breaks the range of values) — while also deviating from the expected value by at least `zGate`
 * robust sigmas in the same direction. Only the first such point of a run scores: a point within `runGap` points of
 * the previous record is part of the same event (a trend or a shift sets records point after point; it is one
 * change, not many). This is what the NAB labels reward: one early detection per anomaly, few repeats.
 * Score of a scored record: NOVELTY_FLOOR + (1 - NOVELTY_FLOOR)(1 - exp(-(e - minExtension) / scale)), e the
 * extension beyond the range as a fraction of the range's width; records extending it by less than `minExtension`
 * count as run members but do not score.
 * Bound: two BlockRanges (2 * ceil(window / block) + 4 numbers each) and a counter.
 */

/** Scores at or above this are novelty events; deviation scores stay below it. */
export const NOVELTY_FLOOR = 0.9;

export interface NoveltyConfig {
  readonly window: number;
  readonly block: number;
  readonly meanPoints: number;
  readonly runGap: number;
  readonly zGate: number;
  readonly minExtension: number;
  readonly scale: number;
  readonly relFloor: number;
  readonly absFloor: number;
}

export interface NoveltyState {
  values: BlockRangeState;
  means: BlockRangeState;
  /** Points since the last record, capped at runGap (JSON-safe, bounded). */
  sinceRecord: number;
}

export type Direction = 'up' | 'down' | 'both';

export class NoveltyTracker {
  private readonly values: BlockRange;
  private readonly means: BlockRange;
  private sinceRecord: number;

  constructor(
    private readonly cfg: NoveltyConfig,
    state?: NoveltyState,
  ) {
    this.values = new BlockRange(cfg.window, cfg.block, state?.values);
    this.means = new BlockRange(cfg.window, cfg.block, state?.means);
    this.sinceRecord = Math.min(state?.sinceRecord ?? cfg.runGap, cfg.runGap);
  }

  /**
   * Judges `x` (and the recent mean, null until `meanPoints` values exist) against the ranges, then learns them.
   * `z` is the signed robust deviation of `x`; `scoring` false (warm-up) learns without judging.
   */
  observe(x: number, mean: number | null, z: number, direction: Direction, scoring: boolean): number {
    const c = this.cfg;
    let score = 0;
    if (scoring) {
      const eV = this.values.extension(x, c.relFloor, c.absFloor);
      const eM = mean === null ? 0 : this.means.extension(mean, c.relFloor, c.absFloor);
      const e = Math.abs(eM) > Math.abs(eV) ? eM : eV;
      const allowed = direction === 'up' ? e > 0 : direction === 'down' ? e < 0 : e !== 0;
      if (allowed && Math.sign(e) * z >= c.zGate) {
        const mag = Math.abs(e);
        if (this.sinceRecord >= c.runGap && mag >= c.minExtension) {
          score = NOVELTY_FLOOR + (1 - NOVELTY_FLOOR) * (1 - Math.exp(-(mag - c.minExtension) / c.scale));
        }
        this.sinceRecord = 0;
      }
    }
    if (this.sinceRecord < c.runGap) this.sinceRecord++;
    this.values.push(x);
    if (mean !== null) this.means.push(mean);
    return score;
  }

  snapshot(): NoveltyState {
    return { values: this.values.snapshot(), means: this.means.snapshot(), sinceRecord: this.sinceRecord };
  }
}
