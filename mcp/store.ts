import { NightshiftError } from '../core/errors.js';
import type { RootCauseKind, SignalType } from '../schemas/index.js';
import type { ClickHouseLike } from '../sinks/clickhouse/client.js';
import { toClickHouseNightshiftError } from '../sinks/clickhouse/errors.js';
import { num, str, strList } from './sql.js';

/** The latest version of one incident, as the incidents table has it. */
export interface IncidentSummary {
  readonly incident_id: string;
  readonly status: 'open' | 'resolved';
  readonly opened_at: number;
  readonly updated_at: number;
  readonly services: string[];
  readonly top_service: string | null;
  readonly top_kind: RootCauseKind | null;
  readonly top_confidence: number | null;
  readonly counts: { events: number; alerts: number; signals: number };
  readonly version: number;
}

export interface RootCauseView {
  readonly rank: number;
  readonly service: string;
  readonly kind: RootCauseKind;
  readonly confidence: number;
  readonly summary: string;
  readonly evidence: string[];
}

export interface SignalView {
  readonly signal_id: string;
  readonly ts: number;
  readonly service: string;
  readonly type: SignalType;
  readonly score: number;
  readonly hint: RootCauseKind;
  readonly summary: string;
  readonly ref: string;
  readonly peer: string | null;
}

export interface TemplateView {
  readonly template_id: string;
  readonly service: string;
  readonly template: string;
  readonly level: string;
  readonly count: number;
}

/** Readable details of one incident version, as the incident sink stored them (JSON columns parsed, not validated). */
export interface IncidentDetails {
  readonly title: string;
  readonly severity: string;
  readonly evidence: unknown[];
  readonly edges: unknown[];
}

export interface TicketView {
  readonly integration: string;
  readonly key: string;
  readonly url: string;
  readonly opened_at: number;
  /** True when nightshift created it, false when it found one already open. */
  readonly created: boolean;
}

export interface IncidentFilter {
  readonly status?: 'open' | 'resolved';
  readonly service?: string;
  readonly since?: number;
  readonly until?: number;
  readonly ids?: readonly string[];
  readonly limit: number;
}

/** Bounds of what one read returns, whatever an agent asks for. */
export const MAX_LIST = 100;
export const MAX_SIGNALS = 200;
export const TEXT_CHARS = 600;

/**
 * Reads incidents from the analytics tables (server or chdb). Aggregates are merge-independent (argMax by version,
 * FINAL) for the same reason as the saved queries: the engine merges parts when it likes.
 */
export class IncidentReader {
  constructor(
    private readonly ch: ClickHouseLike,
    private readonly db: string,
  ) {}

  private async q<T>(sql: string, what: string): Promise<T[]> {
    try {
      return await this.ch.query<T>(sql);
    } catch (e) {
      throw toClickHouseNightshiftError(e, what);
    }
  }

  async list(f: IncidentFilter): Promise<IncidentSummary[]> {
    const where: string[] = [];
    if (f.status) where.push(`l_status = ${str(f.status)}`);
    if (f.service) where.push(`has(l_services, ${str(f.service)})`);
    if (f.since !== undefined) where.push(`l_opened >= ${Math.trunc(f.since)}`);
    if (f.until !== undefined) where.push(`l_opened < ${Math.trunc(f.until)}`);
    const inner = f.ids ? `WHERE incident_id IN ${strList(f.ids)}` : '';
    // Inner aliases differ from the column names: ClickHouse resolves a column name to a same-named alias, so
    // `argMax(x, version) ... max(version) AS version` would nest aggregates.
    const rows = await this.q<Record<string, unknown>>(
      `SELECT incident_id, l_status AS status, l_opened AS opened_at, l_updated AS updated_at, l_services AS services,
          l_top_service AS top_service, l_top_kind AS top_kind, l_top_confidence AS top_confidence, l_events AS events,
          l_alerts AS alerts, l_signals AS signals, l_version AS version
      FROM (
        SELECT incident_id, argMax(status, version) AS l_status, min(opened_at) AS l_opened, max(updated_at) AS l_updated,
          argMax(services, version) AS l_services, argMax(top_service, version) AS l_top_service, argMax(top_kind, version) AS l_top_kind,
          argMax(top_confidence, version) AS l_top_confidence, argMax(events, version) AS l_events, argMax(alerts, version) AS l_alerts,
          argMax(signals, version) AS l_signals, max(version) AS l_version
        FROM ${this.db}.incidents ${inner} GROUP BY incident_id
      ) ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY l_opened DESC, incident_id LIMIT ${Math.trunc(f.limit)}`,
      'list incidents',
    );
    return rows.map(toSummary);
  }

