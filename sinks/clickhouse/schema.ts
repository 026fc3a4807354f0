import { SignalType } from '../../schemas/signal.js';
import { RootCauseKind } from '../../schemas/common.js';
import { IncidentSeverity } from '../../schemas/incident.js';
import { viewsOfMigration } from './queries.js';

/**
 * The ClickHouse schema as versioned migrations. `{db}` is replaced by the database name when applied.
 *
 * Base migrations use only what Debian's 18.16 server and today's engine both accept: String, Int64 epoch
 * milliseconds, UInt64 versions, Float64, Array, Nullable, Enum8, ReplacingMergeTree with ORDER BY / PARTITION BY,
 * MATERIALIZED DateTime columns for convenience. The modern-only improvements (LowCardinality, codecs, TTL retention)
 * are migrations gated on the server version; an old server simply skips them and applies them after an upgrade.
 *
 * Every statement is idempotent (IF NOT EXISTS, or an ALTER that sets a state), because ClickHouse has no
 * transactional DDL: a start interrupted between a statement and its `schema_migrations` row re-runs the statement.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Applied only when `SELECT version()` is at least this (e.g. [20, 3]); absent = every server. */
  readonly minServer?: readonly number[];
  readonly statements: readonly string[];
}

const enum8 = (values: readonly string[]): string => `Enum8(${values.map((v, i) => `'${v}' = ${i + 1}`).join(', ')})`;

/** Enum values are positional: append new values at the end only (a later migration MODIFY COLUMN adds them). */
export const KIND_ENUM = enum8(RootCauseKind.options);
export const SIGNAL_TYPE_ENUM = enum8(SignalType.options);
export const STATUS_ENUM = enum8(['open', 'resolved']);
/** Outcome of the hallucination guard on an LLM answer: `rejected` = it named services or evidence not in the bundle. */
export const GUARD_RESULTS = ['passed', 'rejected', 'invalid', 'skipped'] as const;
export const GUARD_ENUM = enum8(GUARD_RESULTS);
/** What a responder said about an incident (MCP tools, later the view and webhooks): see the feedback table. */
export const FEEDBACK_KINDS = ['ack', 'resolve', 'correct_root_cause', 'comment'] as const;
export const FEEDBACK_ENUM = enum8(FEEDBACK_KINDS);
/** Incident severity (reasoning/severity.ts). */
export const SEVERITY_ENUM = enum8(IncidentSeverity.options);

