import type { Signal } from '../schemas/signal.js';
import { LruMap, fmt, makeSignal } from './util.js';

/**
 * Series that stop reporting. A series is regular once it has `minPoints` points; its interval is an EWMA of the
 * gaps between them. It is silent once the watermark is `intervals` intervals (and at least `minMs`) past its last
 * point. What a silence means depends on what else went silent with it:
 *  - every series of a service (and another service still reports): the service stopped being scraped or stopped
 *    exporting: a process down, an instance unreachable (Prometheus' `up == 0`). An errors symptom, strong;
 *  - some state series (CPU, memory, a pool, a queue: kinds saturation and resource) of a service or instance while
 *    its others go on (a worker or an exporter inside it stopped): weak evidence (hint `unknown`), like a log line
 *    that stops. A request-driven series (latency, errors, traffic) that stops means requests stopped coming, which
 *    the span rate detectors judge with the callers that stopped sending them; blamed here on the service that
 *    receives no more calls it would point away from the cause (measured on real recordings: a caller's failure
 *    silenced its callees' latency series and made them look guilty). Counted, not signalled;
 *  - every series of one instance while the service's other instances go on: an instance replaced (a rollout, a
 *    rescheduled pod), routine in a cluster: counted, not signalled;
 *  - a service whose related services (its topology neighbourhood) went quiet with it, more than `maxShare` of
 *    them, or none of which still reports: the collection stopped, not the service: counted only.
 * Each silence signals once; the series re-arms when it reports again. Checked every `checkMs` of event time over
 * the tracked series (bounded like the detectors: `maxSeries`, LRU).
 */
export interface AbsenceConfig {
  readonly intervals: number;
  readonly minPoints: number;
  readonly minMs: number;
  readonly checkMs: number;
  readonly score: number;
  readonly serviceScore: number;
  readonly maxShare: number;
}

interface Watched {
  readonly id: string;
  readonly service: string;
  readonly instance: string | undefined;
  readonly family: string;
  readonly name: string;
  /** A state gauge (saturation, resource) rather than a request-driven measure. */
  readonly state: boolean;
  lastTs: number;
  interval: number;
  points: number;
  /** The same three before the last point (see `check`: what the series looked like at a past instant). */
  prevTs: number | undefined;
  prevInterval: number;
  prevPoints: number;
  silent: boolean;
}

export interface AbsenceStats {
  /** Series whose silence was signalled, request-driven ones and instances replaced (counted only), services whose silence was a collection gap. */
  seriesStopped: number;
  requestSeriesStopped: number;
  servicesStopped: number;
  instancesGone: number;
  collectionGaps: number;
}

const EWMA = 0.2;

/** A silent series as it stood at the instant judged. */
interface Quiet {
  readonly w: Watched;
  readonly lastTs: number;
  readonly interval: number;
}

export class SeriesAbsence {
  private readonly watched: LruMap<string, Watched>;
  private lastSlot = Number.NEGATIVE_INFINITY;
  /** Services whose stop was signalled and that have not reported since (pruned to the tracked services). */
  private down = new Set<string>();
  private readonly counts: AbsenceStats = { seriesStopped: 0, requestSeriesStopped: 0, servicesStopped: 0, instancesGone: 0, collectionGaps: 0 };

  constructor(
    private readonly cfg: AbsenceConfig,
    maxSeries: number,
    /**
     * The services whose reporting tells a service's silence from a collection gap (itself included): its topology
     * neighbourhood. Not every service: in cluster mode a perception partition sees only its own components, and a
     * verdict must not depend on what else shares the partition. Default: every tracked service.
     */
    private readonly related?: (service: string) => ReadonlySet<string> | ReadonlyMap<string, unknown>,
  ) {
    this.watched = new LruMap(maxSeries);
  }

  seen(id: string, service: string, instance: string | undefined, family: string, name: string, state: boolean, ts: number): void {
    if (this.cfg.intervals <= 0) return;
    const w = this.watched.get(id);
    if (!w) {
      this.watched.set(id, { id, service, instance, family, name, state, lastTs: ts, interval: 0, points: 1, prevTs: undefined, prevInterval: 0, prevPoints: 0, silent: false });
      return;
    }
    const gap = ts - w.lastTs;
    if (gap <= 0) return;
    w.prevTs = w.lastTs;
    w.prevInterval = w.interval;
    w.prevPoints = w.points;
    w.interval = w.points === 1 ? gap : w.interval + EWMA * (gap - w.interval);
    w.lastTs = ts;
    w.points++;
  }

