import type { ChangeEvent, Span } from '../schemas/events.js';
import type { Direction } from './hints.js';
import { LruMap } from './util.js';

/**
 * Whether a release degraded its service, judged on what its new instances do, never on timing alone.
 *
 * Per service, a few cohorts: one per instance (`service.instance.id` / `k8s.pod.name` of spans and metric labels)
 * or, when the producer names no instance, one per `service.version`. Each cohort keeps minute aggregates of its own
 * SERVER/CONSUMER spans and of its latency and error metric families (P90 of one pod and P90 of another are the same
 * family). A release's new cohorts are those of the change's version, else those first seen from a minute before the
 * change on (new pods have new names even when nobody labels the version); the old cohorts are the others.
 *
 * Comparison, in order of preference:
 *  1. side by side: the minutes after the change in which old and new instances both served (a rolling update, a
 *     canary). Trouble elsewhere, a slow database below, hits both alike, so only the release's own fault shows;
 *  2. against the old instances' own recent behaviour before the change (a full replacement leaves nothing to run
 *     beside): weaker, since trouble that started with the release's timing also counts against it.
 * The verdict's text names which one it was. Bounded: `maxServices` services (LRU), MAX_COHORTS cohorts each (LRU),
 * MAX_MINUTES minutes per cohort and measure (ring), MAX_FAMILIES metric families per cohort.
 */
const MAX_COHORTS = 16;
const MAX_MINUTES = 120;
const MAX_FAMILIES = 16;
const MINUTE = 60_000;

interface SpanMinute {
  minute: number;
  count: number;
  errors: number;
  latencySum: number;
}

interface MetricMinute {
  minute: number;
  sum: number;
  n: number;
}

interface Family {
  readonly name: string;
  readonly kind: 'latency' | 'errors';
  readonly direction: Direction;
  readonly minutes: MetricMinute[];
}

interface Cohort {
  readonly instance: string | undefined;
  version: string | undefined;
  readonly firstSeen: number;
  lastSeen: number;
  readonly spans: SpanMinute[];
  readonly families: LruMap<string, Family>;
}

export type Verdict = 'degraded' | 'healthy' | 'unknown';

export interface ChangeVerdict {
  readonly verdict: Verdict;
  readonly comparison: string;
}

export interface VersionConfig {
  /** Spans each side needs before spans decide anything. */
  readonly minSpans: number;
  /** Metric points each side needs before a metric family decides anything. */
  readonly minPoints: number;
  /** Degraded: error ratio up by at least this much (absolute; of 100 for a percentage) and at least doubled, or ... */
  readonly errorDelta: number;
  /** ... mean latency at least this many times the old one and (spans) `latencyDeltaMs` more. */
  readonly latencyFactor: number;
  readonly latencyDeltaMs: number;
  /** Without instances side by side, the old ones are judged on this much time before the change. */
  readonly baselineMs: number;
}

export const DEFAULT_VERSION_CONFIG: VersionConfig = { minSpans: 30, minPoints: 3, errorDelta: 0.05, latencyFactor: 1.5, latencyDeltaMs: 20, baselineMs: 30 * MINUTE };

/** A metric point as the tracker needs it: which instance, which family, what it means. */
export interface VersionedPoint {
  readonly service: string;
  readonly ts: number;
  readonly value: number;
  readonly instance: string | undefined;
  readonly version: string | undefined;
  readonly family: string;
  readonly name: string;
  readonly kind: 'latency' | 'errors';
  readonly direction: Direction;
}

/** Label keys that name the emitting instance, most specific first (ingest writes `service.instance.id`). */
const INSTANCE_KEYS = ['service.instance.id', 'k8s.pod.name', 'pod', 'pod_name'] as const;

