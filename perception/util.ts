import { stableId } from '../core/hash.js';
import type { RootCauseKind } from '../schemas/common.js';
import type { Signal, SignalType } from '../schemas/signal.js';

/**
 * A Map bounded to `capacity` entries with least-recently-used eviction. "Use" is `get`/`set` through this class
 * (a Map keeps insertion order, so re-inserting on use keeps the oldest first and eviction is O(1) and deterministic).
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  evictions = 0;

  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LruMap capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Reads and marks as most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Reads without changing recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) {
        const k = oldest.value;
        const old = this.map.get(k) as V;
        this.map.delete(k);
        this.evictions++;
        this.onEvict?.(k, old);
      }
    }
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}

/**
 * Told when a symptom is still going on but its signal was rate-limited (or is a re-sent alert): it keeps the
 * incidents of `service` (and `peer`) from resolving while their evidence persists, without adding evidence.
 */
export type KeepAlive = (service: string, ts: number, peer?: string) => void;

export function clamp01(x: number): number {
  if (!Number.isFinite(x)) return x > 0 ? 1 : 0;
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Scores are rounded so that floating-point noise can never make two runs' outputs differ in the last digit. */
export function roundScore(x: number): number {
  return Math.round(clamp01(x) * 1e4) / 1e4;
}

export interface SignalInit {
  readonly type: SignalType;
  readonly ts: number;
  readonly service: string;
  readonly score: number;
  readonly hint: RootCauseKind;
  readonly summary: string;
  readonly ref: string;
  readonly peer?: string;
}

/** A signal's id is derived from what it says, so a replay gives the same ids. */
export function makeSignal(s: SignalInit): Signal {
  const sig: Signal = {
    id: stableId('sig', s.type, s.ref, s.ts, s.service),
    ts: s.ts,
    service: s.service,
    type: s.type,
    score: roundScore(s.score),
    hint: s.hint,
    summary: s.summary.length > 300 ? `${s.summary.slice(0, 297)}...` : s.summary,
    ref: s.ref,
  };
  if (s.peer !== undefined) sig.peer = s.peer;
  return sig;
}

/** Formats a number for summaries without floating-point noise. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}
