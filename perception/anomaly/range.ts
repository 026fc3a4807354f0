/**
 * The range (min, max) of roughly the last `window` points, kept as per-block extremes: the window is cut into
 * blocks of `block` points; a finished block keeps only its min and max, and the oldest block leaves when a new one
 * starts once the window is full. So the range covers between window - block and window points, at O(1) amortised
 * work per point (the extremes over finished blocks are recomputed once per block, O(window / block)).
 * Bound: 2 * ceil(window / block) + 4 numbers, whatever the stream length.
 */

export interface BlockRangeState {
  mins: number[];
  maxs: number[];
  curMin: number;
  curMax: number;
  curN: number;
}

export class BlockRange {
  private readonly blocks: number;
  /** Finished blocks, oldest first. */
  private mins: number[] = [];
  private maxs: number[] = [];
  private curMin = Infinity;
  private curMax = -Infinity;
  private curN = 0;
  /** Extremes over the finished blocks (recomputed when a block finishes). */
  private doneMin = Infinity;
  private doneMax = -Infinity;

  constructor(
    readonly window: number,
    readonly block: number,
    state?: BlockRangeState,
  ) {
    // At least one finished block is kept, so a window smaller than a block still has a memory.
    this.blocks = Math.max(1, Math.ceil(window / block) - 1);
    if (state !== undefined) {
      this.mins = state.mins.slice(-this.blocks);
      this.maxs = state.maxs.slice(-this.blocks);
      this.curMin = state.curN > 0 ? state.curMin : Infinity;
      this.curMax = state.curN > 0 ? state.curMax : -Infinity;
      this.curN = Math.min(state.curN, block);
      this.refresh();
    }
  }

  /** Points currently summarised (finished blocks count in full). */
  get size(): number {
    return this.mins.length * this.block + this.curN;
  }

  get min(): number {
    return Math.min(this.doneMin, this.curMin);
  }

  get max(): number {
    return Math.max(this.doneMax, this.curMax);
  }

  /**
   * How far `x` lies outside the range, as a fraction of the range's width: positive above the max, negative below
   * the min, 0 inside (or with nothing seen). The width has a floor relative to the level (`relFloor` |level|, then
   * `absFloor`) so a constant series gives a finite answer.
   */
  extension(x: number, relFloor: number, absFloor: number): number {
    if (this.size === 0) return 0;
    const hi = this.max;
    const lo = this.min;
    const width = Math.max(hi - lo, relFloor * Math.max(Math.abs(hi), Math.abs(lo)), absFloor);
    if (x > hi) return (x - hi) / width;
    if (x < lo) return (x - lo) / width;
    return 0;
  }

  push(x: number): void {
    if (x < this.curMin) this.curMin = x;
    if (x > this.curMax) this.curMax = x;
    this.curN++;
    if (this.curN < this.block) return;
    this.mins.push(this.curMin);
    this.maxs.push(this.curMax);
    if (this.mins.length > this.blocks) {
      this.mins.shift();
      this.maxs.shift();
    }
    this.curMin = Infinity;
    this.curMax = -Infinity;
    this.curN = 0;
    this.refresh();
  }

  private refresh(): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < this.mins.length; k++) {
      lo = Math.min(lo, this.mins[k] as number);
      hi = Math.max(hi, this.maxs[k] as number);
    }
    this.doneMin = lo;
    this.doneMax = hi;
  }

  /** JSON-safe: an empty current block stores 0s (Infinity is not JSON). */
  snapshot(): BlockRangeState {
    return {
      mins: [...this.mins],
      maxs: [...this.maxs],
      curMin: this.curN > 0 ? this.curMin : 0,
      curMax: this.curN > 0 ? this.curMax : 0,
      curN: this.curN,
    };
  }
}
