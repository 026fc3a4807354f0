import type { RootCauseKind } from '../schemas/common.js';
import type { BundleSeries } from '../schemas/incident.js';
import type { Signal, SignalType } from '../schemas/signal.js';
import { createDetector, type AnomalyDetector } from './anomaly/index.js';
import type { RedConfig } from './config.js';
import type { Direction } from './hints.js';
import { MAX_TRAILS, SignalGate, continueTrail, extendEpisode, round6, type Episode } from './metrics.js';
import { MAX_SERIES_POINTS, type EdgeFigures, type SeriesPoint } from '../schemas/incident.js';
import { PRE_POINTS, DEFAULT_Z_THRESHOLD, bandHalfWidth, newRing, recordPoint, ringLast, ringPoints, type PointRing, type Trail } from './trail.js';
import { stableId } from '../core/hash.js';
import { p95, quantile, type Agg } from './red-buckets.js';
import { LruMap, fmt, makeSignal, type KeepAlive } from './util.js';

export type RedMetric = 'latency' | 'errors' | 'rate';

/** ref of a RED series: scope is `service` or `caller->callee`. */
export function redRef(scope: string, metric: RedMetric): string {
  return stableId('red', scope, metric);
}

interface Track {
  readonly ref: string;
  readonly detector: AnomalyDetector;
  readonly gate: SignalGate;
  readonly direction: Direction;
  /** Anomalous buckets in a row (a gap of one bucket allowed), the first one's time and the last one's. */
  streak: number;
  streakStart: number;
  lastAnomaly: number;
  /** Last few points (trail.ts), and the trail being recorded while an episode lasts. */
  readonly pre: PointRing;
  trail: Trail | undefined;
}

interface Scope {
  /** `service`, `caller->callee` (server side), `caller=>callee` (client side) or `caller~>callee` (network time). */
  readonly label: string;
  /** Network-time scopes judge only their latency (their count is the client edge's). */
  readonly network: boolean;
  readonly service: string;
  readonly peer: string | undefined;
  /** Edge scopes: whose spans measure it (see red.ts). */
  readonly side: 'server' | 'client' | undefined;
  lastActive: number;
  readonly tracks: Readonly<Record<RedMetric, Track>>;
}

const META: Readonly<Record<RedMetric, { type: SignalType; hint: RootCauseKind; direction: Direction; name: string }>> = {
  latency: { type: 'red_latency', hint: 'latency', direction: 'up', name: 'red.latency_p95_ms' },
  errors: { type: 'red_errors', hint: 'errors', direction: 'up', name: 'red.error_ratio' },
  // A collapse or a spike of requests says something is wrong nearby, not what: the ranker weighs it as 'unknown'.
  rate: { type: 'red_rate', hint: 'unknown', direction: 'both', name: 'red.requests_per_bucket' },
};

/** Detectors per RED scope and metric. LRU-bounded by `maxScopes`; an evicted scope restarts its warm-up. */
export class RedScopes {
  private readonly scopes: LruMap<string, Scope>;
  private readonly episodes: LruMap<string, { service: string; name: string; episode: Episode; metric: RedMetric }>;
  /** Points around each recent episode (trail.ts), bounded by count. */
  private readonly trails: LruMap<string, Trail>;

  private readonly bucketMs: number;
  private gaps = 0;

  constructor(
    private readonly cfg: RedConfig,
    private readonly keepAlive?: KeepAlive,
  ) {
    this.bucketMs = cfg.bucketMs;
    this.scopes = new LruMap(cfg.maxScopes);
    this.episodes = new LruMap(cfg.maxScopes);
    this.trails = new LruMap(Math.min(cfg.maxScopes * 3, MAX_TRAILS));
  }

  get size(): number {
    return this.scopes.size;
  }

  get evicted(): number {
    return this.scopes.evictions;
  }

  /** Buckets in which most scopes fell silent together (a feed gap), so no zero rates were judged. */
  get feedGaps(): number {
    return this.gaps;
  }

