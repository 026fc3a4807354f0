import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { NightshiftError } from '../core/errors.js';
import { RootCauseKind } from '../schemas/common.js';
import type { ClickHouseLike } from '../sinks/clickhouse/client.js';
import { toClickHouseNightshiftError } from '../sinks/clickhouse/errors.js';
import { FEEDBACK_KINDS } from '../sinks/clickhouse/schema.js';
import { num, str, strList } from './sql.js';

export const FeedbackKind = z.enum(FEEDBACK_KINDS);
export type FeedbackKind = z.infer<typeof FeedbackKind>;

/**
 * Where feedback came from: a label, so that later evals can tell responders' channels apart. The ticketing systems'
 * names are the inbound webhooks (mcp/webhooks): a person acknowledged or resolved the ticket nightshift opened there.
 */
export type FeedbackSource = 'mcp-stdio' | 'mcp-http' | 'http-api' | 'pagerduty' | 'jira' | 'servicenow';

/** One row of the feedback table (schema.ts migration 6), as inserted. */
export interface FeedbackRow {
  readonly feedback_id: string;
  readonly incident_id: string;
  readonly at: number;
  readonly kind: FeedbackKind;
  readonly service: string | null;
  readonly root_kind: RootCauseKind | null;
  readonly note: string | null;
  readonly actor: string;
  readonly source: FeedbackSource;
}

/** What a caller asks to record; a correction names the real cause, the other kinds may not. */
export type FeedbackInput =
  | { readonly kind: 'ack' | 'resolve' | 'comment'; readonly incident_id: string; readonly note?: string }
  | { readonly kind: 'correct_root_cause'; readonly incident_id: string; readonly service: string; readonly root_kind: RootCauseKind; readonly note?: string };

export interface FeedbackStore {
  readonly where: string;
  /**
   * `feedbackId`, when given, is the row's id instead of a random one: a webhook derives it from the delivery, so that
   * a delivery the sender retries is the same row and collapses (the table is a ReplacingMergeTree on it).
   */
  record(input: FeedbackInput, actor: string, source: FeedbackSource, feedbackId?: string): Promise<FeedbackRow>;
  list(incidentId: string, limit: number): Promise<FeedbackRow[]>;
  /** Every incident's feedback, oldest first, at most `limit` rows: what `nightshift eval --feedback` scores. */
  all(limit: number): Promise<FeedbackRow[]>;
  /**
   * The correct_root_cause rows (confirmations included: they are corrections naming the published cause) of these
   * incidents, or of every incident when `ids` is null; newest first, at most `limit`. What similar_incidents and the
   * LLM's knowledge of past incidents read (eval/feedback.ts truthFromFeedback picks the latest per incident).
   */
  corrections(ids: readonly string[] | null, limit: number): Promise<FeedbackRow[]>;
}

/** A bound on what one eval reads: far above any real team's feedback, low enough to fit in memory. */
export const MAX_FEEDBACK_ROWS = 1_000_000;

function toRow(input: FeedbackInput, actor: string, source: FeedbackSource, now: number, feedbackId?: string): FeedbackRow {
  return {
    feedback_id: feedbackId ?? randomUUID(),
    incident_id: input.incident_id,
    at: now,
    kind: input.kind,
    service: input.kind === 'correct_root_cause' ? input.service : null,
    root_kind: input.kind === 'correct_root_cause' ? input.root_kind : null,
    note: input.note ?? null,
    actor,
    source,
  };
}

function fromRecord(r: Record<string, unknown>): FeedbackRow {
  const opt = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  return {
    feedback_id: String(r.feedback_id),
    incident_id: String(r.incident_id),
    at: num(r.at),
    kind: r.kind as FeedbackKind,
    service: opt(r.service),
    root_kind: opt(r.root_kind) as RootCauseKind | null,
    note: opt(r.note),
    actor: String(r.actor),
    source: r.source as FeedbackSource,
  };
}

/** Feedback in the analytics database (server or chdb). Newest first when read. */
export class TableFeedbackStore implements FeedbackStore {
  constructor(
    private readonly ch: ClickHouseLike,
    private readonly db: string,
    private readonly now: () => number = Date.now,
  ) {}

  get where(): string {
    return `table ${this.db}.feedback`;
  }

