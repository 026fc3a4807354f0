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

/**
 * A cited evidence id resolved to what a person reads (the text comes from telemetry: untrusted, secrets redacted at
 * ingest). One shape per kind of evidence; `id` is the id the causes cite.
 */
export const EvidenceItem = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log_template'), id: z.string(), service: ServiceName, text: z.string(), level: z.string(), count: z.number().int().nonnegative(), first_seen: EpochMs }),
  z.object({ type: z.literal('series'), id: z.string(), service: ServiceName, name: z.string(), expected: z.number(), observed: z.number() }),
  z.object({ type: z.literal('call_edge'), id: z.string(), caller: ServiceName, callee: ServiceName, side: z.enum(['server', 'client']).optional(), signal: z.string(), text: z.string() }),
  z.object({ type: z.literal('alert'), id: z.string(), service: ServiceName, text: z.string() }),
  z.object({
    type: z.literal('change'),
    id: z.string(),
    service: ServiceName,
    change_kind: z.string(),
    text: z.string(),
    author: z.string().optional(),
    version: z.string().optional(),
    verdict: z.string().optional(),
  }),
  z.object({ type: z.literal('signal'), id: z.string(), service: ServiceName, signal: z.string(), text: z.string() }),
]);
export type EvidenceItem = z.infer<typeof EvidenceItem>;

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
    /** One line naming the incident (its top cause), for lists and ticket titles. Absent in outputs before 0.2. */
    title: z.string().optional(),
    /** The evidence the root causes cite, resolved to readable text (at most 24 items, texts cut to 400 characters). */
    evidence: z.array(EvidenceItem).max(24).optional(),
  })
  .refine((o) => o.root_causes.reduce((s, c) => s + c.confidence, 0) <= 1 + 1e-9, {
    message: 'root cause confidences must sum to at most 1',
  });
export type IncidentOutput = z.infer<typeof IncidentOutput>;
