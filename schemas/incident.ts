import { z } from 'zod';
import { EpochMs, RootCauseKind, ServiceName, Severity } from './common.js';
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

/** One plotted point of a series: observed value and the detector's expected value (lo/hi: a band, when known). */
export const SeriesPoint = z.object({ ts: EpochMs, value: z.number(), expected: z.number().optional(), lo: z.number().optional(), hi: z.number().optional() });
export type SeriesPoint = z.infer<typeof SeriesPoint>;

/** At most this many points per series (a UI plots observed against expected around the fault). */
export const MAX_SERIES_POINTS = 40;
/** Cut of each alert annotation value, and how many annotations an alert keeps. */
export const MAX_ANNOTATION_CHARS = 300;
export const MAX_ANNOTATIONS = 8;

/**
 * Figures of one call edge, from its RED series (the callee's SERVER spans for this caller, else the caller's CLIENT
 * spans: `side`): the last closed bucket's p95 latency and error ratio, and what the detector expected of them.
 */
export const EdgeFigures = z.object({
  caller: ServiceName,
  callee: ServiceName,
  side: z.enum(['server', 'client']).optional(),
  at: EpochMs.optional(),
  observed_ms: z.number().optional(),
  baseline_ms: z.number().optional(),
  error_ratio: z.number().optional(),
  baseline_error_ratio: z.number().optional(),
});
export type EdgeFigures = z.infer<typeof EdgeFigures>;

/**
 * What people read beside the evidence, for display only: the ranker and the LLM prompt never read it, and it is
 * not counted in the bundle's byte budget (so adding it changed no ranking). Bounded on its own: points for at most
 * 24 series (40 each), annotations cut, at most 50 edges. Keyed by evidence id.
 */
export const BundleDetails = z.object({
  /** Log templates: lines before the template first signalled (`since`) and lines since. */
  templates: z.record(z.string(), z.object({ before: z.number().int().nonnegative(), during: z.number().int().nonnegative(), since: EpochMs })).optional(),
  /** Series (metric and RED): the display unit when known, and recent points around the anomaly. */
  series: z.record(z.string(), z.object({ unit: z.string().optional(), points: z.array(SeriesPoint).max(MAX_SERIES_POINTS).optional() })).optional(),
  /** Alert groups: the rule's name, its strongest severity, its annotations (runbook_url first). */
  alerts: z.record(z.string(), z.object({ name: z.string(), severity: Severity, annotations: z.record(z.string(), z.string()).optional() })).optional(),
  /** Call edges among the incident's services with their latest RED figures. */
  edges: z.array(EdgeFigures).max(50).optional(),
});
export type BundleDetails = z.infer<typeof BundleDetails>;

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
  /** Display figures (see BundleDetails): outside the byte budget, never read by reasoning. Absent before 0.3. */
  details: BundleDetails.optional(),
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
  z.object({
    type: z.literal('log_template'),
    id: z.string(),
    service: ServiceName,
    text: z.string(),
    level: z.string(),
    count: z.number().int().nonnegative(),
    first_seen: EpochMs,
    /** Lines before the template first signalled (at `since`), and lines since (0.3). */
    before: z.number().int().nonnegative().optional(),
    during: z.number().int().nonnegative().optional(),
    since: EpochMs.optional(),
  }),
  z.object({
    type: z.literal('series'),
    id: z.string(),
    service: ServiceName,
    name: z.string(),
    expected: z.number(),
    observed: z.number(),
    /** Display unit (`s`, `ms`, `%`, `ratio`, `bytes`, `MiB`, `req/s`, ...), absent when unknown (0.3). */
    unit: z.string().optional(),
    /** Points around the anomaly, oldest first (0.3). */
    points: z.array(SeriesPoint).max(MAX_SERIES_POINTS).optional(),
  }),
  z.object({
    type: z.literal('call_edge'),
    id: z.string(),
    caller: ServiceName,
    callee: ServiceName,
    side: z.enum(['server', 'client']).optional(),
    signal: z.string(),
    text: z.string(),
    /** The edge series' episode: p95 latency or error ratio expected (baseline) and at its worst (observed) (0.3). */
    baseline_ms: z.number().optional(),
    observed_ms: z.number().optional(),
    baseline_error_ratio: z.number().optional(),
    error_ratio: z.number().optional(),
    unit: z.string().optional(),
    points: z.array(SeriesPoint).max(MAX_SERIES_POINTS).optional(),
  }),
  z.object({
    type: z.literal('alert'),
    id: z.string(),
    service: ServiceName,
    text: z.string(),
    /** The rule, its strongest severity and its annotations, each value cut to 300 characters (0.3). */
    name: z.string().optional(),
    severity: Severity.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
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

export const IncidentSeverity = z.enum(['critical', 'high', 'medium', 'low']);
export type IncidentSeverity = z.infer<typeof IncidentSeverity>;

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
    /** How bad: `critical`, `high`, `medium` or `low`, by the rule in reasoning/severity.ts (absent before 0.3). */
    severity: IncidentSeverity.optional(),
  })
  .refine((o) => o.root_causes.reduce((s, c) => s + c.confidence, 0) <= 1 + 1e-9, {
    message: 'root cause confidences must sum to at most 1',
  });
export type IncidentOutput = z.infer<typeof IncidentOutput>;
