import { z } from 'zod';
import type { EdgeFigures, IncidentBundle, IncidentOutput, IncidentSeverity, RootCauseKind, Signal, SignalType } from '../../schemas/index.js';
import { GUARD_RESULTS } from './schema.js';

/** Table rows as inserted (JSONEachRow). Column names and types match schema.ts. */
export interface IncidentRow {
  incident_id: string;
  version: number;
  opened_at: number;
  updated_at: number;
  status: 'open' | 'resolved';
  services: string[];
  events: number;
  alerts: number;
  signals: number;
  root_cause_count: number;
  top_service: string | null;
  top_kind: RootCauseKind | null;
  top_confidence: number | null;
  reasoner: string;
  first_signal_at: number | null;
}

/** One `incident_details` row: the readable part of an incident version (JSON strings for the nested parts). */
export interface IncidentDetailsRow {
  incident_id: string;
  version: number;
  updated_at: number;
  title: string;
  severity: IncidentSeverity;
  evidence: string;
  edges: string;
}

export interface RootCauseRow {
  incident_id: string;
  version: number;
  opened_at: number;
  updated_at: number;
  rank: number;
  service: string;
  kind: RootCauseKind;
  confidence: number;
  summary: string;
  evidence: string[];
}

export interface SignalRow {
  incident_id: string;
  signal_id: string;
  ts: number;
  service: string;
  type: SignalType;
  score: number;
  hint: RootCauseKind;
  summary: string;
  ref: string;
  peer: string | null;
}

export interface LogTemplateRow {
  template_id: string;
  service: string;
  template: string;
  level: string;
  count: number;
  first_seen: number;
  version: number;
}

export interface PipelineStatsRow {
  pipeline: string;
  minute_ms: number;
  version: number;
  records_in: number;
  alerts_in: number;
  signals: number;
  incidents_opened: number;
  bundles: number;
  noise_reduction: number;
}

/** One LLM reasoning run, as the LLM reasoner (a later issue) reports it; validated before it is written. */
export const ReasoningRunRow = z.object({
  run_id: z.string().min(1),
  incident_id: z.string().min(1),
  incident_version: z.number().int().nonnegative(),
  /** Event time of the bundle reasoned about (epoch ms). */
  ts: z.number().int().nonnegative(),
  model: z.string().min(1),
  latency_ms: z.number().nonnegative(),
  tokens_in: z.number().int().nonnegative(),
  tokens_out: z.number().int().nonnegative(),
  cost_usd: z.number().nonnegative(),
  retrieval_hit: z.union([z.literal(0), z.literal(1)]),
  guard_result: z.enum(GUARD_RESULTS),
  fallback_used: z.union([z.literal(0), z.literal(1)]),
  /** Whether the LLM's top cause is the ranker's; null when one of them had none. */
  agrees_with_ranker: z.union([z.literal(0), z.literal(1), z.null()]),
});
export type ReasoningRunRow = z.infer<typeof ReasoningRunRow>;

/**
 * Version of an incident row: updated_at (event time, ms) times 1024 plus a sequence among outputs of the same
 * incident with the same updated_at, so a later output always wins and a replay of the same input gives the same
 * versions. Fits in a double exactly until the year 2248.
 */
export const VERSION_SEQ_SLOTS = 1024;
export function incidentVersion(updatedAt: number, seq: number): number {
  return updatedAt * VERSION_SEQ_SLOTS + Math.min(seq, VERSION_SEQ_SLOTS - 1);
}

export function incidentRow(o: IncidentOutput, version: number, firstSignalAt: number | null): IncidentRow {
  const top = o.root_causes.find((c) => c.rank === 1) ?? null;
  return {
    incident_id: o.incident_id,
    version,
    opened_at: o.opened_at,
    updated_at: o.updated_at,
    status: o.status,
    services: o.services,
    events: o.counts.events,
    alerts: o.counts.alerts,
    signals: o.counts.signals,
    root_cause_count: o.root_causes.length,
    top_service: top?.service ?? null,
    top_kind: top?.kind ?? null,
    top_confidence: top?.confidence ?? null,
    reasoner: o.reasoner,
    first_signal_at: firstSignalAt,
  };
}

