import type { ChangeEvent, Span } from '../schemas/events.js';
import { LruMap } from './util.js';

/**
 * Per service and version (`service.version` of the emitting instance), minute aggregates of its own SERVER spans:
 * enough to tell whether a release's new instances behave worse than the old ones. Bounded: `maxServices` services
 * (LRU), `MAX_VERSIONS` versions each (LRU), `MAX_MINUTES` minutes per version (ring).
 */
const MAX_VERSIONS = 8;
const MAX_MINUTES = 120;
const MINUTE = 60_000;

interface Minute {
  minute: number;
  count: number;
  errors: number;
  latencySum: number;
}

interface VersionStats {
  readonly version: string;
  readonly firstSeen: number;
  lastSeen: number;
  readonly minutes: Minute[];
}

export type Verdict = 'degraded' | 'healthy' | 'unknown';

export interface ChangeVerdict {
  readonly verdict: Verdict;
  readonly comparison: string;
}

export interface VersionConfig {
  /** Spans each side needs before a verdict other than `unknown`. */
  readonly minSpans: number;
  /** Degraded: error ratio up by at least this much (absolute) and at least doubled, or ... */
  readonly errorDelta: number;
  /** ... mean latency at least this many times the old one and `latencyDeltaMs` more. */
  readonly latencyFactor: number;
  readonly latencyDeltaMs: number;
  /** The old version is judged on this much time before the change, plus any time after it. */
  readonly baselineMs: number;
}

export const DEFAULT_VERSION_CONFIG: VersionConfig = { minSpans: 30, errorDelta: 0.05, latencyFactor: 1.5, latencyDeltaMs: 20, baselineMs: 30 * MINUTE };

export class VersionTracker {
  private readonly services: LruMap<string, LruMap<string, VersionStats>>;

  constructor(
    maxServices: number,
    private readonly cfg: VersionConfig = DEFAULT_VERSION_CONFIG,
  ) {
    this.services = new LruMap(maxServices);
  }

  observe(span: Span): void {
    if (span.version === undefined || (span.span_kind !== 'server' && span.span_kind !== 'consumer')) return;
    let versions = this.services.get(span.service);
    if (!versions) {
      versions = new LruMap(MAX_VERSIONS);
      this.services.set(span.service, versions);
    }
    let v = versions.get(span.version);
    if (!v) {
      v = { version: span.version, firstSeen: span.ts, lastSeen: span.ts, minutes: [] };
      versions.set(span.version, v);
    }
    if (span.ts > v.lastSeen) v.lastSeen = span.ts;
    const minute = Math.floor(span.ts / MINUTE);
    let m = v.minutes.find((x) => x.minute === minute);
    if (!m) {
      m = { minute, count: 0, errors: 0, latencySum: 0 };
      v.minutes.push(m);
      v.minutes.sort((a, b) => a.minute - b.minute);
      if (v.minutes.length > MAX_MINUTES) v.minutes.shift();
    }
    m.count++;
    if (span.status === 'error') m.errors++;
    m.latencySum += span.duration_ms;
  }

  /**
   * Whether a change's release degraded its service: the new version (the change's own, else the first version seen
   * from a minute before the change on) against the version that served before it, each on its spans from the
   * change to `now` (the old one also on `baselineMs` before the change). A change without versioned telemetry is
   * `unknown`, never guilty by timing alone here; the ranker decides what `unknown` is worth.
   */
  verdict(ch: ChangeEvent, now: number): ChangeVerdict {
    const versions = this.services.peek(ch.service);
    if (!versions) return { verdict: 'unknown', comparison: `no versioned spans of ${ch.service}` };
    const all = [...versions.values()];
    const fresh =
      (ch.version !== undefined ? all.find((v) => v.version === ch.version) : undefined) ??
      all.filter((v) => v.firstSeen >= ch.ts - MINUTE).sort((a, b) => a.firstSeen - b.firstSeen)[0];
    if (!fresh) return { verdict: 'unknown', comparison: `no new version of ${ch.service} seen after the change` };
    const old = all.filter((v) => v !== fresh && v.firstSeen < ch.ts).sort((a, b) => b.lastSeen - a.lastSeen)[0];
    if (!old) return { verdict: 'unknown', comparison: `no earlier version of ${ch.service} to compare ${fresh.version} with` };
    const a = sum(fresh, ch.ts, now);
    const b = sum(old, ch.ts - this.cfg.baselineMs, now);
    const words = `${fresh.version} vs ${old.version}: errors ${pct(a)} vs ${pct(b)}, mean latency ${ms(a)} vs ${ms(b)} over ${a.count} / ${b.count} spans`;
    if (a.count < this.cfg.minSpans || b.count < this.cfg.minSpans) return { verdict: 'unknown', comparison: `${words} (too few spans)` };
    const ea = a.errors / a.count;
    const eb = b.errors / b.count;
    const la = a.latencySum / a.count;
    const lb = b.latencySum / b.count;
    const worseErrors = ea - eb >= this.cfg.errorDelta && ea >= 2 * eb;
    const worseLatency = la >= this.cfg.latencyFactor * lb && la - lb >= this.cfg.latencyDeltaMs;
    return { verdict: worseErrors || worseLatency ? 'degraded' : 'healthy', comparison: words };
  }
}

function sum(v: VersionStats, from: number, to: number): { count: number; errors: number; latencySum: number } {
  const out = { count: 0, errors: 0, latencySum: 0 };
  const lo = Math.floor(from / MINUTE);
  const hi = Math.floor(to / MINUTE);
  for (const m of v.minutes) {
    if (m.minute < lo || m.minute > hi) continue;
    out.count += m.count;
    out.errors += m.errors;
    out.latencySum += m.latencySum;
  }
  return out;
}

const pct = (s: { count: number; errors: number }): string => (s.count === 0 ? '-' : `${((100 * s.errors) / s.count).toFixed(1)}%`);
const ms = (s: { count: number; latencySum: number }): string => (s.count === 0 ? '-' : `${(s.latencySum / s.count).toFixed(0)} ms`);
