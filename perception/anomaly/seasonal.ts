/**
 * Same-phase memory for one season (a day, an hour): the period is cut into `buckets` phases; each bucket
 * accumulates the current cycle's (clipped) mean, and when the bucket is next visited in a later cycle that mean
 * joins a ring of the last `cycles` cycle means. The expectation for a phase is the MEDIAN of those past cycle means
 * (one bad day does not move it), linearly interpolated toward the neighbouring bucket by the position inside the
 * bucket (so a smooth curve is followed smoothly, not as a staircase).
 * Bound: buckets x (cycles + 3) numbers. Work per point: O(1), plus a sort of at most `cycles` numbers when a
 * bucket rolls over to a new cycle (once per bucket per cycle).
 */

/** Before any point: lower than any cycle index, and JSON-safe (unlike -Infinity). */
const NO_CYCLE = Number.MIN_SAFE_INTEGER;

export interface SeasonalBucketState {
  cycle: number;
  sum: number;
  n: number;
  /** Past cycle means, oldest first. */
  past: number[];
}

export class SeasonalProfile {
  private readonly state: SeasonalBucketState[];
  private readonly pastMedian: Float64Array;

  constructor(
    readonly periodMs: number,
    readonly buckets: number,
    readonly cycles: number,
    readonly minCycles: number,
    state?: readonly SeasonalBucketState[],
  ) {
    this.state = [];
    this.pastMedian = new Float64Array(buckets);
    for (let b = 0; b < buckets; b++) {
      const s = state?.[b];
      this.state.push(s ? { cycle: s.cycle, sum: s.sum, n: s.n, past: [...s.past] } : { cycle: NO_CYCLE, sum: 0, n: 0, past: [] });
      this.refreshMedian(b);
    }
  }

  /** Phase position in buckets, in [0, buckets). */
  private phase(ts: number): number {
    const p = this.periodMs;
    const r = ((ts % p) + p) % p;
    return (r / p) * this.buckets;
  }

  private ready(b: number): boolean {
    return (this.state[b] as SeasonalBucketState).past.length >= this.minCycles;
  }

  /** The same-phase expectation at `ts`, or null while this phase has too few past cycles. */
  expected(ts: number): number | null {
    const ph = this.phase(ts);
    const b = Math.min(this.buckets - 1, Math.floor(ph));
    if (!this.ready(b)) return null;
    const here = this.pastMedian[b] as number;
    // Interpolate between bucket centres: offset in (-0.5, 0.5) from this bucket's centre.
    const off = ph - b - 0.5;
    const nb = off >= 0 ? (b + 1) % this.buckets : (b - 1 + this.buckets) % this.buckets;
    if (!this.ready(nb)) return here;
    const there = this.pastMedian[nb] as number;
    return here + (there - here) * Math.abs(off);
  }

  /** Records a value (already clipped by the caller). Points from a cycle older than the bucket's are ignored. */
  observe(ts: number, value: number): void {
    const b = Math.min(this.buckets - 1, Math.floor(this.phase(ts)));
    const s = this.state[b] as SeasonalBucketState;
    const cycle = Math.floor(ts / this.periodMs);
    if (cycle < s.cycle) return;
    if (cycle > s.cycle) {
      if (s.n > 0) {
        s.past.push(s.sum / s.n);
        if (s.past.length > this.cycles) s.past.shift();
        this.refreshMedian(b);
      }
      s.cycle = cycle;
      s.sum = 0;
      s.n = 0;
    }
    s.sum += value;
    s.n++;
  }

  private refreshMedian(b: number): void {
    const past = (this.state[b] as SeasonalBucketState).past;
    if (past.length === 0) {
      this.pastMedian[b] = 0;
      return;
    }
    const s = [...past].sort((x, y) => x - y);
    const mid = s.length >> 1;
    this.pastMedian[b] = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  }

  snapshot(): SeasonalBucketState[] {
    return this.state.map((s) => ({ cycle: s.cycle, sum: s.sum, n: s.n, past: [...s.past] }));
  }
}