  async get(id: string): Promise<IncidentSummary | null> {
    return (await this.list({ ids: [id], limit: 1 }))[0] ?? null;
  }

  /** Ids of incidents whose id, services, root-cause summaries or signal summaries contain `text` (any case), with hits. */
  async search(text: string, limit: number): Promise<{ id: string; hits: number }[]> {
    const t = str(text);
    const rows = await this.q<{ incident_id: string; hits: unknown }>(
      `SELECT incident_id, count() AS hits FROM (
        SELECT incident_id FROM ${this.db}.incidents
          WHERE positionCaseInsensitive(incident_id, ${t}) > 0 OR arrayExists(s -> positionCaseInsensitive(s, ${t}) > 0, services)
        UNION ALL SELECT incident_id FROM ${this.db}.root_causes WHERE positionCaseInsensitive(summary, ${t}) > 0 OR positionCaseInsensitive(service, ${t}) > 0
        UNION ALL SELECT incident_id FROM ${this.db}.signals WHERE positionCaseInsensitive(summary, ${t}) > 0 OR positionCaseInsensitive(ref, ${t}) > 0
      ) GROUP BY incident_id ORDER BY hits DESC, incident_id LIMIT ${Math.trunc(limit)}`,
      'search incidents',
    );
    return rows.map((r) => ({ id: r.incident_id, hits: num(r.hits) }));
  }

  /** Root causes of the latest version of each incident (a retried version's duplicate rows collapse by rank). */
  async rootCauses(ids: readonly string[]): Promise<Map<string, RootCauseView[]>> {
    const rows = await this.q<Record<string, unknown>>(
      `SELECT incident_id, version, rank, any(service) AS service, any(kind) AS kind, any(confidence) AS confidence,
          any(summary) AS summary, any(evidence) AS evidence
        FROM ${this.db}.root_causes WHERE incident_id IN ${strList(ids)}
        GROUP BY incident_id, version, rank ORDER BY incident_id, version DESC, rank`,
      'read root causes',
    );
    const out = new Map<string, RootCauseView[]>();
    const latest = new Map<string, number>();
    for (const r of rows) {
      const id = String(r.incident_id);
      const v = num(r.version);
      if (!latest.has(id)) latest.set(id, v);
      if (latest.get(id) !== v) continue;
      const list = out.get(id) ?? [];
      list.push({
        rank: num(r.rank),
        service: String(r.service),
        kind: r.kind as RootCauseKind,
        confidence: num(r.confidence),
        summary: String(r.summary),
        evidence: (r.evidence as string[]) ?? [],
      });
      out.set(id, list);
    }
    return out;
  }

  /** The incident's evidence signals, strongest first. */
  async signals(id: string, limit: number): Promise<SignalView[]> {
    const rows = await this.q<Record<string, unknown>>(
      `SELECT signal_id, ts, service, type, score, hint, summary, ref, peer FROM ${this.db}.signals FINAL
        WHERE incident_id = ${str(id)} ORDER BY score DESC, ts, signal_id LIMIT ${Math.trunc(limit)}`,
      'read signals',
    );
    return rows.map((r) => ({
      signal_id: String(r.signal_id),
      ts: num(r.ts),
      service: String(r.service),
      type: r.type as SignalType,
      score: num(r.score),
      hint: r.hint as RootCauseKind,
      summary: String(r.summary),
      ref: String(r.ref),
      peer: r.peer === null || r.peer === undefined ? null : String(r.peer),
    }));
  }

  /** First signal summary per evidence id (ref) of one incident. */
  async summariesByRef(id: string, refs: readonly string[]): Promise<Map<string, { summary: string; n: number }>> {
    const rows = await this.q<{ ref: string; summary: string; n: unknown }>(
      `SELECT ref, argMax(summary, score) AS summary, count() AS n FROM ${this.db}.signals
        WHERE incident_id = ${str(id)} AND ref IN ${strList(refs)} GROUP BY ref`,
      'resolve evidence',
    );
    return new Map(rows.map((r) => [r.ref, { summary: r.summary, n: num(r.n) }]));
  }

