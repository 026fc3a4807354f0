import { z } from 'zod';
import { EpochMs, RootCauseKind, ServiceName } from './common.js';
import { ChangeEvent } from './events.js';
import { Signal } from './signal.js';
import { Edge } from './topology.js';

export const IncidentStatus = z.enum(['open', 'resolved']);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

export const IncidentCounts = z.object({
  /** Raw records that perception attributed to the incident's services during its lifetime. */
  events: z.number().int().nonnegative(),
  /** Raw alert notifications folded into it. */
  alerts: z.number().int().nonnegative(),
  signals: z.number().int().nonnegative(),
});
export type IncidentCounts = z.infer<typeof IncidentCounts>;

export const BundleTemplate = z.object({
  id: z.string(),
  service: ServiceName,
  template: z.string(),
  level: z.string(),
  count: z.number().int().nonnegative(),
  first_seen: EpochMs,
});
export type BundleTemplate = z.infer<typeof BundleTemplate>;

export const BundleSeries = z.object({
  id: z.string(),
  service: ServiceName,
  name: z.string(),
  baseline: z.number(),
  peak: z.number(),
});
export type BundleSeries = z.infer<typeof BundleSeries>;

/**
 * The compressed incident: the only thing that reaches reasoning. Bounded by a byte budget; what was cut is counted.
 */
export const IncidentBundle = z.object({
  incident_id: z.string().min(1),
  opened_at: EpochMs,
  updated_at: EpochMs,
  status: IncidentStatus,
  services: z.array(ServiceName),
  counts: IncidentCounts,
  signals: z.array(Signal),
  templates: z.array(BundleTemplate),
  series: z.array(BundleSeries),
  changes: z.array(ChangeEvent),
  /** Call edges among the incident's services and their direct neighbours. */
  edges: z.array(Edge),
  /** First symptom time per service (ms), for the ranker's timing evidence. */
  first_seen: z.record(z.string(), EpochMs),
  truncated: z.object({ signals: z.number().int().nonnegative(), templates: z.number().int().nonnegative() }),
});
export type IncidentBundle = z.infer<typeof IncidentBundle>;

export const RootCause = z.object({
  rank: z.number().int().min(1).max(3),
  service: ServiceName,
  kind: RootCauseKind,
  summary: z.string(),
  confidence: z.number().min(0).max(1),
  evidence: z.array(z.string()),
});
export type RootCause = z.infer<typeof RootCause>;

/** The output contract: one NDJSON line per incident change; the last line for an id is its final state. */
export const IncidentOutput = z
  .object({
    incident_id: z.string().min(1),
    opened_at: EpochMs,
    updated_at: EpochMs,
    status: IncidentStatus,
    services: z.array(ServiceName),
    counts: IncidentCounts,
    root_causes: z.array(RootCause).max(3),
    reasoner: z.string(),
  })
  .refine((o) => o.root_causes.reduce((s, c) => s + c.confidence, 0) <= 1 + 1e-9, {
    message: 'root cause confidences must sum to at most 1',
  });
export type IncidentOutput = z.infer<typeof IncidentOutput>;
