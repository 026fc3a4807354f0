import { hostname } from 'node:os';
import type { Stage, StageDeps } from '../core/stage.js';
import type { IncidentOutput, TopologyFile } from '../schemas/index.js';
import { createAnalyticsSink, type AnalyticsSink } from '../sinks/clickhouse/analytics.js';
import { clickhouseConfigFromEnv } from '../sinks/clickhouse/config.js';
import { RunRecorder } from '../sinks/clickhouse/runs.js';
import { FanoutSink, NdjsonSink } from '../sinks/index.js';
import { createTicketingSink, ticketingFromEnv, type TicketingSink } from '../sinks/ticketing/index.js';
import type { NightshiftConfig } from './config.js';

/**
 * Which analytics store a transport may open: `embedded` the one the environment selects (a ClickHouse server, else
 * chdb, else NDJSON tables: `replay`), `shared` only a ClickHouse server (`run`: an embedded chdb file would be one
 * instance's alone).
 */
export type StoreScope = 'embedded' | 'shared';

export interface SinkOptions {
  readonly config: NightshiftConfig;
  readonly env: NodeJS.ProcessEnv;
  readonly deps: StageDeps;
  /** The incident output NDJSON file ('-': stdout). */
  readonly out: string;
  readonly topology?: TopologyFile;
  readonly store: StoreScope;
  /** An LLM is configured: its runs go to reasoning_runs through `recorder`. */
  readonly llm: boolean;
}

/** The sinks of the pipeline graph and the store they share, built once from the configuration and environment. */
export interface AssembledSinks {
  /** NDJSON, then ticketing when configured: the graph appends the analytics incident sink (graph.sink). */
  readonly sink: Stage<IncidentOutput, never>;
  readonly analytics: AnalyticsSink | null;
  readonly ticketing: TicketingSink | null;
  /** reasoning_runs rows, when an LLM runs and there is a store. */
  readonly recorder: RunRecorder | null;
  close(): Promise<void>;
}

/**
 * The one place where sinks are assembled, for both transports: the NDJSON output, ticketing (recording each ticket
 * in the store's tickets table), the analytics store (with the topology's owners written at start) and the LLM run
 * recorder. In `shared` scope every process writes its own pipeline_stats rows (labelled `run:<pod or host>` unless
 * NIGHTSHIFT_ANALYTICS_PIPELINE says otherwise), since the saved queries sum over labels and two instances' counts for
 * one minute must not replace each other.
 */
export async function assembleSinks(o: SinkOptions): Promise<AssembledSinks> {
  const { deps } = o;
  let analytics: AnalyticsSink | null = null;
  if (o.store === 'embedded') analytics = await createAnalyticsSink(o.env, deps);
  else if (clickhouseConfigFromEnv(o.env)) {
    const env = o.env.NIGHTSHIFT_ANALYTICS_PIPELINE?.trim() ? o.env : { ...o.env, NIGHTSHIFT_ANALYTICS_PIPELINE: `run:${o.env.POD_NAME?.trim() || hostname()}` };
    analytics = await createAnalyticsSink(env, deps);
  }
  const store = analytics?.store ?? null;
  const sinks: Stage<IncidentOutput, never>[] = [new NdjsonSink({ path: o.out })];
  const tcfg = ticketingFromEnv(o.env, o.config.ticketing);
  const ticketing = tcfg ? createTicketingSink(tcfg, { ...deps, ...(store ? { recorder: store.recordTicket } : {}) }) : null;
  if (ticketing) sinks.push(ticketing);
  if (o.topology && store) await store.writeServiceOwners(o.topology.services);
  if (store && store.config.writer.retryForMs === 0) {
    deps.log.warn('clickhouse writer.retryForMs is 0 (retry forever): during an outage the pipeline stays paused until ClickHouse is back, nothing is dead-lettered');
  }
  const recorder = o.llm && store ? new RunRecorder(store, deps.log) : null;
  return {
    sink: sinks.length === 1 ? sinks[0]! : new FanoutSink(sinks),
    analytics,
    ticketing,
    recorder,
    close: async () => {
      await recorder?.close();
      await analytics?.close();
    },
  };
}
