import type { Blip } from '../noise.js';
import type { Rng } from '../rng.js';
import type { SvcState } from '../state.js';
import type { SimService } from '../world.js';
import { SCOPE, resource, str } from './otlp.js';
import type { RecordBuffer } from './sink.js';
import { nanos } from './time.js';

/** The scraped values of one service at one tick (what Prometheus, and so the alert rules, see). */
/** One exported series point: its name, unit and value (emit/series.ts names them by the scenario's style). */
export interface ExportedPoint {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
}

export interface MetricSnapshot {
  cpu_utilization: number;
  memory_used_bytes: number;
  request_rate: number;
  error_rate: number;
  latency_p95_ms: number;
  connection_pool_utilization?: number;
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

/** Observation noise: p95 is jumpy, error ratio is a binomial estimate over the scrape window. */
export function observe(s: SvcState, intervalMs: number, rng: Rng, blips: readonly Blip[]): MetricSnapshot {
  const n = Math.max(1, s.rps * (intervalMs / 1000));
  const p = s.err;
  const m: MetricSnapshot = {
    cpu_utilization: round(Math.min(1, Math.max(0, s.cpu * (1 + 0.04 * rng.normal()))), 4),
    memory_used_bytes: Math.round(s.mem * (1 + 0.005 * rng.normal())),
    request_rate: round(Math.max(0, s.rps * (1 + 0.03 * rng.normal())), 2),
    error_rate: round(Math.min(1, Math.max(0, p + Math.sqrt((p * (1 - p)) / n) * rng.normal())), 5),
    latency_p95_ms: round(Math.max(0.1, s.p95 * (1 + 0.08 * rng.normal())), 2),
  };
  if (s.svc.tier === 'datastore') m.connection_pool_utilization = round(Math.min(1, Math.max(0, s.pool * (1 + 0.03 * rng.normal()))), 4);
  for (const b of blips) {
    if (b.service !== s.svc.name) continue;
    if (b.metric === 'error_rate') m.error_rate = round(Math.min(1, m.error_rate + 0.02 * b.factor), 5);
    else if (b.metric === 'cpu_utilization') m.cpu_utilization = round(Math.min(1, m.cpu_utilization + 0.08 * b.factor), 4);
    else m[b.metric] = round(m[b.metric] * b.factor, 2);
  }
  return m;
}

const LABELS = { env: 'prod', cluster: 'prod-eu-1' } as const;

/** One pod's points (per-pod shape), or the service's when `pod` is undefined. */
export interface PodPoints {
  readonly pod?: string;
  readonly points: readonly ExportedPoint[];
}

/**
 * Half the services push OTLP gauges (one request per scrape; one resource per pod when exported per pod, with
 * `k8s.pod.name` and `service.instance.id`), half plain points (one record per metric, a `pod` label per pod).
 */
export function emitMetrics(buf: RecordBuffer, svc: SimService, sets: readonly PodPoints[], t: number, deliverAt: number): number {
  if (svc.metricFormat === 'otlp') {
    const time = nanos(t);
    const attrs = [str('k8s.cluster.name', LABELS.cluster)];
    const req = {
      resourceMetrics: sets.map((set) => ({
        resource: resource(svc.name, set.pod === undefined ? [] : [str('k8s.pod.name', set.pod), str('service.instance.id', set.pod)]),
        scopeMetrics: [
          {
            scope: SCOPE,
            metrics: set.points.map((p) => ({
              name: p.name,
              unit: p.unit,
              gauge: { dataPoints: [{ timeUnixNano: time, asDouble: p.value, attributes: attrs }] },
            })),
          },
        ],
      })),
    };
    buf.push('metrics', svc.name, JSON.stringify(req), deliverAt);
    return 1;
  }
  let n = 0;
  for (const set of sets) {
    const labels = set.pod === undefined ? LABELS : { ...LABELS, pod: set.pod };
    for (const p of set.points) {
      buf.push('metrics', svc.name, JSON.stringify({ ts: t, service: svc.name, name: p.name, value: p.value, labels }), deliverAt);
      n++;
    }
  }
  return n;
}
