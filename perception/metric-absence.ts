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
 *  - more than `maxShare` of the services at once: the collection stopped, not the services: counted only.
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
  silent: boolean;
}

export interface AbsenceStats {
  /** Series whose silence was signalled, instances replaced (not signalled), checks that saw a collection gap. */
  seriesStopped: number;
  requestSeriesStopped: number;
  servicesStopped: number;
  instancesGone: number;
  collectionGaps: number;
}

const EWMA = 0.2;

export class SeriesAbsence {
  private readonly watched: LruMap<string, Watched>;
  private nextCheck = Number.NEGATIVE_INFINITY;
  /** Services whose stop was signalled and that have not reported since (pruned to the tracked services). */
  private down = new Set<string>();
  private readonly counts: AbsenceStats = { seriesStopped: 0, requestSeriesStopped: 0, servicesStopped: 0, instancesGone: 0, collectionGaps: 0 };

  constructor(
    private readonly cfg: AbsenceConfig,
    maxSeries: number,
  ) {
    this.watched = new LruMap(maxSeries);
  }

  seen(id: string, service: string, instance: string | undefined, family: string, name: string, state: boolean, ts: number): void {
    if (this.cfg.intervals <= 0) return;
    const w = this.watched.get(id);
    if (!w) {
      this.watched.set(id, { id, service, instance, family, name, state, lastTs: ts, interval: 0, points: 1, silent: false });
      return;
    }
    const gap = ts - w.lastTs;
    if (gap <= 0) return;
    w.interval = w.points === 1 ? gap : w.interval + EWMA * (gap - w.interval);
    w.lastTs = ts;
    w.points++;
    w.silent = false;
  }

  check(watermark: number): Signal[] {
    if (this.cfg.intervals <= 0 || watermark < this.nextCheck) return [];
    this.nextCheck = watermark + this.cfg.checkMs;
    // Per service and per instance: regular series, and those newly silent.
    const services = new Map<string, { live: number; silent: Watched[]; fresh: Watched[] }>();
    const instances = new Map<string, { live: number }>();
    for (const w of this.watched.values()) {
      if (w.points < this.cfg.minPoints) continue;
      const quiet = watermark - w.lastTs > Math.max(this.cfg.intervals * w.interval, this.cfg.minMs);
      let s = services.get(w.service);
      if (!s) services.set(w.service, (s = { live: 0, silent: [], fresh: [] }));
      const ik = `${w.service}\u0000${w.instance ?? ''}`;
      let i = instances.get(ik);
      if (!i) instances.set(ik, (i = { live: 0 }));
      if (!quiet) {
        s.live++;
        i.live++;
      } else {
        s.silent.push(w);
        if (!w.silent) s.fresh.push(w);
      }
    }
    this.down = new Set([...this.down].filter((svc) => services.get(svc)?.live === 0));
    const fresh = [...services.values()].filter((s) => s.fresh.length > 0);
    if (fresh.length === 0) return [];
    for (const s of fresh) for (const w of s.fresh) w.silent = true;
    // Services that went quiet now, against those still reporting (long-dead ones count for neither).
    const newlyDead = [...services.entries()].filter(([svc, s]) => s.live === 0 && s.fresh.length > 0 && !this.down.has(svc)).length;
    const alive = [...services.values()].filter((s) => s.live > 0).length;
    if (newlyDead > 0 && (alive === 0 || newlyDead > this.cfg.maxShare * (alive + newlyDead))) {
      for (const [svc, s] of services) if (s.live === 0) this.down.add(svc);
      this.counts.collectionGaps++;
      return [];
    }
    const out: Signal[] = [];
    for (const [service, s] of [...services.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (s.fresh.length === 0) continue;
      if (s.live === 0) {
        if (this.down.has(service)) continue;
        this.down.add(service);
        this.counts.servicesStopped++;
        // Named by its series that reported last (ties: the smallest id), timed one interval after that point.
        const last = s.silent.reduce((a, w) => (w.lastTs > a.lastTs || (w.lastTs === a.lastTs && w.id < a.id) ? w : a));
        out.push(
          makeSignal({
            type: 'metric_anomaly',
            ts: last.lastTs + Math.round(last.interval),
            service,
            score: this.cfg.serviceScore,
            hint: 'errors',
            summary: `${service} stopped reporting metrics: ${s.silent.length} series silent since ${new Date(last.lastTs).toISOString()} (every ${fmt(last.interval / 1000)} s before), while other services report`,
            ref: last.id,
          }),
        );
        continue;
      }
      const byFamily = new Map<string, Watched>();
      for (const w of s.fresh) {
        if (w.instance !== undefined && (instances.get(`${service}\u0000${w.instance}`)?.live ?? 0) === 0) {
          this.counts.instancesGone++;
          continue;
        }
        if (!w.state) {
          this.counts.requestSeriesStopped++;
          continue;
        }
        const prev = byFamily.get(w.family);
        if (!prev || w.id < prev.id) byFamily.set(w.family, w);
      }
      for (const w of [...byFamily.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
        this.counts.seriesStopped++;
        out.push(
          makeSignal({
            type: 'metric_anomaly',
            ts: w.lastTs + Math.round(w.interval),
            service,
            score: this.cfg.score,
            hint: 'unknown',
            summary: `metric series stopped in ${service}: ${w.name} reported every ${fmt(w.interval / 1000)} s, nothing since ${new Date(w.lastTs).toISOString()}`,
            ref: w.id,
            family: w.family,
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
