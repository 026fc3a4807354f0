import { idOfInput, labelledInput, StableIdMemo } from '../core/hash.js';
import type { MetricPoint } from '../schemas/events.js';
import type { BundleSeries } from '../schemas/incident.js';
import type { Signal } from '../schemas/signal.js';
import { DetectorConfig, createDetector, type AnomalyDetector } from './anomaly/index.js';
import type { MetricsConfig } from './config.js';
import type { Direction } from './hints.js';
import { StatsMeaning, displayUnit, metricEdge, seriesFamily, seriesMeaning, type MetricEdge } from './meaning.js';
import { POST_POINTS, DEFAULT_Z_THRESHOLD, bandHalfWidth, newRing, recordPoint, ringPoints, trailFrom, type PointRing, type Trail } from './trail.js';
import { MAX_SERIES_POINTS, type SeriesPoint } from '../schemas/incident.js';
import { LruMap, fmt, makeSignal, type KeepAlive } from './util.js';
import { instanceOf, type VersionedPoint } from './versions.js';
import { SeriesAbsence, type AbsenceStats } from './metric-absence.js';
import { SeriesHabit, type HabitConfig } from './habit.js';

/** The anomaly currently (or last) shown by a series: where it came from and how far it went. */
export interface Episode {
  startTs: number;
  baseline: number;
  peak: number;
  lastTs: number;
}

/** Rate limit shared by metric and RED signals: one signal per cooldown unless the score rises by `rearmDelta`. */
export class SignalGate {
  lastTs: number | undefined;
  lastScore = 0;
  constructor(
    private readonly cooldownMs: number,
    private readonly rearmDelta: number,
  ) {}
  pass(ts: number, score: number): boolean {
    const ok = this.lastTs === undefined || ts - this.lastTs >= this.cooldownMs || score >= this.lastScore + this.rearmDelta;
    if (ok) {
      this.lastTs = ts;
      this.lastScore = score;
    }
    return ok;
  }
}

/** Tracks the episode of an anomalous series; a new one starts after a cooldown without anomalies. */
export function extendEpisode(ep: Episode | undefined, ts: number, value: number, expected: number, direction: Direction, gapMs: number): Episode {
  if (!ep || ts - ep.lastTs > gapMs) return { startTs: ts, baseline: expected, peak: value, lastTs: ts };
  const further =
    direction === 'up' ? value > ep.peak : direction === 'down' ? value < ep.peak : Math.abs(value - ep.baseline) > Math.abs(ep.peak - ep.baseline);
  if (further) ep.peak = value;
  ep.lastTs = ts;
  return ep;
}

interface Series {
  readonly id: string;
  readonly service: string;
  readonly name: string;
  /** Mutable only while `learning`: a series of unknown meaning may learn one from its own values. */
  direction: Direction;
  hint: ReturnType<typeof seriesMeaning>['kind'];
  learning: StatsMeaning | undefined;
  /** The meaning came from the values (its detector judges both ways, so the wrong way is ignored here). */
  learned: boolean;
  readonly family: string;
  /** A series of one call edge (a label names the other end). */
  readonly edge: MetricEdge | undefined;
  readonly detector: AnomalyDetector;
  readonly gate: SignalGate;
  lastTs: number;
  episode: Episode | undefined;
  /** Display unit (meaning.ts displayUnit), for evidence. */
  readonly unit: string | undefined;
  /** Last few points (trail.ts), and the trail being recorded while an episode lasts. */
  readonly pre: PointRing;
  trail: Trail | undefined;
  /** Anomalous points in a row, and the time of the first. */
  streak: number;
  streakStart: number;
  /** The emitting instance and version (labels), for release verdicts; both undefined for a service-wide series. */
  readonly instance: string | undefined;
  readonly version: string | undefined;
  /** Its recent episodes, to tell its usual spikes from news (habit.ts). */
  readonly habit: SeriesHabit;
}

/** stableId('series', service, name, ...each `k=v` of labels in key order), asked for on every point. */
export function seriesId(service: string, name: string, labels: Readonly<Record<string, string>>, memo?: StableIdMemo): string {
  const input = labelledInput([service, name], labels);
  return memo ? memo.idOfInput(input) : idOfInput('series', input);
}

export interface MetricStats {
  points: number;
  series: number;
  seriesEvicted: number;
  outOfOrder: number;
  absence: AbsenceStats;
}

