import type { Logger } from 'pino';
import { NightshiftError } from '../core/errors.js';
import { KnowledgeConfig, loadKnowledgeBase, type KnowledgeBase } from '../reasoning/rag/kb.js';
import { DEFAULT_NDJSON_ANALYTICS_DIR } from '../sinks/clickhouse/analytics.js';
import { openClickHouse, type ClickHouseLike } from '../sinks/clickhouse/client.js';
import { analyticsChoiceFromEnv } from '../sinks/clickhouse/config.js';
import { migrate } from '../sinks/clickhouse/migrate.js';
import { NdjsonTableStore } from '../sinks/clickhouse/ndjson-store.js';
import { analystQuery, analystSql } from '../sinks/clickhouse/queries.js';
import { NdjsonFeedbackStore, TableFeedbackStore, type FeedbackStore } from './feedback.js';
import { IncidentReader } from './store.js';
import { valueReport, type ValueModel, type ValueReport, type ValueReportOptions } from '../sinks/clickhouse/value.js';

/**
 * What the MCP tools read and write. `reader` is null on the NDJSON fallback store: it answers no queries, so the
 * incident tools say so (as tool errors) while feedback still lands in its file.
 */
export interface McpContext {
  readonly description: string;
  readonly reader: IncidentReader | null;
  readonly feedback: FeedbackStore;
  readonly kb: KnowledgeBase;
  runSaved(name: string, limit: number): Promise<{ rows: Record<string, unknown>[]; truncated: boolean }>;
  /** The value accounting report (sinks/clickhouse/value.ts) over this store, with the given model. */
  value(model: Partial<ValueModel>, opts?: ValueReportOptions): Promise<ValueReport>;
  close(): Promise<void>;
}

/** The context's incident reader, or CONFIG_INVALID naming the store that answers no queries (the NDJSON fallback). */
export function needReader(ctx: McpContext): IncidentReader {
  if (!ctx.reader) throw new NightshiftError('CONFIG_INVALID', `the analytics store (${ctx.description}) answers no queries: configure ClickHouse or chdb`);
  return ctx.reader;
}

export function contextOf(ch: ClickHouseLike, db: string, kb: KnowledgeBase, description: string): McpContext {
  return {
    description,
    reader: new IncidentReader(ch, db),
    feedback: new TableFeedbackStore(ch, db),
    kb,
    runSaved: async (name, limit) => {
      const q = analystQuery(name);
      if (!q) throw new NightshiftError('NOT_FOUND', `unknown saved query ${JSON.stringify(name)}`);
      // One more than asked tells whether the answer was cut, without counting the whole result.
      const rows = await ch.query<Record<string, unknown>>(`SELECT * FROM (${analystSql(q, db)}) LIMIT ${limit + 1}`);
      return { rows: rows.slice(0, limit), truncated: rows.length > limit };
    },
    value: (model, opts) => valueReport(ch, db, model, opts),
    close: () => ch.close(),
  };
}

/**
 * Opens the analytics store the environment selects (the same choice as the pipeline: NIGHTSHIFT_CLICKHOUSE_URL, or
 * chdb at NIGHTSHIFT_CHDB_PATH, or the NDJSON files when chdb cannot load) and applies the migrations, so the
 * feedback table exists even on a store written by an older version. Knowledge from NIGHTSHIFT_KNOWLEDGE_DIR or the
 * shipped sample.
 */
export async function openMcpContext(env: NodeJS.ProcessEnv, log: Logger): Promise<McpContext> {
  const kb = loadKnowledgeBase(KnowledgeConfig.parse(env.NIGHTSHIFT_KNOWLEDGE_DIR ? { dir: env.NIGHTSHIFT_KNOWLEDGE_DIR } : {}));
  const choice = analyticsChoiceFromEnv(env);
  if (choice.kind === 'none') throw new NightshiftError('CONFIG_INVALID', `the MCP server needs the analytics store, and analytics are off (${choice.reason})`);
  const { target, database } = choice.config;
  let ch: ClickHouseLike;
  try {
    ch = await openClickHouse(target, { requestTimeoutMs: choice.config.writer.requestTimeoutMs });
  } catch (e) {
    if (target.kind !== 'chdb') throw e;
    const dir = env.NIGHTSHIFT_ANALYTICS_NDJSON_DIR?.trim() || DEFAULT_NDJSON_ANALYTICS_DIR;
    log.warn({ err: (e as Error).message, dir }, 'chdb unavailable: MCP incident tools are off, feedback goes to NDJSON');
    const store = new NdjsonTableStore(dir);
    return {
      description: `NDJSON table files in ${dir} (chdb unavailable)`,
      reader: null,
      feedback: new NdjsonFeedbackStore(store, dir),
      kb,
      runSaved: () => Promise.reject(new NightshiftError('CONFIG_INVALID', 'the NDJSON analytics store answers no queries: configure ClickHouse or chdb')),
      value: () => Promise.reject(new NightshiftError('CONFIG_INVALID', 'the NDJSON analytics store answers no queries: configure ClickHouse or chdb')),
      close: () => store.close(),
    };
  }
  try {
    await migrate(ch, database);
  } catch (e) {
    await ch.close();
    throw e;
  }
  const where = target.kind === 'http' ? `ClickHouse at ${target.url}` : `chdb at ${target.path}`;
  return contextOf(ch, database, kb, `${where} (database ${database})`);
}
