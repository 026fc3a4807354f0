import { Counters } from '../../core/counters.js';
import { NightshiftError } from '../../core/errors.js';
import type { Emitter, Stage, StageDeps } from '../../core/stage.js';
import type { Event, IncidentBundle, IncidentOutput, Signal } from '../../schemas/index.js';
import { createChdbClickHouse, openClickHouse } from './client.js';
import { analyticsChoiceFromEnv, ClickHouseSinkConfig } from './config.js';
import { migrate } from './migrate.js';
import { NdjsonTableStore } from './ndjson-store.js';
import { ANALYST_QUERIES, analystQuery, analystSql } from './queries.js';
import { ClickHouseAnalytics } from './sink.js';
import type { RowWriterDeps } from './writer.js';

/** Where the NDJSON fallback writes when chdb cannot be loaded. */
export const DEFAULT_NDJSON_ANALYTICS_DIR = '.nightshift/analytics-ndjson';

/**
 * What the embedded pipeline appends for analytics. `kind` says which store was chosen:
 *   clickhouse  NIGHTSHIFT_CLICKHOUSE_URL is set: that server (database NIGHTSHIFT_CLICKHOUSE_DATABASE, default nightshift)
 *   chdb        the default: the in-process engine with its data in NIGHTSHIFT_CHDB_PATH (default .nightshift/chdb)
 *   ndjson      chdb could not be loaded: one NDJSON file per table in NIGHTSHIFT_ANALYTICS_NDJSON_DIR
 *   none        NIGHTSHIFT_ANALYTICS=off
 * The stages are pass-through (taps) or a sink; with `none` they do nothing, so the wiring is the same in every case.
 */
export interface AnalyticsSink {
  readonly kind: 'clickhouse' | 'chdb' | 'ndjson' | 'none';
  /** One line for the log or the run summary, e.g. "chdb at .nightshift/chdb (database nightshift)". */
  readonly description: string;
  readonly store: ClickHouseAnalytics | null;
  /** Append after the incident output sink (or give both to a FanoutSink). */
  readonly incidentSink: Stage<IncidentOutput, never>;
  /** Between perception (after the bundle meter) and reasoning. */
  readonly bundleTap: Stage<IncidentBundle, IncidentBundle>;
  /** Between ingest and perception. */
  readonly eventTap: Stage<Event, Event>;
  /** Pass to createPerception as its signal observer. */
  readonly onSignal: (s: Signal) => void;
  close(): Promise<void>;
}

class PassThrough<T> implements Stage<T, T> {
  readonly counters = new Counters();
  constructor(readonly name: string) {}
  process(x: T, out: Emitter<T>): void {
    out.emit(x);
  }
}

class NullSink<T> implements Stage<T, never> {
  readonly name = 'sink-analytics-off';
  readonly counters = new Counters();
  process(): void {
    this.counters.sent++;
  }
}

function none(reason: string): AnalyticsSink {
  return {
    kind: 'none',
    description: `analytics off (${reason})`,
    store: null,
    incidentSink: new NullSink<IncidentOutput>(),
    bundleTap: new PassThrough<IncidentBundle>('tap-clickhouse'),
    eventTap: new PassThrough<Event>('tap-clickhouse-stats'),
    onSignal: () => undefined,
    close: async () => undefined,
  };
}

function wrap(kind: 'clickhouse' | 'chdb' | 'ndjson', description: string, store: ClickHouseAnalytics): AnalyticsSink {
  return {
    kind,
    description,
    store,
    incidentSink: store.incidentSink,
    bundleTap: store.bundleTap,
    eventTap: store.eventTap,
    onSignal: store.onSignal,
    close: () => store.close(),
  };
}

/**
 * Chooses and opens the analytics store from the environment (see AnalyticsSink). A configured server that cannot be
 * reached within the start timeout, or a bad configuration, is an error (the operator asked for it); chdb failing to
 * load falls back to NDJSON with a warning (the default must never stop a run).
 */
export async function createAnalyticsSink(env: NodeJS.ProcessEnv, deps: StageDeps & Partial<RowWriterDeps>): Promise<AnalyticsSink> {
  const choice = analyticsChoiceFromEnv(env);
  if (choice.kind === 'none') return none(choice.reason);
  if (choice.kind === 'clickhouse') {
    const target = choice.config.target;
    const store = await ClickHouseAnalytics.open(choice.config, deps);
    const where = target.kind === 'http' ? target.url : target.path;
    return wrap('clickhouse', `ClickHouse ${store.migration.server} at ${where} (database ${choice.config.database})`, store);
  }
  const path = choice.config.target.kind === 'chdb' ? choice.config.target.path : '';
  try {
    const client = await createChdbClickHouse(path);
    const store = await ClickHouseAnalytics.open(choice.config, deps, client);
    return wrap('chdb', `chdb ${store.migration.server} at ${path} (database ${choice.config.database})`, store);
  } catch (e) {
    const dir = env.NIGHTSHIFT_ANALYTICS_NDJSON_DIR?.trim() || DEFAULT_NDJSON_ANALYTICS_DIR;
    deps.log.warn({ err: (e as Error).message, dir }, 'chdb unavailable: analytics rows go to NDJSON files instead');
    const cfg = ClickHouseSinkConfig.parse({ ...choice.config, target: { kind: 'chdb', path: dir } });
    const store = await ClickHouseAnalytics.open(cfg, deps, new NdjsonTableStore(dir));
    return wrap('ndjson', `NDJSON table files in ${dir} (chdb unavailable: ${(e as Error).message})`, store);
  }
}

/**
 * Runs a saved analyst query (queries.ts) against the store the environment selects (server or chdb; the NDJSON
 * fallback answers no queries). For a `nightshift query NAME` command: rows as JSON objects, 64-bit integers as the
 * engine returns them (strings from old servers).
 */
export async function querySavedAnalytics(env: NodeJS.ProcessEnv, name: string): Promise<Record<string, unknown>[]> {
  const q = analystQuery(name);
  if (!q) throw new NightshiftError('CONFIG_INVALID', `unknown saved query ${JSON.stringify(name)}; known: ${ANALYST_QUERIES.map((x) => x.name).join(', ')}`);
  const choice = analyticsChoiceFromEnv(env);
  if (choice.kind === 'none') throw new NightshiftError('CONFIG_INVALID', `analytics are off (${choice.reason})`);
  const ch = await openClickHouse(choice.config.target, { requestTimeoutMs: choice.config.writer.requestTimeoutMs });
  try {
    // The views and tables exist only after the migrations; applying them is idempotent.
    await migrate(ch, choice.config.database);
    return await ch.query<Record<string, unknown>>(analystSql(q, choice.config.database));
  } finally {
    await ch.close();
  }
}