/**
 * The details row of an output version. Outputs before 0.3 have no title or severity: the title is derived the way
 * reasoning derives it and the severity is `low` (nothing rated it). `edges` come from the incident's latest bundle.
 */
export function incidentDetailsRow(o: IncidentOutput, version: number, edges: readonly EdgeFigures[]): IncidentDetailsRow {
  const top = o.root_causes[0];
  const n = o.services.length;
  const title = o.title ?? `${top ? `${top.kind} in ${top.service}` : `incident on ${o.services[0] ?? 'unknown service'}`}${n > 1 ? ` (${n} services)` : ''}`;
  return {
    incident_id: o.incident_id,
    version,
    updated_at: o.updated_at,
    title,
    severity: o.severity ?? 'low',
    evidence: JSON.stringify(o.evidence ?? []),
    edges: JSON.stringify(edges),
  };
}

export function rootCauseRows(o: IncidentOutput, version: number): RootCauseRow[] {
  return o.root_causes.map((c) => ({
    incident_id: o.incident_id,
    version,
    opened_at: o.opened_at,
    updated_at: o.updated_at,
    rank: c.rank,
    service: c.service,
    kind: c.kind,
    confidence: c.confidence,
    summary: c.summary,
    evidence: c.evidence,
  }));
}

export function signalRow(incidentId: string, s: Signal): SignalRow {
  return {
    incident_id: incidentId,
    signal_id: s.id,
    ts: s.ts,
    service: s.service,
    type: s.type,
    score: s.score,
    hint: s.hint,
    summary: s.summary,
    ref: s.ref,
    peer: s.peer ?? null,
  };
}

export function templateRows(b: IncidentBundle): LogTemplateRow[] {
  return b.templates.map((t) => ({
    template_id: t.id,
    service: t.service,
    template: t.template,
    level: t.level,
    count: t.count,
    first_seen: t.first_seen,
    // A template's count only grows, so the row with the largest count is the newest (and max(count) agrees
    // before and after ClickHouse merges the versions away).
    version: t.count,
  }));
}

/** Earliest first-symptom time over the bundle's services, or null when it has none. */
export function firstSignalAt(b: IncidentBundle): number | null {
  let min: number | null = null;
  for (const k of Object.keys(b.first_seen).sort()) {
    const v = b.first_seen[k];
    if (v !== undefined && (min === null || v < min)) min = v;
  }
  return min;
}

/** One ticket the ticketing sink opened or found (tickets table, migration 8). */
export const TicketRow = z.object({
  incident_id: z.string().min(1),
  integration: z.enum(['servicenow', 'jira', 'pagerduty', 'webhook']),
  /** The key a person uses: Jira issue key, ServiceNow number, PagerDuty dedup key, the webhook's incident id. */
  ticket_key: z.string().min(1),
  /** Where a person opens it ('' when the integration has no such page, e.g. a webhook). */
  url: z.string(),
  /** Event time (updated_at, epoch ms) of the incident output that opened or found the ticket. */
  opened_at: z.number().int(),
  /** The incident's top root-cause service at that time ('' when it had none). */
  service: z.string(),
  /** 1 = nightshift created the ticket, 0 = it found one already there. */
  created: z.union([z.literal(0), z.literal(1)]),
});
export type TicketRow = z.infer<typeof TicketRow>;

export interface ServiceOwnerRow {
  service: string;
  owner: string;
  version: number;
}

/** The topology's owner per service ('' for a service without one), all with the same version (the load time). */
export function serviceOwnerRows(services: readonly { name: string; owner?: string | undefined }[], version: number): ServiceOwnerRow[] {
  return services.map((s) => ({ service: s.name, owner: s.owner ?? '', version }));
}