  async record(input: FeedbackInput, actor: string, source: FeedbackSource, feedbackId?: string): Promise<FeedbackRow> {
    const row = toRow(input, actor, source, this.now(), feedbackId);
    try {
      await this.ch.insertJsonRows(`${this.db}.feedback`, [JSON.stringify(row)]);
    } catch (e) {
      throw toClickHouseNightshiftError(e, 'insert feedback');
    }
    return row;
  }

  async list(incidentId: string, limit: number): Promise<FeedbackRow[]> {
    try {
      const rows = await this.ch.query<Record<string, unknown>>(
        `SELECT feedback_id, incident_id, at, kind, service, root_kind, note, actor, source FROM ${this.db}.feedback FINAL
          WHERE incident_id = ${str(incidentId)} ORDER BY at DESC, feedback_id LIMIT ${Math.trunc(limit)}`,
      );
      return rows.map(fromRecord);
    } catch (e) {
      throw toClickHouseNightshiftError(e, 'read feedback');
    }
  }

  async all(limit: number): Promise<FeedbackRow[]> {
    try {
      const rows = await this.ch.query<Record<string, unknown>>(
        `SELECT feedback_id, incident_id, at, kind, service, root_kind, note, actor, source FROM ${this.db}.feedback FINAL
          ORDER BY at, feedback_id LIMIT ${Math.trunc(limit)}`,
      );
      return rows.map(fromRecord);
    } catch (e) {
      throw toClickHouseNightshiftError(e, 'read feedback');
    }
  }

  async corrections(ids: readonly string[] | null, limit: number): Promise<FeedbackRow[]> {
    if (ids !== null && ids.length === 0) return [];
    try {
      const rows = await this.ch.query<Record<string, unknown>>(
        `SELECT feedback_id, incident_id, at, kind, service, root_kind, note, actor, source FROM ${this.db}.feedback FINAL
          WHERE kind = 'correct_root_cause'${ids === null ? '' : ` AND incident_id IN ${strList(ids)}`}
          ORDER BY at DESC, feedback_id DESC LIMIT ${Math.trunc(limit)}`,
      );
      return rows.map(fromRecord);
    } catch (e) {
      throw toClickHouseNightshiftError(e, 'read feedback');
    }
  }
}

/**
 * Feedback when the analytics store is the NDJSON fallback: appended through the same store as the other tables'
 * rows (`feedback.ndjson`, loadable into ClickHouse later), read back by scanning that file.
 */
export class NdjsonFeedbackStore implements FeedbackStore {
  constructor(
    private readonly ch: ClickHouseLike,
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  get where(): string {
    return `file ${join(this.dir, 'feedback.ndjson')}`;
  }

  async record(input: FeedbackInput, actor: string, source: FeedbackSource, feedbackId?: string): Promise<FeedbackRow> {
    const row = toRow(input, actor, source, this.now(), feedbackId);
    await this.ch.insertJsonRows('feedback', [JSON.stringify(row)]);
    return row;
  }

  async list(incidentId: string, limit: number): Promise<FeedbackRow[]> {
    const rows = this.scan().filter((r) => r.incident_id === incidentId);
    return rows.sort((a, b) => b.at - a.at || a.feedback_id.localeCompare(b.feedback_id)).slice(0, limit);
  }

  async all(limit: number): Promise<FeedbackRow[]> {
    // A retried append writes the same feedback_id twice; the table collapses it (ReplacingMergeTree), so do we.
    const byId = new Map(this.scan().map((r) => [r.feedback_id, r]));
    return [...byId.values()].sort((a, b) => a.at - b.at || a.feedback_id.localeCompare(b.feedback_id)).slice(0, limit);
  }

  async corrections(ids: readonly string[] | null, limit: number): Promise<FeedbackRow[]> {
    const want = ids === null ? null : new Set(ids);
    const rows = (await this.all(MAX_FEEDBACK_ROWS)).filter((r) => r.kind === 'correct_root_cause' && (want === null || want.has(r.incident_id)));
    return rows.reverse().slice(0, limit);
  }

  private scan(): FeedbackRow[] {
    const file = join(this.dir, 'feedback.ndjson');
    if (!existsSync(file)) return [];
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new NightshiftError('IO_ERROR', `read ${file}: ${(e as Error).message}`, { cause: e });
    }
    const rows: FeedbackRow[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      // A torn last line (a crash mid-append) is skipped, not fatal: every other row is still good.
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      rows.push(fromRecord(r));
    }
    return rows;
  }
}
