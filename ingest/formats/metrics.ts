import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import { Labels } from '../../schemas/common.js';
import type { MetricPoint } from '../../schemas/events.js';
import { isInt, isInt64, isNum, isObj, isPlainLabels, nullishString } from '../../schemas/guard.js';
import { check, checkFast, requireService, type Collector } from './collect.js';
import { Int64, attributesToLabels, walkOtlp, type OtlpResource } from './otlp.js';
import { parseNanos } from './time.js';

const DataPoints = z.object({ dataPoints: z.array(z.unknown()).optional() });

const Temporality = z.union([z.number(), z.string()]).optional();
export const OtlpMetric = z.object({
  name: z.string().min(1),
  unit: z.string().max(64).optional(),
  gauge: DataPoints.optional(),
  sum: DataPoints.extend({ aggregationTemporality: z.unknown().optional(), isMonotonic: z.boolean().optional() }).optional(),
  histogram: DataPoints.extend({ aggregationTemporality: Temporality }).optional(),
  exponentialHistogram: DataPoints.extend({ aggregationTemporality: Temporality }).optional(),
  summary: DataPoints.optional(),
});

/** `{dataPoints?: unknown[]}` plus, for the distributions, a temporality that is a number or a name. */
function isDataPoints(v: unknown, temporalityTyped: boolean): v is Record<string, unknown> {
  if (!isObj(v)) return false;
  if (v.dataPoints !== undefined && !Array.isArray(v.dataPoints)) return false;
  if (!temporalityTyped) return true;
  const t = v.aggregationTemporality;
  return t === undefined || typeof t === 'string' || isNum(t);
}

/** OtlpMetric's verdict without its copy (schemas/guard.ts). */
export function isOtlpMetric(v: unknown): v is z.infer<typeof OtlpMetric> {
  if (!isObj(v)) return false;
  const { name, unit, gauge, sum, histogram, exponentialHistogram, summary } = v;
  return (
    typeof name === 'string' &&
    name.length >= 1 &&
    (unit === undefined || (typeof unit === 'string' && unit.length <= 64)) &&
    (gauge === undefined || isDataPoints(gauge, false)) &&
    (sum === undefined || (isDataPoints(sum, false) && (sum.isMonotonic === undefined || typeof sum.isMonotonic === 'boolean'))) &&
    (histogram === undefined || isDataPoints(histogram, true)) &&
    (exponentialHistogram === undefined || isDataPoints(exponentialHistogram, true)) &&
    (summary === undefined || isDataPoints(summary, false))
  );
}

const Num = z.union([z.number(), z.string().regex(/^-?\d{1,20}$/, 'expected a decimal integer string')]).transform(Number);
const HistogramPoint = z.object({
  attributes: z.unknown().optional(),
  timeUnixNano: Int64.optional(),
  count: Num.optional(),
  sum: z.number().optional(),
  bucketCounts: z.array(Num).max(1025).optional(),
  explicitBounds: z.array(z.number()).max(1024).optional(),
  flags: z.number().int().optional(),
});
const ExpBuckets = z.object({ offset: z.number().int().optional(), bucketCounts: z.array(Num).max(1024).optional() });
const ExpHistogramPoint = HistogramPoint.omit({ bucketCounts: true, explicitBounds: true }).extend({
  scale: z.number().int().min(-10).max(20).optional(),
  zeroCount: Num.optional(),
  positive: ExpBuckets.optional(),
});
const SummaryPoint = z.object({
  attributes: z.unknown().optional(),
  timeUnixNano: Int64.optional(),
  count: Num.optional(),
  sum: z.number().optional(),
  quantileValues: z.array(z.object({ quantile: z.number().min(0).max(1).optional(), value: z.number().optional() })).max(64).optional(),
  flags: z.number().int().optional(),
});

/** OTLP AggregationTemporality: 1 (or DELTA) is delta; everything else (2, CUMULATIVE, unspecified) is cumulative. */
function temporality(t: number | string | undefined): 'delta' | 'cumulative' {
  return t === 1 || t === 'AGGREGATION_TEMPORALITY_DELTA' ? 'delta' : 'cumulative';
}