/**
 * One anomaly detector per series (service, name, labels). Series are LRU-bounded: an evicted series that returns
 * starts a fresh warm-up (score 0), so eviction can only cost sensitivity, never add false signals.
 */
export class MetricPerception {
  private readonly series: LruMap<string, Series>;
  /** Episodes outlive eviction of their series for a while so bundles can still show them (bounded the same way). */
  private readonly episodes: LruMap<string, { service: string; name: string; episode: Episode; unit: string | undefined }>;
  /** Points around each recent episode (trail.ts), bounded by count. */
  private readonly trails: LruMap<string, Trail>;
  /** Previous point of cumulative distributions, per series (bounded like the series). */
  private readonly cumulative: LruMap<string, { count: number; counts: readonly number[] | undefined }>;
  private points = 0;
  private outOfOrder = 0;
  /** Series ids: one sha1 per series, not one per point. */
  private readonly ids = new StableIdMemo('series');
  private readonly absence: SeriesAbsence;
  /** The detectors' warm-up in points, as their config resolves it (StatsMeaning learns over the same points). */
  private readonly warmupPoints: number;
  private readonly habitCfg: HabitConfig;

  constructor(
    private readonly cfg: MetricsConfig,
    private readonly keepAlive?: KeepAlive,
    /** Told every latency or error point of one instance or version (versions.ts judges releases with them). */
    private readonly onVersionedPoint?: (p: VersionedPoint) => void,
    /** A service's neighbourhood, for telling its silence from a collection gap (metric-absence.ts). */
    related?: (service: string) => ReadonlySet<string> | ReadonlyMap<string, unknown>,
  ) {
    this.series = new LruMap(cfg.maxSeries);
    this.episodes = new LruMap(cfg.maxSeries);
    this.trails = new LruMap(Math.min(cfg.maxSeries, MAX_TRAILS));
    this.cumulative = new LruMap(cfg.maxSeries);
    this.warmupPoints = DetectorConfig.parse(cfg.detector).warmupPoints;
    this.habitCfg = { episodes: cfg.habitEpisodes, windowMs: cfg.habitWindowMs, briefMs: cfg.habitBriefMs, magnitude: cfg.habitMagnitude, weight: cfg.habitWeight };
    this.absence = new SeriesAbsence(
      {
        intervals: cfg.absentIntervals,
        minPoints: cfg.absentMinPoints,
        minMs: cfg.absentMinMs,
        checkMs: cfg.absentCheckMs,
        score: cfg.absentScore,
        serviceScore: cfg.absentServiceScore,
        maxShare: cfg.absentMaxShare,
      },
      cfg.maxSeries,
      related,
    );
  }

  /** Event time moved on: series that stopped reporting (metric-absence.ts). */
  advance(watermark: number): Signal[] {
    return this.absence.check(watermark);
  }

  observe(p: MetricPoint): Signal[] {
    if (p.dist) return this.observeDistribution(p, p.dist);
    return this.observeScalar(p);
  }

  /**
   * A distribution point becomes scalar series: quantiles (p50, p95, p99: one evidence family) and the count per
   * interval. Cumulative histograms and summary counts are differenced against the series' previous point (a count
   * that went down is a restart: that point only resets the state).
   */
  private observeDistribution(p: MetricPoint, d: NonNullable<MetricPoint['dist']>): Signal[] {
    this.points++;
    const key = seriesId(p.service, p.name, p.labels, this.ids);
    const prev = this.cumulative.get(key);
    let counts = d.counts;
    let count = d.count;
    if (d.temporality === 'cumulative') {
      this.cumulative.set(key, { count: d.count, counts: d.counts });
      if (!prev || prev.count > d.count) return [];
      count = d.count - prev.count;
      if (d.counts && prev.counts && prev.counts.length === d.counts.length) counts = d.counts.map((c, i) => Math.max(0, c - (prev.counts?.[i] ?? 0)));
      else if (d.kind === 'histogram') return [];
    }
    const out: Signal[] = [];
    const emit = (name: string, value: number, extra: Record<string, string>, unit: string | undefined): void => {
      const q: MetricPoint = { kind: 'metric', id: p.id, ts: p.ts, service: p.service, name, value, labels: { ...p.labels, ...extra } };
      if (unit !== undefined) q.unit = unit;
      out.push(...this.observeScalar(q, false));
    };
    const qs: Array<[number, number]> = d.kind === 'summary' ? (d.quantiles ?? []) : count > 0 && counts && d.bounds ? QUANTILES.map((q) => [q, bucketQuantile(d.bounds!, counts!, q)]) : [];
    for (const [q, v] of qs) if (Number.isFinite(v)) emit(p.name, v, { quantile: String(q) }, p.unit);
    emit(`${p.name}.count`, count, {}, undefined);
    return out;
  }

