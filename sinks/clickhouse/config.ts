import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';

/** Batching, buffering and retry of one table's writer. Every bound is here, with what happens when it is reached. */
export const WriterConfig = z.strictObject({
  /** An insert is sent once this many rows wait... */
  batchRows: z.number().int().min(1).max(1_000_000).default(5_000),
  /** ...or this many bytes of JSON... */
  batchBytes: z.number().int().min(1024).max(256 * 1_048_576).default(4 * 1_048_576),
  /** ...or when the oldest waiting row is this old (wall clock: it only decides when, never what, is written). */
  batchDelayMs: z.number().int().min(0).max(600_000).default(1_000),
  /** Rows held (waiting plus in flight). When full, `write` waits until an insert frees room: backpressure. */
  bufferRows: z.number().int().min(1).max(10_000_000).default(20_000),
  /** Bytes held, same rule. A single row larger than `maxRowBytes` is dead-lettered (RECORD_TOO_LARGE) instead. */
  bufferBytes: z.number().int().min(1024).max(1024 * 1_048_576).default(32 * 1_048_576),
  maxRowBytes: z.number().int().min(256).max(256 * 1_048_576).default(1_048_576),
  /** Backoff after a retriable failure: doubles from `backoffMinMs` up to `backoffMaxMs`, with full jitter. */
  backoffMinMs: z.number().int().min(1).max(60_000).default(200),
  backoffMaxMs: z.number().int().min(1).max(600_000).default(5_000),
  /**
   * How long one batch may keep failing with retriable errors before its rows go to the dead-letter output
   * (IO_ERROR). 0 = retry forever (the pipeline stays blocked by backpressure until ClickHouse is back).
   */
  retryForMs: z.number().int().min(0).default(15 * 60_000),
  /** Per-request timeout of an insert. A timed-out insert is retried: the ReplacingMergeTree tables absorb a double. */
  requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /**
   * `batch`: `process` returns once the row is buffered; durability is known from the ack sequence (see RowWriter).
   * `each`: `process` returns only after the row is inserted (or dead-lettered) — one insert per row, for callers
   * that commit a source offset right after `process` (e.g. a fan-out in cluster mode).
   */
  ack: z.enum(['batch', 'each']).default('batch'),
});
export type WriterConfig = z.infer<typeof WriterConfig>;

export const ClickHouseTarget = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('http'),
    /** e.g. http://127.0.0.1:8123 */
    url: z.url({ protocol: /^https?$/ }),
    username: z.string().default('default'),
    password: z.string().default(''),
  }),
  z.strictObject({
    kind: z.literal('chdb'),
    /** Data directory of the in-process engine; one per process (chdb binds a single path per process). */
    path: z.string().min(1),
  }),
]);
export type ClickHouseTarget = z.infer<typeof ClickHouseTarget>;

export const ClickHouseSinkConfig = z.strictObject({
  target: ClickHouseTarget,
  database: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a database name is letters, digits and _ (it is spliced into DDL)')
    .default('nightshift'),
  /** Label of this pipeline in `pipeline_stats` (several pipelines can share one database). */
  pipeline: z.string().min(1).max(128).default('embedded'),
  writer: WriterConfig.default(() => WriterConfig.parse({})),
  /** Entries of the small per-incident maps (version sequence, first symptom time); least recently used go first. */
  maxTrackedIncidents: z.number().int().min(16).max(10_000_000).default(100_000),
  /** Minutes of `pipeline_stats` kept open for late counts; past this the oldest is written and closed. */
  maxOpenMinutes: z.number().int().min(2).max(1_000_000).default(10_080),
  /** Seed of the backoff jitter, so a retry schedule can be reproduced. */
  jitterSeed: z.number().int().default(1),
});
export type ClickHouseSinkConfig = z.infer<typeof ClickHouseSinkConfig>;

/** Where the embedded mode keeps its local store when no server is configured. */
export const DEFAULT_CHDB_PATH = '.nightshift/chdb';

export type AnalyticsChoice =
  | { readonly kind: 'clickhouse'; readonly config: ClickHouseSinkConfig }
  | { readonly kind: 'chdb'; readonly config: ClickHouseSinkConfig }
  | { readonly kind: 'none'; readonly reason: string };