  /**
   * Judged at fixed instants (every `checkMs` of event time), each as of that instant: a point that arrived after it
   * is not counted yet. So the verdict does not depend on which events happened to move the watermark past it (in
   * cluster mode a partition sees fewer of them than a replay does), and a replay and a Kafka run agree.
   */
  check(watermark: number): Signal[] {
    if (this.cfg.intervals <= 0) return [];
    const slot = Math.floor(watermark / this.cfg.checkMs);
    if (slot <= this.lastSlot) return [];
    this.lastSlot = slot;
    const at = slot * this.cfg.checkMs;
    // Per service and per instance: regular series, and those newly silent (each as of `at`).
    const services = new Map<string, { live: number; silent: Quiet[]; fresh: Quiet[] }>();
    const instances = new Map<string, { live: number }>();
    for (const w of this.watched.values()) {
      const past = w.lastTs <= at;
      const lastTs = past ? w.lastTs : w.prevTs;
      const points = past ? w.points : w.prevPoints;
      const interval = past ? w.interval : w.prevInterval;
      if (lastTs === undefined || points < this.cfg.minPoints) continue;
      const quiet = at - lastTs > Math.max(this.cfg.intervals * interval, this.cfg.minMs);
      if (!quiet) w.silent = false;
      let s = services.get(w.service);
      if (!s) services.set(w.service, (s = { live: 0, silent: [], fresh: [] }));
      const ik = `${w.service}\u0000${w.instance ?? ''}`;
      let i = instances.get(ik);
      if (!i) instances.set(ik, (i = { live: 0 }));
      if (!quiet) {
        s.live++;
        i.live++;
      } else {
        const q = { w, lastTs, interval };
        s.silent.push(q);
        if (!w.silent) s.fresh.push(q);
      }
    }
    this.down = new Set([...this.down].filter((svc) => services.get(svc)?.live === 0));
    const out: Signal[] = [];
    for (const [service, s] of [...services.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (s.fresh.length === 0) continue;
      for (const q of s.fresh) q.w.silent = true;
      if (s.live === 0) {
        if (this.down.has(service)) continue;
        this.down.add(service);
        // Its neighbourhood: the services that went quiet with it, against those still reporting.
        const hood = this.related?.(service);
        let alive = 0;
        let dead = 0;
        for (const [svc, o] of services) {
          if (svc === service || (hood !== undefined && !hood.has(svc))) continue;
          if (o.live > 0) alive++;
          else if (o.silent.some((q) => at - q.lastTs <= this.cfg.checkMs + Math.max(this.cfg.intervals * q.interval, this.cfg.minMs))) dead++;
        }
        if (alive === 0 || dead + 1 > this.cfg.maxShare * (alive + dead + 1)) {
          this.counts.collectionGaps++;
          continue;
        }
        this.counts.servicesStopped++;
        // Named by its series that reported last (ties: the smallest id), timed one interval after that point.
        const last = s.silent.reduce((x, q) => (q.lastTs > x.lastTs || (q.lastTs === x.lastTs && q.w.id < x.w.id) ? q : x));
        out.push(
          makeSignal({
            type: 'metric_anomaly',
            ts: last.lastTs + Math.round(last.interval),
            service,
            score: this.cfg.serviceScore,
            hint: 'errors',
            summary: `${service} stopped reporting metrics: ${s.silent.length} series silent since ${new Date(last.lastTs).toISOString()} (every ${fmt(last.interval / 1000)} s before), while ${alive} related service${alive === 1 ? '' : 's'} report`,
            ref: last.w.id,
          }),
        );
        continue;
      }
      const byFamily = new Map<string, Quiet>();
      for (const q of s.fresh) {
        const w = q.w;
        if (w.instance !== undefined && (instances.get(`${service}\u0000${w.instance}`)?.live ?? 0) === 0) {
          this.counts.instancesGone++;
          continue;
        }
        if (!w.state) {
          this.counts.requestSeriesStopped++;
          continue;
        }
        const prev = byFamily.get(w.family);
        if (!prev || w.id < prev.w.id) byFamily.set(w.family, q);
      }
      for (const q of [...byFamily.values()].sort((a, b) => (a.w.id < b.w.id ? -1 : 1))) {
        this.counts.seriesStopped++;
        out.push(
          makeSignal({
            type: 'metric_anomaly',
            ts: q.lastTs + Math.round(q.interval),
            service,
            score: this.cfg.score,
            hint: 'unknown',
            summary: `metric series stopped in ${service}: ${q.w.name} reported every ${fmt(q.interval / 1000)} s, nothing since ${new Date(q.lastTs).toISOString()}`,
            ref: q.w.id,
            family: q.w.family,
          }),
        );
      }
    }
    return out;
  }

  stats(): AbsenceStats {
    return { ...this.counts };
  }
}