/** An exponential histogram's positive buckets as explicit upper bounds: bucket i covers (base^(offset+i), base^(offset+i+1)]. */
function expToExplicit(p: z.infer<typeof ExpHistogramPoint>): { bounds: number[]; counts: number[] } {
  const base = Math.pow(2, Math.pow(2, -(p.scale ?? 0)));
  const offset = p.positive?.offset ?? 0;
  const pos = p.positive?.bucketCounts ?? [];
  const bounds: number[] = [0];
  const counts: number[] = [p.zeroCount ?? 0];
  for (let i = 0; i < pos.length; i++) {
    bounds.push(Math.pow(base, offset + i + 1));
    counts.push(pos[i] as number);
  }
  counts.push(0); // the +Inf bucket
  return { bounds, counts };
}

export const NumberDataPoint = z.object({
  attributes: z.unknown().optional(),
  timeUnixNano: Int64.optional(),
  asDouble: z.union([z.number(), z.string()]).optional(),
  asInt: z.union([z.number().int(), z.string().regex(/^-?\d{1,20}$/, 'expected a decimal integer string')]).optional(),
  flags: z.number().int().optional(),
});

const DECIMAL_INT = /^-?\d{1,20}$/;

/** NumberDataPoint's verdict without its copy. */
export function isNumberDataPoint(v: unknown): v is z.infer<typeof NumberDataPoint> {
  if (!isObj(v)) return false;
  const { timeUnixNano, asDouble, asInt, flags } = v;
  return (
    (timeUnixNano === undefined || isInt64(timeUnixNano)) &&
    (asDouble === undefined || typeof asDouble === 'string' || isNum(asDouble)) &&
    (asInt === undefined || isInt(asInt) || (typeof asInt === 'string' && DECIMAL_INT.test(asInt))) &&
    (flags === undefined || isInt(flags))
  );
}

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
 * reported (a cumulative counter stays cumulative). Histogram, exponential histogram and summary points become
 * distribution points (`dist`, value = mean) that perception turns into quantile and count series.
 */
function instanceLabels(labels: Record<string, string>, res: OtlpResource): Record<string, string> {
  // One series per instance: without it, the pods of a service interleave into one noisy series.
  if (res.instance !== undefined && labels['service.instance.id'] === undefined && labels['k8s.pod.name'] === undefined) labels['service.instance.id'] = res.instance;
  if (res.version !== undefined && labels['service.version'] === undefined) labels['service.version'] = res.version;
  return labels;
}

/** Histogram, exponential histogram and summary points: one distribution MetricPoint each (value: the mean). */
function visitDistribution(c: Collector, m: z.infer<typeof OtlpMetric>, path: () => string, res: OtlpResource): void {
  const kind = m.histogram ? 'histogram' : m.exponentialHistogram ? 'exponentialHistogram' : 'summary';
  const points = (m.histogram ?? m.exponentialHistogram ?? m.summary)?.dataPoints ?? [];
  for (let i = 0; i < points.length; i++) {
    const id = c.nextId();
    try {
      let dist: NonNullable<MetricPoint['dist']>;
      let attrs: unknown;
      let time: string | number | undefined;
      let flags: number | undefined;
      if (kind === 'summary') {
        const p = check(SummaryPoint, points[i], '');
        const q = (p.quantileValues ?? []).filter((x) => x.quantile !== undefined && x.value !== undefined && Number.isFinite(x.value)).map((x) => [x.quantile as number, x.value as number] as [number, number]);
        dist = { kind: 'summary', temporality: 'cumulative', count: p.count ?? 0, quantiles: q, ...(p.sum !== undefined ? { sum: p.sum } : {}) };
        [attrs, time, flags] = [p.attributes, p.timeUnixNano, p.flags];
      } else if (kind === 'histogram') {
        const p = check(HistogramPoint, points[i], '');
        const bounds = p.explicitBounds ?? [];
        const counts = p.bucketCounts ?? [];
        if (counts.length > 0 && counts.length !== bounds.length + 1) throw new NightshiftError('SCHEMA_MISMATCH', `bucketCounts has ${counts.length} entries for ${bounds.length} explicitBounds (expected one more)`);
        dist = { kind: 'histogram', temporality: temporality(m.histogram?.aggregationTemporality), count: p.count ?? counts.reduce((a, b) => a + b, 0), bounds, counts, ...(p.sum !== undefined ? { sum: p.sum } : {}) };
        [attrs, time, flags] = [p.attributes, p.timeUnixNano, p.flags];
      } else {
        const p = check(ExpHistogramPoint, points[i], '');
        const { bounds, counts } = expToExplicit(p);
        dist = { kind: 'histogram', temporality: temporality(m.exponentialHistogram?.aggregationTemporality), count: p.count ?? counts.reduce((a, b) => a + b, 0), bounds, counts, ...(p.sum !== undefined ? { sum: p.sum } : {}) };
        [attrs, time, flags] = [p.attributes, p.timeUnixNano, p.flags];
      }
      if (flags !== undefined && (flags & FLAG_NO_RECORDED_VALUE) !== 0) {
        c.drop('no_recorded_value');
        continue;
      }
      const t = parseNanos(time, 'timeUnixNano');
      const mean = dist.sum !== undefined && dist.count > 0 ? dist.sum / dist.count : 0;
      const point: MetricPoint = {
        kind: 'metric',
        id,
        ts: t ? t.ms : c.recordTime('timeUnixNano'),
        service: res.service,
        name: m.name,
        value: Number.isFinite(mean) ? mean : 0,
        labels: instanceLabels(attributesToLabels(attrs, 'attributes'), res),
        dist,
      };
      if (m.unit) point.unit = m.unit;
      c.emit(point);
    } catch (e) {
      c.failFrom(e, `${path()}.${kind}.dataPoints[${i}]`);
    }
  }
}

