import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import { Labels } from '../../schemas/common.js';
import type { MetricPoint } from '../../schemas/events.js';
import { check, requireService, type Collector } from './collect.js';
import { Int64, attributesToLabels, walkOtlp, type OtlpResource } from './otlp.js';
import { parseNanos } from './time.js';

const DataPoints = z.object({ dataPoints: z.array(z.unknown()).optional() });

const OtlpMetric = z.object({
  name: z.string().min(1),
  unit: z.string().max(64).optional(),
  gauge: DataPoints.optional(),
  sum: DataPoints.extend({ aggregationTemporality: z.unknown().optional(), isMonotonic: z.boolean().optional() }).optional(),
  histogram: DataPoints.optional(),
  exponentialHistogram: DataPoints.optional(),
  summary: DataPoints.optional(),
});

const NumberDataPoint = z.object({
  attributes: z.unknown().optional(),
  timeUnixNano: Int64.optional(),
  asDouble: z.union([z.number(), z.string()]).optional(),
  asInt: z.union([z.number().int(), z.string().regex(/^-?\d{1,20}$/, 'expected a decimal integer string')]).optional(),
  flags: z.number().int().optional(),
});

/** OTLP DataPointFlags.NO_RECORDED_VALUE: the point marks a gap (e.g. a stale series), it carries no value. */
const FLAG_NO_RECORDED_VALUE = 1;

/** A point's value, or undefined for a non-finite double (legal in OTLP, not representable in MetricPoint). */
function pointValue(p: z.infer<typeof NumberDataPoint>): number | undefined {
  if (p.asDouble !== undefined) {
    // JSON.parse turns 1e400 into Infinity, and proto3 JSON spells non-finite doubles as strings.
    if (typeof p.asDouble === 'number') return Number.isFinite(p.asDouble) ? p.asDouble : undefined;
    if (/^(NaN|-?Infinity)$/.test(p.asDouble)) return undefined;
    const v = p.asDouble.trim() === '' ? NaN : Number(p.asDouble);
    if (!Number.isFinite(v)) throw new NightshiftError('SCHEMA_MISMATCH', `asDouble: ${JSON.stringify(p.asDouble.slice(0, 32))} is not a number`);
    return v;
  }
  if (p.asInt !== undefined) return Number(p.asInt);
  throw new NightshiftError('SCHEMA_MISMATCH', 'data point has neither asDouble nor asInt');
}

/**
 * Gauge and sum points become MetricPoints with the point's attributes as labels. Sums are passed through as
 * reported (a cumulative counter stays cumulative). Histogram, exponential histogram and summary points are
 * skipped and counted as dropped `unsupported_metric_type` (per data point), not as errors.
 */
function visitMetric(c: Collector, item: unknown, path: string, res: OtlpResource): void {
  const m = check(OtlpMetric, item, '');
  const unsupported = (m.histogram ?? m.exponentialHistogram ?? m.summary)?.dataPoints?.length;
  const points = (m.gauge ?? m.sum)?.dataPoints;
  if (!points) {
    if (unsupported !== undefined) c.drop('unsupported_metric_type', Math.max(unsupported, 1));
    else if (!m.histogram && !m.exponentialHistogram && !m.summary) {
      throw new NightshiftError('SCHEMA_MISMATCH', 'metric has no gauge, sum, histogram, exponentialHistogram or summary');
    }
    return;
  }
  for (let i = 0; i < points.length; i++) {
    const id = c.nextId();
    const pPath = `${path}.${m.gauge ? 'gauge' : 'sum'}.dataPoints[${i}]`;
    try {
      const p = check(NumberDataPoint, points[i], '');
      if (p.flags !== undefined && (p.flags & FLAG_NO_RECORDED_VALUE) !== 0) {
        c.drop('no_recorded_value');
        continue;
      }
      const value = pointValue(p);
      if (value === undefined) {
        c.drop('non_finite_value');
        continue;
      }
      const t = parseNanos(p.timeUnixNano, 'timeUnixNano');
      const labels = attributesToLabels(p.attributes, 'attributes');
      // One series per instance: without it, the pods of a service interleave into one noisy series.
      if (res.instance !== undefined && labels['service.instance.id'] === undefined && labels['k8s.pod.name'] === undefined) labels['service.instance.id'] = res.instance;
      if (res.version !== undefined && labels['service.version'] === undefined) labels['service.version'] = res.version;
      const point: MetricPoint = { kind: 'metric', id, ts: t ? t.ms : c.recordTime('timeUnixNano'), service: res.service, name: m.name, value, labels };
      if (m.unit) point.unit = m.unit;
      c.emit(point);
    } catch (e) {
      c.failFrom(e, pPath);
    }
  }
}

/** `{ts, service, name, value, labels?}` */
const PlainMetric = z.object({
  ts: z.union([z.number(), z.string()]).nullish(),
  service: z.string().nullish(),
  name: z.string().min(1),
  value: z.number().finite(),
  labels: Labels.nullish(),
});

export function parseMetrics(root: Record<string, unknown>, c: Collector): void {
  if (root.resourceMetrics !== undefined) {
    walkOtlp(c, root, { resource: 'resourceMetrics', scope: 'scopeMetrics', item: 'metrics' }, (item, path, res) =>
      visitMetric(c, item, path, res),
    );
    return;
  }
  const id = c.nextId();
  const p = check(PlainMetric, root, '');
  const e: MetricPoint = {
    kind: 'metric',
    id,
    ts: c.time(p.ts, 'ts'),
    service: requireService(p.service, 'the metric has no `service` field'),
    name: p.name,
    value: p.value,
    labels: p.labels ?? {},
  };
  c.emit(e);
}
