import { z } from 'zod';
import { EpochMs, Labels, ServiceName, Severity } from './common.js';

/**
 * Normalized records: what ingest produces from every input format, and the only thing perception sees.
 * `id` is deterministic (derived from the source position), so a replay yields the same ids.
 */
export const Alert = z.object({
  kind: z.literal('alert'),
  id: z.string().min(1),
  ts: EpochMs,
  service: ServiceName,
  name: z.string().min(1),
  severity: Severity,
  status: z.enum(['firing', 'resolved']),
  summary: z.string(),
  fingerprint: z.string().min(1),
  labels: Labels,
  /** Alertmanager annotations kept as evidence text: `description`, `runbook_url` (and the rest, as sent). */
  annotations: Labels.optional(),
  starts_at: EpochMs,
  ends_at: EpochMs.optional(),
});
export type Alert = z.infer<typeof Alert>;

export const LogLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
export type LogLevel = z.infer<typeof LogLevel>;

export const LogRecord = z.object({
  kind: z.literal('log'),
  id: z.string().min(1),
  ts: EpochMs,
  service: ServiceName,
  level: LogLevel,
  message: z.string(),
  host: z.string().optional(),
  trace_id: z.string().optional(),
});
export type LogRecord = z.infer<typeof LogRecord>;

export const Span = z.object({
  kind: z.literal('span'),
  id: z.string().min(1),
  ts: EpochMs,
  service: ServiceName,
  trace_id: z.string().min(1),
  span_id: z.string().min(1),
  parent_span_id: z.string().optional(),
  name: z.string(),
  duration_ms: z.number().nonnegative(),
  status: z.enum(['ok', 'error', 'unset']),
  span_kind: z.enum(['internal', 'server', 'client', 'producer', 'consumer', 'unspecified']),
  /** The emitting instance (resource `service.instance.id`, else `k8s.pod.name`) and its `service.version`, when known. */
  instance: z.string().optional(),
  version: z.string().optional(),
});
export type Span = z.infer<typeof Span>;

export const MetricPoint = z.object({
  kind: z.literal('metric'),
  id: z.string().min(1),
  ts: EpochMs,
  service: ServiceName,
  name: z.string().min(1),
  value: z.number().finite(),
  labels: Labels,
  /** UCUM unit as the producer declared it (OTLP `unit`, e.g. `s`, `ms`, `By`, `%`, `1`); absent when not given. */
  unit: z.string().optional(),
  /**
   * A distribution point (OTLP histogram, exponential histogram converted to explicit bounds, or summary); `value`
   * is then its mean. Perception turns it into quantile and rate series (differencing cumulative ones).
   */
  dist: z
    .object({
      kind: z.enum(['histogram', 'summary']),
      temporality: z.enum(['delta', 'cumulative']),
      count: z.number().nonnegative(),
      sum: z.number().optional(),
      /** Histogram: upper bounds of all buckets but the last (+Inf), and the count per bucket (one more than bounds). */
      bounds: z.array(z.number()).max(1024).optional(),
      counts: z.array(z.number().nonnegative()).max(1025).optional(),
      /** Summary: [quantile, value] pairs. */
      quantiles: z.array(z.tuple([z.number(), z.number()])).max(64).optional(),
    })
    .optional(),
});
export type MetricPoint = z.infer<typeof MetricPoint>;

export const ChangeKind = z.enum(['deploy', 'config', 'flag', 'infra', 'other']);
export type ChangeKind = z.infer<typeof ChangeKind>;

export const ChangeEvent = z.object({
  kind: z.literal('change'),
  /** The change's own id from the input (a deploy id, a commit): it is the evidence id. */
  id: z.string().min(1),
  ts: EpochMs,
  service: ServiceName,
  change_kind: ChangeKind,
  summary: z.string(),
  /** The version a deploy rolled out (`service.version` of the new instances), when the producer says. */
  version: z.string().optional(),
  /**
   * Perception's verdict on a release in an incident bundle: its new version's instances compared with the old ones
   * (`degraded`, `healthy`, or `unknown` without enough versioned telemetry), and the comparison in words.
   */
  verdict: z.enum(['degraded', 'healthy', 'unknown']).optional(),
  comparison: z.string().optional(),
  author: z.string().optional(),
});
export type ChangeEvent = z.infer<typeof ChangeEvent>;

export const Event = z.discriminatedUnion('kind', [Alert, LogRecord, Span, MetricPoint, ChangeEvent]);
export type Event = z.infer<typeof Event>;
export type EventKind = Event['kind'];