function visitMetric(c: Collector, item: unknown, path: () => string, res: OtlpResource): void {
  const m = checkFast(isOtlpMetric, OtlpMetric, item, '');
  const points = (m.gauge ?? m.sum)?.dataPoints;
  if (!points) {
    if (m.histogram || m.exponentialHistogram || m.summary) visitDistribution(c, m, path, res);
    else throw new NightshiftError('SCHEMA_MISMATCH', 'metric has no gauge, sum, histogram, exponentialHistogram or summary');
    return;
  }
  for (let i = 0; i < points.length; i++) {
    const id = c.nextId();
    try {
      const p = checkFast(isNumberDataPoint, NumberDataPoint, points[i], '');
      if (p.flags !== undefined && (p.flags & FLAG_NO_RECORDED_VALUE) !== 0) {
        c.drop('no_recorded_value');
        continue;
      }
      const value = pointValue(p);
      // Refused, not dropped: a NaN written by a broken exporter is a fault its owner must hear of (dead letter,
      // OTLP partialSuccess), and a value perception cannot hold.
      if (value === undefined) throw new NightshiftError('SCHEMA_MISMATCH', `${m.gauge ? 'gauge' : 'sum'} point value is not finite (NaN or Infinity)`);
      const t = parseNanos(p.timeUnixNano, 'timeUnixNano');
      const labels = instanceLabels(attributesToLabels(p.attributes, 'attributes'), res);
      const point: MetricPoint = { kind: 'metric', id, ts: t ? t.ms : c.recordTime('timeUnixNano'), service: res.service, name: m.name, value, labels };
      if (m.unit) point.unit = m.unit;
      c.emit(point);
    } catch (e) {
      c.failFrom(e, `${path()}.${m.gauge ? 'gauge' : 'sum'}.dataPoints[${i}]`);
    }
  }
}

/** `{ts, service, name, value, labels?}` */
export const PlainMetric = z.object({
  ts: z.union([z.number(), z.string()]).nullish(),
  service: z.string().nullish(),
  name: z.string().min(1),
  value: z.number().finite(),
  labels: Labels.nullish(),
});

/** PlainMetric's verdict without its copy: labels that zod would copy differently (an own __proto__) go to zod. */
export function isPlainMetric(v: unknown): v is z.infer<typeof PlainMetric> {
  if (!isObj(v)) return false;
  const { ts, service, name, value, labels } = v;
  return (
    (ts === undefined || ts === null || typeof ts === 'string' || isNum(ts)) &&
    nullishString(service) &&
    typeof name === 'string' &&
    name.length >= 1 &&
    isNum(value) &&
    (labels === undefined || labels === null || isPlainLabels(labels))
  );
}

export function parseMetrics(root: Record<string, unknown>, c: Collector): void {
  if (root.resourceMetrics !== undefined) {
    walkOtlp(c, root, { resource: 'resourceMetrics', scope: 'scopeMetrics', item: 'metrics' }, (item, path, res) =>
      visitMetric(c, item, path, res),
    );
    return;
  }
  const id = c.nextId();
  const p = checkFast(isPlainMetric, PlainMetric, root, '');
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