  async templates(ids: readonly string[]): Promise<Map<string, TemplateView>> {
    const rows = await this.q<Record<string, unknown>>(
      `SELECT template_id, any(service) AS service, any(template) AS template, any(level) AS level, max(count) AS count
        FROM ${this.db}.log_templates WHERE template_id IN ${strList(ids)} GROUP BY template_id`,
      'read templates',
    );
    return new Map(
      rows.map((r) => [String(r.template_id), { template_id: String(r.template_id), service: String(r.service), template: String(r.template), level: String(r.level), count: num(r.count) }]),
    );
  }

  /**
   * The readable view of an incident's latest version (migration 7): title, severity, evidence items and call edges
   * as JSON. Null for an incident written before that table existed.
   */
  async details(id: string): Promise<IncidentDetails | null> {
    const rows = await this.q<Record<string, unknown>>(
      `SELECT argMax(title, version) AS title, argMax(severity, version) AS severity, argMax(evidence, version) AS evidence,
          argMax(edges, version) AS edges, count() AS n
        FROM ${this.db}.incident_details WHERE incident_id = ${str(id)}`,
      'read incident details',
    );
    const r = rows[0];
    if (!r || num(r.n) === 0) return null;
    return { title: String(r.title), severity: String(r.severity), evidence: jsonArray(r.evidence), edges: jsonArray(r.edges) };
  }

  /** The tickets the pipeline opened or found for an incident (migration 8), oldest first. */
  async tickets(id: string): Promise<TicketView[]> {
    const rows = await this.q<Record<string, unknown>>(
      `SELECT integration, ticket_key, any(url) AS url, min(opened_at) AS opened_at, max(created) AS created
        FROM ${this.db}.tickets WHERE incident_id = ${str(id)} GROUP BY integration, ticket_key ORDER BY opened_at, integration`,
      'read tickets',
    );
    return rows.map((r) => ({ integration: String(r.integration), key: String(r.ticket_key), url: String(r.url), opened_at: num(r.opened_at), created: num(r.created) === 1 }));
  }

  /** Template ids (log evidence refs) per incident, for similarity. */
  async templateRefs(ids: readonly string[]): Promise<Map<string, string[]>> {
    const rows = await this.q<{ incident_id: string; refs: string[] }>(
      `SELECT incident_id, groupUniqArray(ref) AS refs FROM ${this.db}.signals
        WHERE incident_id IN ${strList(ids)} AND substring(ref, 1, 4) = 'tpl_' GROUP BY incident_id`,
      'read template refs',
    );
    return new Map(rows.map((r) => [r.incident_id, r.refs]));
  }
}

/** A JSON array column; anything else (a corrupt or hand-edited row) reads as empty rather than failing the page. */
function jsonArray(v: unknown): unknown[] {
  if (typeof v !== 'string' || v === '') return [];
  try {
    const x = JSON.parse(v) as unknown;
    return Array.isArray(x) ? x : [];
  } catch {
    return [];
  }
}

function toSummary(r: Record<string, unknown>): IncidentSummary {
  const n = (k: string): number | null => (r[k] === null || r[k] === undefined ? null : num(r[k]));
  return {
    incident_id: String(r.incident_id),
    status: r.status as 'open' | 'resolved',
    opened_at: num(r.opened_at),
    updated_at: num(r.updated_at),
    services: (r.services as string[]) ?? [],
    top_service: r.top_service === null || r.top_service === undefined ? null : String(r.top_service),
    top_kind: (r.top_kind ?? null) as RootCauseKind | null,
    top_confidence: n('top_confidence'),
    counts: { events: num(r.events), alerts: num(r.alerts), signals: num(r.signals) },
    version: num(r.version),
  };
}

export function unknownIncident(id: string): NightshiftError {
  return new NightshiftError('NOT_FOUND', `no incident ${JSON.stringify(id)} in the analytics store (list_incidents or search_incidents give the ids)`);
}