  private scope(key: string): Scope {
    const hit = this.scopes.get(key);
    if (hit) return hit;
    const parts = key.split('\u0000');
    const network = parts[0] === 'g';
    const side = parts[0] === 'e' ? 'server' : parts[0] === 'c' || network ? 'client' : undefined;
    const service = parts[1] ?? '';
    const peer = side !== undefined ? (parts[2] ?? '') : undefined;
    const label = peer === undefined ? service : network ? `${service}~>${peer}` : side === 'client' ? `${service}=>${peer}` : `${service}->${peer}`;
    const track = (m: RedMetric): Track => ({
      ref: redRef(label, m),
      detector: createDetector({ ...this.cfg.detector, direction: META[m].direction }),
      gate: new SignalGate(this.cfg.cooldownMs, this.cfg.rearmDelta),
      direction: META[m].direction,
      streak: 0,
      streakStart: 0,
      lastAnomaly: -Infinity,
      pre: newRing(),
      trail: undefined,
    });
    // A network-time scope judges its latency only: one detector, not three (the others are never fed).
    const latency = track('latency');
    const tracks = network ? { latency, errors: latency, rate: latency } : { latency, errors: track('errors'), rate: track('rate') };
    const s: Scope = { label, network, service, peer, side, lastActive: -Infinity, tracks };
    this.scopes.set(key, s);
    return s;
  }

  /** Feeds one closed bucket: every scope with spans in it, then zero rates for recently active silent scopes. */
  feed(bucket: number, bucketMs: number, aggs: ReadonlyMap<string, Agg>): Signal[] {
    const ts = bucket * bucketMs;
    const out: Signal[] = [];
    for (const [key, agg] of aggs) {
      const s = this.scope(key);
      s.lastActive = bucket;
      if (s.network) {
        if (agg.count >= this.cfg.minCount) {
          const gap = quantile(agg, 0.5);
          this.judge(s, 'latency', ts, gap, true, `median network time ${fmt(gap)} ms (CLIENT minus SERVER span) over ${agg.count} calls`, out);
        }
        continue;
      }
      if (agg.count >= this.cfg.minCount) {
        const lat = p95(agg);
        this.judge(s, 'latency', ts, lat, true, `p95 ${fmt(lat)} ms over ${agg.count} spans`, out);
      }
      if (agg.count >= this.cfg.minErrorCount) {
        const ratio = agg.errors / agg.count;
        const enough = agg.errors >= this.cfg.minErrors && ratio >= this.cfg.minErrorRatio;
        this.judge(s, 'errors', ts, ratio, enough, `error ratio ${fmt(ratio)} (${agg.errors}/${agg.count})`, out);
      }
      this.judge(s, 'rate', ts, agg.count, true, `${agg.count} requests per ${bucketMs / 1000}s`, out);
    }
    const silent: Scope[] = [];
    let recent = 0;
    for (const [key, s] of this.scopes.entries()) {
      if (s.network || bucket - s.lastActive > this.cfg.zeroFeedBuckets) continue;
      recent++;
      if (!aggs.has(key) && s.lastActive < bucket) silent.push(s);
    }
    if (silent.length >= this.cfg.feedGapMinScopes && silent.length > this.cfg.feedGapFraction * recent) {
      // The feed went quiet, not the services: judging zeros would blame every service at once and teach the
      // rate detectors that silence is normal.
      this.gaps++;
      return out;
    }
    for (const s of silent) this.judge(s, 'rate', ts, 0, true, `0 requests per ${bucketMs / 1000}s`, out);
    return out;
  }

