import type { Span } from '../schemas/events.js';

/** Span durations are binned on a log scale (5% wide bins): a bounded, deterministic p95 within 5%. */
const BIN_GROWTH = Math.log(1.05);
const ZERO_BIN = -1_000_000;

/** Aggregate of one scope in one bucket. `hist` has at most a few hundred bins (log scale from 0.01 ms to days). */
export interface Agg {
  count: number;
  errors: number;
  readonly hist: Map<number, number>;
}

function bin(durationMs: number): number {
  return durationMs <= 0.01 ? ZERO_BIN : Math.ceil(Math.log(durationMs) / BIN_GROWTH);
}

/** p95 of an aggregate's durations: the upper edge of the bin holding the 95th percentile. */
export function p95(agg: Agg): number {
  return quantile(agg, 0.95);
}

/** The q-quantile of an aggregate's durations: the upper edge of the bin holding it. */
export function quantile(agg: Agg, q: number): number {
  const rank = Math.max(1, Math.ceil(q * agg.count));
  let seen = 0;
  for (const b of [...agg.hist.keys()].sort((x, y) => x - y)) {
    seen += agg.hist.get(b) ?? 0;
    if (seen >= rank) return b === ZERO_BIN ? 0 : Math.round(Math.exp(b * BIN_GROWTH) * 1000) / 1000;
  }
  return 0;
}

/**
 * Open event-time buckets of per-scope aggregates. A bucket is closed (handed to the callback, then forgotten) once
 * its end is at or before the given time; spans for an already closed bucket are late (counted, not aggregated).
 * Bounds: open buckets are those between the last closed one and the watermark; per bucket at most `maxScopes`
 * scopes (more are counted in `scopeCapped`).
 */
export class RedBuckets {
  private readonly open = new Map<number, Map<string, Agg>>();
  private nextClose: number | undefined;
  private lastData: number | undefined;
  late = 0;
  scopeCapped = 0;

  constructor(
    private readonly bucketMs: number,
    private readonly maxScopes: number,
  ) {}

  add(ts: number, scope: string, span: Span): void {
    this.addValue(ts, scope, span.duration_ms, span.status === 'error');
  }

  /** One measurement of `scope` at `ts`: a duration in ms (a span's, or a derived one such as a call's network time). */
  addValue(ts: number, scope: string, durationMs: number, error: boolean): void {
    const b = Math.floor(ts / this.bucketMs);
    if (this.nextClose === undefined) this.nextClose = b;
    if (b < this.nextClose) {
      this.late++;
      return;
    }
    let aggs = this.open.get(b);
    if (!aggs) {
      aggs = new Map();
      this.open.set(b, aggs);
    }
    let agg = aggs.get(scope);
    if (!agg) {
      if (aggs.size >= this.maxScopes) {
        this.scopeCapped++;
        return;
      }
      agg = { count: 0, errors: 0, hist: new Map() };
      aggs.set(scope, agg);
    }
    agg.count++;
    if (error) agg.errors++;
    const k = bin(durationMs);
    agg.hist.set(k, (agg.hist.get(k) ?? 0) + 1);
  }

  /**
   * Closes buckets ending at or before `t`, in order. Empty buckets are closed too (they carry zero rates) but only
   * up to `zeroFeed` buckets after the last bucket with data; longer gaps are skipped, which bounds the loop.
   */
  closeUpTo(t: number, zeroFeed: number, onClose: (bucket: number, aggs: ReadonlyMap<string, Agg>) => void): void {
    if (this.nextClose === undefined) return;
    const last = Math.floor(t / this.bucketMs) - 1; // the last bucket whose end <= t
    let b = this.nextClose;
    while (b <= last) {
      const aggs = this.open.get(b);
      if (aggs) {
        this.open.delete(b);
        this.lastData = b;
        onClose(b, aggs);
        b++;
        continue;
      }
      if (this.lastData !== undefined && b - this.lastData <= zeroFeed) {
        onClose(b, EMPTY);
        b++;
        continue;
      }
      // A long quiet gap: jump to the next bucket with data (or past `last`).
      let next = last + 1;
      for (const k of this.open.keys()) if (k > b && k < next) next = k;
      b = next;
    }
    this.nextClose = Math.max(this.nextClose, last + 1);
  }
}

const EMPTY: ReadonlyMap<string, Agg> = new Map();