const ms2dt = (col: string): string => `toDateTime(intDiv(${col}, 1000), 'UTC')`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'base tables',
    statements: [
      // One row per incident version. FINAL / argMax(…, version) gives the latest; a replayed or retried version
      // is the same (incident_id, version) and collapses.
      `CREATE TABLE IF NOT EXISTS {db}.incidents (
        incident_id String,
        version UInt64,
        opened_at Int64,
        updated_at Int64,
        status ${STATUS_ENUM},
        services Array(String),
        events Int64,
        alerts Int64,
        signals Int64,
        root_cause_count UInt8,
        top_service Nullable(String),
        top_kind Nullable(${KIND_ENUM}),
        top_confidence Nullable(Float64),
        reasoner String,
        first_signal_at Nullable(Int64),
        opened DateTime('UTC') MATERIALIZED ${ms2dt('opened_at')}
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(${ms2dt('opened_at')})
      ORDER BY incident_id`,
      // One row per ranked cause per incident version (history kept; the latest version's rows are the answer).
      `CREATE TABLE IF NOT EXISTS {db}.root_causes (
        incident_id String,
        version UInt64,
        opened_at Int64,
        updated_at Int64,
        rank UInt8,
        service String,
        kind ${KIND_ENUM},
        confidence Float64,
        summary String,
        evidence Array(String)
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(${ms2dt('opened_at')})
      ORDER BY (incident_id, version, rank)`,
      // The signals that are evidence of an incident (as bundled for reasoning), once per incident.
      `CREATE TABLE IF NOT EXISTS {db}.signals (
        incident_id String,
        signal_id String,
        ts Int64,
        service String,
        type ${SIGNAL_TYPE_ENUM},
        score Float64,
        hint ${KIND_ENUM},
        summary String,
        ref String,
        peer Nullable(String),
        time DateTime('UTC') MATERIALIZED ${ms2dt('ts')}
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(${ms2dt('ts')})
      ORDER BY (incident_id, signal_id)`,
      // Log templates seen in incident bundles; `version` is the template's count (it only grows).
      `CREATE TABLE IF NOT EXISTS {db}.log_templates (
        template_id String,
        service String,
        template String,
        level String,
        count Int64,
        first_seen Int64,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY template_id`,
      // Per pipeline and event-time minute; a minute is rewritten (higher version) when late counts arrive.
      `CREATE TABLE IF NOT EXISTS {db}.pipeline_stats (
        pipeline String,
        minute_ms Int64,
        version UInt64,
        records_in Int64,
        alerts_in Int64,
        signals Int64,
        incidents_opened Int64,
        bundles Int64,
        noise_reduction Float64,
        minute DateTime('UTC') MATERIALIZED ${ms2dt('minute_ms')}
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(${ms2dt('minute_ms')})
      ORDER BY (pipeline, minute_ms)`,
      // One row per LLM reasoning run (the evals record): filled by the LLM reasoner.
      `CREATE TABLE IF NOT EXISTS {db}.reasoning_runs (
        run_id String,
        incident_id String,
        incident_version UInt64,
        ts Int64,
        model String,
        latency_ms Float64,
        tokens_in Int64,
        tokens_out Int64,
        cost_usd Float64,
        retrieval_hit UInt8,
        guard_result ${GUARD_ENUM},
        fallback_used UInt8,
        agrees_with_ranker Nullable(UInt8),
        time DateTime('UTC') MATERIALIZED ${ms2dt('ts')}
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(${ms2dt('ts')})
      ORDER BY (incident_id, run_id)`,
    ],
  },
  {
    version: 2,
    name: 'analyst views',
    statements: viewsOfMigration(2).map((q) => `CREATE VIEW IF NOT EXISTS {db}.${q.view} AS ${q.sql}`),
  },
  {
    version: 3,
    name: 'modern: LowCardinality strings',
    minServer: [20, 3],
    statements: [
      `ALTER TABLE {db}.incidents MODIFY COLUMN reasoner LowCardinality(String)`,
      `ALTER TABLE {db}.incidents MODIFY COLUMN top_service LowCardinality(Nullable(String))`,
      `ALTER TABLE {db}.root_causes MODIFY COLUMN service LowCardinality(String)`,
      `ALTER TABLE {db}.signals MODIFY COLUMN service LowCardinality(String)`,
      `ALTER TABLE {db}.log_templates MODIFY COLUMN service LowCardinality(String)`,
      `ALTER TABLE {db}.log_templates MODIFY COLUMN level LowCardinality(String)`,
      `ALTER TABLE {db}.reasoning_runs MODIFY COLUMN model LowCardinality(String)`,
    ],
  },
  {
    version: 4,
    name: 'modern: codecs',
    minServer: [20, 3],
    statements: [
      `ALTER TABLE {db}.signals MODIFY COLUMN ts Int64 CODEC(Delta, ZSTD(1))`,
      `ALTER TABLE {db}.signals MODIFY COLUMN summary String CODEC(ZSTD(3))`,
      `ALTER TABLE {db}.root_causes MODIFY COLUMN summary String CODEC(ZSTD(3))`,
      `ALTER TABLE {db}.pipeline_stats MODIFY COLUMN records_in Int64 CODEC(T64, ZSTD(1))`,
    ],
  },
  {
    version: 5,
    name: 'modern: TTL retention',
    minServer: [20, 3],
    statements: [
      // Retention counts from when a row was stored, not from its event time: a replay of last year's data must not
      // be deleted on arrival. Raw evidence and minute stats age out; incidents, causes, templates, LLM runs stay.
      `ALTER TABLE {db}.signals ADD COLUMN IF NOT EXISTS inserted_at DateTime DEFAULT now()`,
      `ALTER TABLE {db}.signals MODIFY TTL inserted_at + INTERVAL 90 DAY`,
      `ALTER TABLE {db}.pipeline_stats ADD COLUMN IF NOT EXISTS inserted_at DateTime DEFAULT now()`,
      `ALTER TABLE {db}.pipeline_stats MODIFY TTL inserted_at + INTERVAL 400 DAY`,
    ],
  },
  {
    version: 6,
    name: 'feedback',
    statements: [
      // One row per thing a responder said. `feedback_id` is chosen by the writer, so a retried insert is the same
      // row and collapses; nothing is ever updated (the latest correction wins by `at` when read). No TTL: this is
      // the ground truth the evals score against.
      `CREATE TABLE IF NOT EXISTS {db}.feedback (
        feedback_id String,
        incident_id String,
        at Int64,
        kind ${FEEDBACK_ENUM},
        service Nullable(String),
        root_kind Nullable(${KIND_ENUM}),
        note Nullable(String),
        actor String,
        source String,
        time DateTime('UTC') MATERIALIZED ${ms2dt('at')}
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(${ms2dt('at')})
      ORDER BY (incident_id, feedback_id)`,
    ],
  },
  {
    version: 7,
    name: 'incident_details',
    statements: [
      // What a person reads about an incident version, beside its `incidents` row (same incident_id and version):
      // a new table, because 18.16 has no ADD COLUMN IF NOT EXISTS and existing tables are never altered for it.
      // `evidence` is the output's JSON array of EvidenceItem, `edges` a JSON array of the call edges among the
      // incident's services with their RED figures ({caller, callee, side?, observed_ms?, baseline_ms?, ...}).
      `CREATE TABLE IF NOT EXISTS {db}.incident_details (
        incident_id String,
        version UInt64,
        updated_at Int64,
        title String,
        severity ${SEVERITY_ENUM},
        evidence String,
        edges String
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY incident_id`,
    ],
  },
  {
    version: 8,
    name: 'tickets',
    statements: [
      // One row per ticket the ticketing sink opened (created = 1) or found already there (created = 0), per
      // integration. opened_at = event time (updated_at) of the incident output that opened or found it. The version
      // column is `created`, so a ticket once recorded as created stays created when a restarted pipeline finds it
      // again; queries still take max(created) per key, to be merge-independent.
      `CREATE TABLE IF NOT EXISTS {db}.tickets (
        incident_id String,
        integration String,
        ticket_key String,
        url String,
        opened_at Int64,
        service String,
        created UInt8,
        opened DateTime('UTC') MATERIALIZED ${ms2dt('opened_at')}
      ) ENGINE = ReplacingMergeTree(created)
      ORDER BY (incident_id, integration, ticket_key)`,
      // The topology file's owner per service, written at start when a topology is given; the latest load wins
      // (version = wall-clock ms of the load). owner '' = the file names no owner.
      `CREATE TABLE IF NOT EXISTS {db}.service_owners (
        service String,
        owner String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY service`,
      ...viewsOfMigration(8).map((q) => `CREATE VIEW IF NOT EXISTS {db}.${q.view} AS ${q.sql}`),
    ],
  },
];

export const MIGRATIONS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
  version UInt32,
  name String,
  checksum String,
  server_version String,
  applied_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree ORDER BY version`;

export function withDb(sql: string, db: string): string {
  return sql.replaceAll('{db}', db);
}