  private judge(s: Scope, m: RedMetric, ts: number, value: number, eligible: boolean, what: string, out: Signal[]): void {
    const t = s.tracks[m];
    const r = t.detector.update(ts, value);
    t.trail = recordPoint(t.pre, t.trail, ts, value, r.expected, bandHalfWidth(value, r.expected, r.deviation, this.cfg.detector.zThreshold ?? DEFAULT_Z_THRESHOLD));
    if (!eligible || !(r.score >= this.cfg.threshold)) return;
    if (m === 'rate' && r.expected < this.cfg.minRateExpected) return;
    if (m === 'latency' && value - r.expected < Math.max(s.network ? this.cfg.minNetworkDeltaMs : this.cfg.minLatencyDeltaMs, this.cfg.minLatencyRelChange * r.expected)) return;
    // Persistence: sparse buckets (few spans) may skip a minute, so one missing bucket does not break a streak.
    if (ts - t.lastAnomaly <= 2 * this.bucketMs) t.streak++;
    else {
      t.streak = 1;
      t.streakStart = ts;
    }
    t.lastAnomaly = ts;
    const need = s.network ? this.cfg.networkMinConsecutive : this.cfg.minConsecutive;
    if (t.streak < need) return;
    const first = t.streak === need ? t.streakStart : ts;
    const meta = META[m];
    const prev = this.episodes.peek(t.ref);
    const ep = extendEpisode(prev?.episode, ts, value, r.expected, t.direction, this.cfg.cooldownMs);
    t.trail = continueTrail(this.trails, t.ref, t.pre, t.trail, ep !== prev?.episode);
    const edgeName = s.network ? `red.network_time_p50_ms -> ${s.peer}` : s.side === 'client' ? `${meta.name} client -> ${s.peer}` : `${meta.name} -> ${s.peer}`;
    this.episodes.set(t.ref, { service: s.service, name: s.peer === undefined ? meta.name : edgeName, episode: ep, metric: m });
    // Network time is measured on the client edge's calls: one family with the client edge's latency.
    const family = s.network ? redRef(`${s.service}=>${s.peer}`, 'latency') : undefined;
    if (!t.gate.pass(ts, r.score)) {
      this.keepAlive?.(s.service, ts, s.peer, m !== 'rate', family ?? t.ref);
      return;
    }
    const where =
      s.peer === undefined
        ? s.service
        : s.network
          ? `calls ${s.service} -> ${s.peer}, time outside ${s.peer}'s own spans (the network between, or ${s.peer} queueing them)`
          : s.side === 'client'
          ? `calls ${s.service} -> ${s.peer} as the caller sees them (${s.peer} or the network between)`
          : `calls ${s.service} -> ${s.peer}`;
    const init = {
      type: meta.type,
      ts: first,
      service: s.service,
      score: r.score,
      hint: meta.hint,
      summary: `${where}: ${what}, expected ${fmt(r.expected)}`,
      ref: t.ref,
      observed: value,
      expected: r.expected,
    };
    out.push(makeSignal(s.peer === undefined ? init : { ...init, peer: s.peer, ...(s.side ? { side: s.side } : {}), ...(family ? { family } : {}) }));
  }

  seriesInfo(ref: string): BundleSeries | undefined {
    const e = this.episodes.peek(ref);
    if (!e) return undefined;
    return { id: ref, service: e.service, name: e.name, baseline: round6(e.episode.baseline), peak: round6(e.episode.peak) };
  }

  /** Display details of a RED series with an episode: its unit and the points around it. */
  seriesDetail(ref: string): { unit?: string; points?: SeriesPoint[] } | undefined {
    const e = this.episodes.peek(ref);
    if (!e) return undefined;
    const t = this.trails.peek(ref);
    return { unit: RED_UNITS[e.metric] ?? `req/${this.bucketMs / 1000}s`, ...(t ? { points: ringPoints(t, MAX_SERIES_POINTS) } : {}) };
  }

  /** The metric a RED series ref measures, when it had an episode. */
  metricOf(ref: string): RedMetric | undefined {
    return this.episodes.peek(ref)?.metric;
  }

  /**
   * Latest figures of a call edge: the last bucket judged on its server side (the callee's spans), else its client
   * side; p95 latency and error ratio with what the detector expected. Undefined when neither was measured.
   */
  edgeFigures(caller: string, callee: string): EdgeFigures | undefined {
    for (const [prefix, side] of [['e', 'server'], ['c', 'client']] as const) {
      const s = this.scopes.peek(`${prefix}\u0000${caller}\u0000${callee}`);
      if (!s) continue;
      const lat = ringLast(s.tracks.latency.pre, PRE_POINTS);
      const err = ringLast(s.tracks.errors.pre, PRE_POINTS);
      if (!lat && !err) continue;
      const f: EdgeFigures = { caller, callee, side, at: Math.max(lat?.ts ?? 0, err?.ts ?? 0) };
      if (lat) {
        f.observed_ms = round6(lat.value);
        f.baseline_ms = round6(lat.expected);
      }
      if (err) {
        f.error_ratio = round6(err.value);
        f.baseline_error_ratio = round6(err.expected);
      }
      return f;
    }
    return undefined;
  }
}

const RED_UNITS: Readonly<Partial<Record<RedMetric, string>>> = { latency: 'ms', errors: 'ratio' };