  private observeScalar(p: MetricPoint, countPoint = true): Signal[] {
    if (countPoint) this.points++;
    const id = seriesId(p.service, p.name, p.labels, this.ids);
    let s = this.series.get(id);
    if (!s) {
      const h = seriesMeaning(p.name, p.unit);
      s = {
        id,
        service: p.service,
        name: p.name,
        direction: h.direction,
        hint: h.kind,
        // Names and units said nothing: the first points (the detector's warm-up) may (meaning.ts StatsMeaning).
        learned: false,
        learning: h.kind === 'unknown' && h.direction === 'both' ? new StatsMeaning(this.warmupPoints) : undefined,
        family: seriesFamily(p.service, p.name, p.labels),
        edge: metricEdge(p.service, p.labels),
        detector: createDetector({ ...this.cfg.detector, direction: h.direction }),
        gate: new SignalGate(this.cfg.cooldownMs, this.cfg.rearmDelta),
        lastTs: p.ts,
        episode: undefined,
        unit: displayUnit(p.name, p.unit),
        pre: newRing(),
        trail: undefined,
        streak: 0,
        streakStart: p.ts,
        instance: instanceOf(p.labels),
        version: p.labels['service.version'],
        habit: new SeriesHabit(),
      };
      this.series.set(id, s);
    } else if (p.ts < s.lastTs) {
      // Detectors assume time moves forward per series; a late point would corrupt the baseline.
      this.outOfOrder++;
      return [];
    }
    s.lastTs = p.ts;
    if (s.learning) {
      const m = s.learning.observe(p.value);
      if (m !== undefined) s.learning = undefined;
      if (m) {
        // The detector judges both ways; a ratio at its ceiling can only fall, so that is its downward judgement.
        s.hint = m.kind;
        s.direction = m.direction;
        s.learned = true;
      }
    }
    this.absence.seen(id, s.service, s.instance, s.family, s.name, s.hint === 'saturation' || s.hint === 'resource', p.ts);
    if (this.onVersionedPoint && (s.hint === 'latency' || s.hint === 'errors') && (s.instance !== undefined || s.version !== undefined) && !s.edge) {
      this.onVersionedPoint({ service: s.service, ts: p.ts, value: p.value, instance: s.instance, version: s.version, family: s.family, name: s.name, kind: s.hint, direction: s.direction });
    }
    const r = s.detector.update(p.ts, p.value);
    s.trail = recordPoint(s.pre, s.trail, p.ts, p.value, r.expected, bandHalfWidth(p.value, r.expected, r.deviation, this.cfg.detector.zThreshold ?? DEFAULT_Z_THRESHOLD));
    const wrongWay = s.learned && (s.direction === 'down' ? r.deviation > 0 : s.direction === 'up' && r.deviation < 0);
    if (!(r.score >= this.cfg.threshold) || wrongWay || !this.material(s, p.value, r.expected)) {
      s.streak = 0;
      return [];
    }
    if (s.streak++ === 0) s.streakStart = p.ts;
    if (s.streak < this.cfg.minConsecutive) return [];
    const prevEpisode = s.episode;
    s.episode = extendEpisode(s.episode, p.ts, p.value, r.expected, s.direction, this.cfg.cooldownMs);
    if (prevEpisode && s.episode !== prevEpisode) s.habit.record(prevEpisode.startTs, prevEpisode.lastTs, prevEpisode.peak - prevEpisode.baseline, this.habitCfg);
    s.trail = continueTrail(this.trails, id, s.pre, s.trail, s.episode !== prevEpisode);
    this.episodes.set(id, { service: s.service, name: s.name, episode: s.episode, unit: s.unit });
    // Judged on this point, not the episode's peak: a habitual spike that keeps rising past the habit becomes news
    // (the gate lets the higher score through as a rise of at least rearmDelta).
    const habitWeight = s.habit.weight(s.episode.startTs, p.value - r.expected, this.habitCfg);
    const score = r.score * habitWeight;
    if (!s.gate.pass(p.ts, score)) {
      this.keepAlive?.(s.edge?.caller ?? p.service, p.ts, s.edge?.callee, s.hint !== 'unknown' && habitWeight === 1, s.family);
      return [];
    }
    const labelText = Object.keys(p.labels).length > 0 ? ` ${JSON.stringify(p.labels)}` : '';
    const edge = s.edge ? { service: s.edge.caller, peer: s.edge.callee, side: s.edge.side } : { service: p.service };
    return [
      makeSignal({
        type: 'metric_anomaly',
        ts: s.streak === this.cfg.minConsecutive ? s.streakStart : p.ts,
        ...edge,
        score,
        hint: s.hint,
        summary: `${p.service} ${p.name}${labelText} = ${fmt(p.value)}, expected ${fmt(r.expected)}${habitWeight < 1 ? ' (no bigger than its usual spikes)' : ''}`,
        ref: id,
        family: s.family,
        observed: p.value,
        expected: r.expected,
      }),
    ];
  }

