import { performance } from 'node:perf_hooks';

/** Requests per second and burst per token name; perSecond 0 turns limiting off. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** Generous: a busy OpenTelemetry collector exports a few batches per second; this is for runaway clients. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 200, burst: 400 };

export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterSec: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per name. Names come from the token set, so the map stays as small as the set. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.perSecond >= 0) || !(limit.burst >= 1)) throw new RangeError(`rate limit needs perSecond >= 0 and burst >= 1, got ${JSON.stringify(limit)}`);
  }

  take(name: string): Take {
    if (this.limit.perSecond === 0) return { ok: true };
    const t = this.now();
    const b = this.buckets.get(name) ?? { tokens: this.limit.burst, at: t };
    b.tokens = Math.min(this.limit.burst, b.tokens + ((t - b.at) / 1000) * this.limit.perSecond);
    b.at = t;
    this.buckets.set(name, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    // Whole seconds, as Retry-After needs; at least 1 so a client never retries at once.
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - b.tokens) / this.limit.perSecond)) };
  }

  /** Drops the buckets of names no longer in the set. */
  retain(names: ReadonlySet<string>): void {
    for (const n of this.buckets.keys()) if (!names.has(n)) this.buckets.delete(n);
  }
}