export function instanceOf(labels: Readonly<Record<string, string>>): string | undefined {
  for (const k of INSTANCE_KEYS) {
    const v = labels[k];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

export class VersionTracker {
  private readonly services: LruMap<string, LruMap<string, Cohort>>;

  constructor(
    maxServices: number,
    private readonly cfg: VersionConfig = DEFAULT_VERSION_CONFIG,
  ) {
    this.services = new LruMap(maxServices);
  }

  observe(span: Span): void {
    if (span.span_kind !== 'server' && span.span_kind !== 'consumer') return;
    const c = this.cohort(span.service, span.instance, span.version, span.ts);
    if (!c) return;
    const m = minuteOf(c.spans, span.ts, () => ({ minute: 0, count: 0, errors: 0, latencySum: 0 }));
    m.count++;
    if (span.status === 'error') m.errors++;
    m.latencySum += span.duration_ms;
  }

  /** A latency or error metric point of one instance (or version): evidence for or against its release. */
  observeMetric(p: VersionedPoint): void {
    if (!Number.isFinite(p.value)) return;
    const c = this.cohort(p.service, p.instance, p.version, p.ts);
    if (!c) return;
    let f = c.families.get(p.family);
    if (!f) {
      f = { name: p.name, kind: p.kind, direction: p.direction, minutes: [] };
      c.families.set(p.family, f);
    }
    const m = minuteOf(f.minutes, p.ts, () => ({ minute: 0, sum: 0, n: 0 }));
    m.sum += p.value;
    m.n++;
  }

  private cohort(service: string, instance: string | undefined, version: string | undefined, ts: number): Cohort | undefined {
    // Neither an instance nor a version: nothing tells old from new.
    if (instance === undefined && version === undefined) return undefined;
    let cohorts = this.services.get(service);
    if (!cohorts) {
      cohorts = new LruMap(MAX_COHORTS);
      this.services.set(service, cohorts);
    }
    const key = instance !== undefined ? `i\u0000${instance}` : `v\u0000${version}`;
    let c = cohorts.get(key);
    if (!c) {
      c = { instance, version, firstSeen: ts, lastSeen: ts, spans: [], families: new LruMap(MAX_FAMILIES) };
      cohorts.set(key, c);
    }
    if (version !== undefined) c.version = version;
    if (ts > c.lastSeen) c.lastSeen = ts;
    return c;
  }

  /**
   * The verdict on a change at event time `now`: `degraded` when a measure of the new cohorts is worse than the old
   * ones' (see the class comment for which minutes are compared), `healthy` when measures had enough data and none
   * was worse, `unknown` without versioned or per-instance telemetry (never guilty by timing alone here).
   */
  verdict(ch: ChangeEvent, now: number): ChangeVerdict {
    const cohorts = this.services.peek(ch.service);
    if (!cohorts) return { verdict: 'unknown', comparison: `no versioned spans of ${ch.service}` };
    const split = splitCohorts([...cohorts.values()], ch);
    if (!split) return { verdict: 'unknown', comparison: `no new version of ${ch.service} seen after the change` };
    const { fresh, old } = split;
    const label = (cs: readonly Cohort[]): string => {
      const versions = [...new Set(cs.map((c) => c.version).filter((v): v is string => v !== undefined))].sort();
      const pods = cs.filter((c) => c.instance !== undefined).length;
      const v = versions.length > 0 ? versions.join('+') : 'instances';
      return pods > 0 ? `${v} (${pods} instance${pods === 1 ? '' : 's'})` : v;
    };
    if (old.length === 0) return { verdict: 'unknown', comparison: `no earlier version of ${ch.service} to compare ${label(fresh)} with` };
    const lo = Math.floor(ch.ts / MINUTE);
    const hi = Math.floor(now / MINUTE);
    // Minutes after the change in which both sides served.
    const both = new Set<number>();
    const freshMinutes = new Set(fresh.flatMap((c) => c.spans.map((m) => m.minute)));
    for (const c of old) for (const m of c.spans) if (m.minute >= lo && m.minute <= hi && freshMinutes.has(m.minute)) both.add(m.minute);
    const a = sumSpans(fresh, (m) => m >= lo && m <= hi);
    const sideA = sumSpans(fresh, (m) => both.has(m));
    const sideB = sumSpans(old, (m) => both.has(m));
    const beside = sideA.count >= this.cfg.minSpans && sideB.count >= this.cfg.minSpans;
    const baseLo = Math.floor((ch.ts - this.cfg.baselineMs) / MINUTE);
    const [na, nb] = beside ? [sideA, sideB] : [a, sumSpans(old, (m) => m >= baseLo && m <= hi)];
    const parts: string[] = [];
    let worse = false;
    let judged = false;
    if (na.count > 0 || nb.count > 0) {
      parts.push(`errors ${pct(na)} vs ${pct(nb)}, mean latency ${ms(na)} vs ${ms(nb)} over ${na.count} / ${nb.count} spans`);
      if (na.count >= this.cfg.minSpans && nb.count >= this.cfg.minSpans) {
        judged = true;
        const ea = na.errors / na.count;
        const eb = nb.errors / nb.count;
        const la = na.latencySum / na.count;
        const lb = nb.latencySum / nb.count;
        if ((ea - eb >= this.cfg.errorDelta && ea >= 2 * eb) || (la >= this.cfg.latencyFactor * lb && la - lb >= this.cfg.latencyDeltaMs)) worse = true;
      } else parts[parts.length - 1] += ' (too few spans)';
    }
    const metrics = this.compareMetrics(fresh, old, lo, hi, baseLo);
    if (metrics.judged) judged = true;
    if (metrics.worse.length > 0) worse = true;
    parts.push(...metrics.worse.slice(0, 2));
    const mode = beside ? `side by side over ${both.size} min` : metrics.beside ? 'side by side' : 'against the old ones before the change';
    const words = `${label(fresh)} vs ${label(old)}: ${parts.join('; ') || 'no comparable measures'} (${mode})`;
    if (!judged) return { verdict: 'unknown', comparison: words };
    return { verdict: worse ? 'degraded' : 'healthy', comparison: words };
  }

  /** Latency and error families measured on both sides: which are worse on the new cohorts. */
  private compareMetrics(fresh: readonly Cohort[], old: readonly Cohort[], lo: number, hi: number, baseLo: number): { judged: boolean; beside: boolean; worse: string[] } {
    const out = { judged: false, beside: false, worse: [] as string[] };
    const keys = new Set(fresh.flatMap((c) => [...c.families.entries()].map(([k]) => k)));
    for (const key of [...keys].sort()) {
      const fa = fresh.map((c) => c.families.peek(key)).filter((f): f is Family => f !== undefined);
      const fb = old.map((c) => c.families.peek(key)).filter((f): f is Family => f !== undefined);
      if (fa.length === 0 || fb.length === 0) continue;
      const newMinutes = new Set(fa.flatMap((f) => f.minutes.filter((m) => m.minute >= lo && m.minute <= hi).map((m) => m.minute)));
      const shared = new Set(fb.flatMap((f) => f.minutes.filter((m) => newMinutes.has(m.minute)).map((m) => m.minute)));
      let a = meanOf(fa, (m) => shared.has(m));
      let b = meanOf(fb, (m) => shared.has(m));
      const beside = a.n >= this.cfg.minPoints && b.n >= this.cfg.minPoints;
      if (!beside) {
        a = meanOf(fa, (m) => m >= lo && m <= hi);
        b = meanOf(fb, (m) => m >= baseLo && m < lo);
      }
      if (a.n < this.cfg.minPoints || b.n < this.cfg.minPoints) continue;
      out.judged = true;
      if (beside) out.beside = true;
      const f = fa[0] as Family;
      const va = a.sum / a.n;
      const vb = b.sum / b.n;
      if (worseMetric(f, va, vb, this.cfg)) out.worse.push(`${f.name} ${fmt(va)} vs ${fmt(vb)}`);
    }
    return out;
  }
}

function worseMetric(f: Family, va: number, vb: number, cfg: VersionConfig): boolean {
  if (f.kind === 'latency') return vb > 0 ? va >= cfg.latencyFactor * vb : va > 0;
  // An error or success ratio, in its own scale (0-1 or 0-100 %).
  const scale = Math.max(Math.abs(va), Math.abs(vb)) > 1 ? 100 : 1;
  if (f.direction === 'down') return vb - va >= cfg.errorDelta * scale;
  return va - vb >= cfg.errorDelta * scale && va >= 2 * vb;
}

/** New cohorts of a change and the old ones they are compared with; undefined when nothing new was seen. */
function splitCohorts(all: readonly Cohort[], ch: ChangeEvent): { fresh: Cohort[]; old: Cohort[] } | undefined {
  let fresh = ch.version !== undefined ? all.filter((c) => c.version === ch.version) : [];
  if (fresh.length === 0) {
    const early = all.filter((c) => c.firstSeen >= ch.ts - MINUTE);
    // Without the change's version: the first version to appear, or, unversioned, every instance that appeared.
    const first = early.filter((c) => c.version !== undefined).sort((x, y) => x.firstSeen - y.firstSeen)[0];
    fresh = first ? early.filter((c) => c.version === first.version) : early.filter((c) => c.version === undefined);
  }
  if (fresh.length === 0) return undefined;
  const newVersions = new Set(fresh.map((c) => c.version).filter((v) => v !== undefined));
  const old = all.filter((c) => !fresh.includes(c) && c.firstSeen < ch.ts && (c.version === undefined || !newVersions.has(c.version)));
  // Versioned cohorts: the old side is the version that served last before the change (as a rollback compares with it).
  const versioned = old.filter((c) => c.version !== undefined);
  if (versioned.length > 0 && versioned.length === old.length) {
    const last = [...versioned].sort((x, y) => y.lastSeen - x.lastSeen)[0] as Cohort;
    return { fresh, old: old.filter((c) => c.version === last.version) };
  }
  return { fresh, old };
}

/** The minute bucket of `ts` in a ring ordered by minute (MAX_MINUTES kept). */
function minuteOf<M extends { minute: number }>(ring: M[], ts: number, make: () => M): M {
  const minute = Math.floor(ts / MINUTE);
  const last = ring[ring.length - 1];
  if (last?.minute === minute) return last;
  let m = ring.find((x) => x.minute === minute);
  if (m) return m;
  m = make();
  m.minute = minute;
  ring.push(m);
  if (last !== undefined && last.minute > minute) ring.sort((x, y) => x.minute - y.minute);
  if (ring.length > MAX_MINUTES) ring.shift();
  return m;
}

function sumSpans(cs: readonly Cohort[], keep: (minute: number) => boolean): { count: number; errors: number; latencySum: number } {
  const out = { count: 0, errors: 0, latencySum: 0 };
  for (const c of cs) {
    for (const m of c.spans) {
      if (!keep(m.minute)) continue;
      out.count += m.count;
      out.errors += m.errors;
      out.latencySum += m.latencySum;
    }
  }
  return out;
}

function meanOf(fs: readonly Family[], keep: (minute: number) => boolean): { sum: number; n: number } {
  const out = { sum: 0, n: 0 };
  for (const f of fs) {
    for (const m of f.minutes) {
      if (!keep(m.minute)) continue;
      out.sum += m.sum;
      out.n += m.n;
    }
  }
  return out;
}

const pct = (s: { count: number; errors: number }): string => (s.count === 0 ? '-' : `${((100 * s.errors) / s.count).toFixed(1)}%`);
const ms = (s: { count: number; latencySum: number }): string => (s.count === 0 ? '-' : `${(s.latencySum / s.count).toFixed(0)} ms`);
const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));