  /** Is the change big enough to matter, whatever the detector's statistics say? */
  private material(s: Series, value: number, expected: number): boolean {
    const delta = value - expected;
    if (s.hint === 'errors' && Math.max(Math.abs(value), Math.abs(expected)) <= 100) {
      // An error or success ratio: judged on how much of the traffic went bad, in its own scale (0-1 or 0-100 %),
      // not relative to its level (a success rate from 100 to 90 is a 10% relative change and a serious outage).
      const bad = s.direction === 'down' ? -delta : delta;
      const scale = Math.max(Math.abs(value), Math.abs(expected)) > 1 ? 100 : 1;
      return bad >= this.cfg.minErrorDelta * scale;
    }
    if (Math.abs(delta) < this.cfg.minRelChange * Math.abs(expected)) return false;
    return true;
  }

  /** Bundle view of a series' latest anomaly episode. */
  seriesInfo(id: string): BundleSeries | undefined {
    const e = this.episodes.peek(id);
    if (!e) return undefined;
    return { id, service: e.service, name: e.name, baseline: round6(e.episode.baseline), peak: round6(e.episode.peak) };
  }

  /** Display details of a series with an episode: its unit and the points around it. */
  seriesDetail(id: string): { unit?: string; points?: SeriesPoint[] } | undefined {
    const e = this.episodes.peek(id);
    if (!e) return undefined;
    const t = this.trails.peek(id);
    return { ...(e.unit !== undefined ? { unit: e.unit } : {}), ...(t ? { points: ringPoints(t, MAX_SERIES_POINTS) } : {}) };
  }

  stats(): MetricStats {
    return { points: this.points, series: this.series.size, seriesEvicted: this.series.evictions, outOfOrder: this.outOfOrder, absence: this.absence.stats() };
  }
}

/** Trails kept at most (each up to MAX_SERIES_POINTS points): the series with the most recent episodes. */
export const MAX_TRAILS = 2048;

/**
 * An anomalous point extended an episode: keep recording its trail (the active one, or the episode's frozen one
 * when the anomaly resumed), or start one from the points kept before it (a new episode).
 */
export function continueTrail(trails: LruMap<string, Trail>, id: string, pre: PointRing, active: Trail | undefined, fresh: boolean): Trail {
  const t = active ?? (fresh ? undefined : trails.peek(id)) ?? trailFrom(pre);
  t.post = POST_AFTER;
  if (trails.peek(id) !== t) trails.set(id, t);
  return t;
}
const POST_AFTER = POST_POINTS;

export function round6(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : 0;
}

const QUANTILES = [0.5, 0.95, 0.99] as const;

/**
 * The q-quantile of a histogram interval: the bucket holding rank q * total, interpolated linearly inside it (the
 * first bucket from 0, the +Inf bucket at its lower bound), as Prometheus' histogram_quantile does.
 */
export function bucketQuantile(bounds: readonly number[], counts: readonly number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return NaN;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number;
    if (seen + c >= rank && c > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? 0;
      const lo = i === 0 ? Math.min(0, bounds[0] as number) : (bounds[i - 1] as number);
      const hi = bounds[i] as number;
      return lo + (hi - lo) * ((rank - seen) / c);
    }
    seen += c;
  }
  return bounds[bounds.length - 1] ?? 0;
}