function parseOrThrow(input: unknown): ClickHouseSinkConfig {
  const r = ClickHouseSinkConfig.safeParse(input);
  if (r.success) return r.data;
  const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new NightshiftError('CONFIG_INVALID', `clickhouse sink config is invalid: ${msg}`);
}

/** NIGHTSHIFT_ANALYTICS_PIPELINE: this process's label in pipeline_stats (`nightshift run` sets run:<pod or host>). */
function pipelineFromEnv(env: NodeJS.ProcessEnv): { pipeline?: string } {
  const v = env.NIGHTSHIFT_ANALYTICS_PIPELINE?.trim();
  return v ? { pipeline: v } : {};
}

/**
 * The server sink's config from the environment, or null when `NIGHTSHIFT_CLICKHOUSE_URL` is unset (sink off).
 *   NIGHTSHIFT_CLICKHOUSE_URL       http(s)://host:port of the HTTP interface — switches the sink on
 *   NIGHTSHIFT_CLICKHOUSE_DATABASE  database (default nightshift)
 *   NIGHTSHIFT_CLICKHOUSE_USER / NIGHTSHIFT_CLICKHOUSE_PASSWORD   credentials (default: default user, no password)
 *   NIGHTSHIFT_ANALYTICS_PIPELINE   label of this process's pipeline_stats rows (default embedded; run: run:<pod>)
 *   NIGHTSHIFT_CLICKHOUSE_RETRY_FOR_MS   writer.retryForMs: how long inserts may keep failing before rows are
 *                                   dead-lettered (default 900000 = 15 min; 0 = forever)
 */
export function clickhouseConfigFromEnv(env: NodeJS.ProcessEnv): ClickHouseSinkConfig | null {
  const url = env.NIGHTSHIFT_CLICKHOUSE_URL?.trim();
  if (!url) return null;
  return parseOrThrow({
    target: {
      kind: 'http',
      url,
      ...(env.NIGHTSHIFT_CLICKHOUSE_USER ? { username: env.NIGHTSHIFT_CLICKHOUSE_USER } : {}),
      ...(env.NIGHTSHIFT_CLICKHOUSE_PASSWORD ? { password: env.NIGHTSHIFT_CLICKHOUSE_PASSWORD } : {}),
    },
    ...(env.NIGHTSHIFT_CLICKHOUSE_DATABASE?.trim() ? { database: env.NIGHTSHIFT_CLICKHOUSE_DATABASE.trim() } : {}),
    ...(env.NIGHTSHIFT_CLICKHOUSE_RETRY_FOR_MS?.trim() ? { writer: { retryForMs: Number(env.NIGHTSHIFT_CLICKHOUSE_RETRY_FOR_MS.trim()) } } : {}),
    ...pipelineFromEnv(env),
  });
}

/**
 * Which analytics store the embedded mode uses:
 *   NIGHTSHIFT_CLICKHOUSE_URL set        -> that server
 *   NIGHTSHIFT_ANALYTICS=off             -> none
 *   otherwise                            -> chdb at NIGHTSHIFT_CHDB_PATH (default .nightshift/chdb)
 * (If chdb then fails to load, `createAnalyticsSink` falls back to NDJSON files and says so.)
 */
export function analyticsChoiceFromEnv(env: NodeJS.ProcessEnv): AnalyticsChoice {
  const server = clickhouseConfigFromEnv(env);
  if (server) return { kind: 'clickhouse', config: server };
  const mode = env.NIGHTSHIFT_ANALYTICS?.trim().toLowerCase();
  if (mode === 'off' || mode === 'none' || mode === '0') return { kind: 'none', reason: 'NIGHTSHIFT_ANALYTICS=off' };
  const path = env.NIGHTSHIFT_CHDB_PATH?.trim() || DEFAULT_CHDB_PATH;
  return {
    kind: 'chdb',
    config: parseOrThrow({
      target: { kind: 'chdb', path },
      ...(env.NIGHTSHIFT_CLICKHOUSE_DATABASE?.trim() ? { database: env.NIGHTSHIFT_CLICKHOUSE_DATABASE.trim() } : {}),
      ...pipelineFromEnv(env),
    }),
  };
}
