import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { loadConfig, parseConfigText, type NightshiftConfig } from '../pipeline/config.js';
import { startCluster, type Cluster } from '../pipeline/kafka/cluster.js';
import { kafkaConfig, type KafkaConfig } from '../pipeline/kafka/config.js';
import { describeKafkaFailure, describeKafkaSecurity } from '../pipeline/kafka/security.js';
import { ALL_STAGES, type StageName } from '../pipeline/kafka/runner.js';
import { LOOPBACK, warnIfExposed, type Authenticator, type TlsFiles } from '../core/auth/index.js';
import { createLogger } from '../core/log.js';
import { opsPortFromEnv, startOpsServer, type OpsServer } from '../core/ops.js';
import { loadTopologyFile } from '../ingest/topology.js';
import type { TopologyFile } from '../schemas/index.js';
import { opsMcpFromEnv } from '../mcp/ops.js';
import type { AnalyticsSink } from '../sinks/clickhouse/analytics.js';
import type { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { METRIC } from '../core/metrics.js';
import type { RunRecorder } from '../sinks/clickhouse/runs.js';
import { llmConfigFromEnv, type ReasoningRun } from '../reasoning/llm/index.js';
import { PipelineGraph, type GraphParts } from '../pipeline/graph.js';
import { assembleSinks } from '../pipeline/sinks.js';
import { LlmRunTally } from '../pipeline/kafka/pipeline-metrics.js';
import { UsageError, intOpt, processIo, type CliIo } from './io.js';
import { LISTEN_HELP, LISTEN_OPTIONS, hostFrom, listenSettings } from './listen.js';

export const RUN_HELP = `nightshift run [--stage STAGE]... [--config FILE] [--topology FILE] [--out FILE|-] [--brokers HOST:PORT,...] [--host ADDR] [--ops-port N] [--tokens PATH] ...

Runs the pipeline as a cluster service on Kafka. Each stage is its own consumer group (<groupPrefix>-<stage>); run
them all in one process (the default) or one per process, as many instances as partitions, and add instances at
any time: Kafka shares the partitions and a stage's state (perception templates and baselines, open incidents)
moves with them through the checkpoint topic. Stops gracefully on SIGTERM or SIGINT (finishes in-flight records,
writes checkpoints, commits, leaves the groups).
  --stage STAGE        ingest, perception, reasoning, sinks or all (default all; repeat or comma-separate)
  --config FILE        configuration (YAML or JSON); its kafka section holds the cluster settings
  --topology FILE      CMDB file (YAML or JSON) for perception
  --out FILE           where the sinks stage writes incident outputs as NDJSON (default -: stdout)
  --brokers LIST       bootstrap brokers (default NIGHTSHIFT_KAFKA_BROKERS, then the config file)
                       TLS and SASL to the brokers: NIGHTSHIFT_KAFKA_SSL*, NIGHTSHIFT_KAFKA_SASL_* or the config
                       file's kafka.ssl / kafka.sasl (README "Running on Kafka")
  --host ADDR          address of /healthz, /readyz, /metrics (default NIGHTSHIFT_OPS_HOST or 127.0.0.1)
  --ops-port N         /healthz, /readyz, /metrics (default NIGHTSHIFT_OPS_PORT or 9464; 0 = any free port)
${LISTEN_HELP}
                       (with tokens /metrics needs one, the probes stay open; TLS applies to the ops port)
Topics: raw input alerts logs metrics traces changes (ingest.topics), then nightshift.events (key: service),
nightshift.bundles and nightshift.rca (key: incident id), nightshift.deadletters, nightshift.checkpoints (compacted).`;

export const RUN_OPTIONS = {
  stage: { type: 'string', multiple: true },
  config: { type: 'string' },
  topology: { type: 'string' },
  out: { type: 'string', default: '-' },
  brokers: { type: 'string' },
  'ops-port': { type: 'string' },
  ...LISTEN_OPTIONS,
} as const;

export interface RunOptions {
  readonly stages: readonly StageName[];
  readonly config: NightshiftConfig;
  readonly kafka: KafkaConfig;
  readonly topology?: TopologyFile;
  readonly out: string;
  readonly opsPort: number;
  /** Bind address of the ops server (default loopback). */
  readonly opsHost?: string;
  /** Tokens for /metrics; its metrics are added to the cluster's. */
  readonly auth?: Authenticator;
  readonly tls?: TlsFiles;
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunHandle {
  readonly cluster: Cluster;
  readonly ops: OpsServer;
  stop(): Promise<void>;
}

export function parseStages(values: readonly string[]): StageName[] {
  const names = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0 || names.includes('all')) return [...ALL_STAGES];
  const out: StageName[] = [];
  for (const n of names) {
    if (!(ALL_STAGES as readonly string[]).includes(n)) throw new UsageError(`--stage must be one of ${ALL_STAGES.join(', ')} or all, got ${JSON.stringify(n)}`);
    if (!out.includes(n as StageName)) out.push(n as StageName);
  }
  // Pipeline order, whatever the order on the command line.
  return ALL_STAGES.filter((s) => out.includes(s));
}

/** The kafka section of a config file (read directly, so it works whether or not the main config knows the key). */
async function kafkaSection(cfg: NightshiftConfig, path: string | undefined): Promise<unknown> {
  const known = (cfg as { kafka?: unknown }).kafka;
  if (known !== undefined || !path) return known;
  const raw = parseConfigText(await readFile(path, 'utf8'), path) as Record<string, unknown> | null;
  return raw?.kafka;
}

/** Loads the main config; a `kafka` section is taken out first so that the main schema need not know it. */
export async function loadRunConfig(path: string | undefined, env: NodeJS.ProcessEnv): Promise<{ cfg: NightshiftConfig; kafka: unknown }> {
  try {
    const cfg = await loadConfig(path, env);
    return { cfg, kafka: await kafkaSection(cfg, path) };
  } catch (e) {
    if (!path || !/kafka/.test((e as Error).message)) throw e;
    // The main schema rejects the kafka key: validate the rest through a copy without it.
    const raw = parseConfigText(await readFile(path, 'utf8'), path) as Record<string, unknown>;
    const { kafka, ...rest } = raw;
    const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'nightshift-config-'));
    try {
      const copy = join(dir, 'config.json');
      await writeFile(copy, JSON.stringify(rest));
      return { cfg: await loadConfig(copy, env), kafka };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Metrics of the sinks stage's end-to-end acknowledgement and of the ClickHouse writers. */
function registerSinkMetrics(cluster: Cluster, store: ClickHouseAnalytics | null): void {
  const sink = cluster.sink;
  if (!sink) return;
  const m = cluster.metrics;
  m.register(METRIC.sinkBlocked, 'Sinks stage: age of the oldest output not confirmed by every sink yet (0 when none); an outage makes it grow.', 'gauge', () => [
    { labels: {}, value: sink.blockedSeconds() },
  ]);
  m.register(METRIC.sinkUnconfirmed, 'Sinks stage: outputs accepted by the sinks and not confirmed yet (their offsets are not committed).', 'gauge', () => [
    { labels: {}, value: sink.pending },
  ]);
  if (!store) return;
  const tables = ['incidents', 'root_causes', 'incident_details', 'tickets'] as const;
  m.register(METRIC.clickhouseFailing, 'ClickHouse writer: seconds inserts have been failing without a success, by table (past writer.retryForMs rows are dead-lettered).', 'gauge', () =>
    tables.map((t) => ({ labels: { table: t }, value: store.writers[t].failingForMs / 1000 })),
  );
  m.register(METRIC.clickhouseRetries, 'ClickHouse writer: inserts retried after a retriable failure, by table.', 'counter', () =>
    tables.map((t) => ({ labels: { table: t }, value: store.writers[t].stats.retries })),
  );
  m.register(METRIC.clickhouseHeld, 'ClickHouse writer: rows buffered or in flight, not acknowledged yet, by table.', 'gauge', () =>
    tables.map((t) => ({ labels: { table: t }, value: store.writers[t].held.rows })),
  );
}

/** Starts the selected stages and the ops server. */
export async function startRun(opts: RunOptions): Promise<RunHandle> {
  let closeSink = async (): Promise<void> => undefined;
  let store: ClickHouseAnalytics | null = null;
  const env = opts.env ?? process.env;
  // The LLM reasoner runs inline in cluster mode: its answer is published while the bundle's record is being
  // processed, so it is committed with it (async answers would ride on a later record and could be lost on a crash).
  const configured = llmConfigFromEnv(env, opts.config.llm, { mode: 'inline' });
  if (configured?.mode === 'async') opts.log.warn({ model: configured.model }, 'llm.mode async is for replay: nightshift run reasons inline');
  const llm = configured ? { ...configured, mode: 'inline' as const } : null;
  const tally = new LlmRunTally();
  // reasoning_runs rows go through the analytics store the sinks stage opens in this process (none without it).
  let recorder: RunRecorder | null = null;
  const onRun = (r: ReasoningRun): void => {
    tally.observe(r);
    recorder?.record(r);
  };
  // The analytics store is opened by the sinks stage (below, before any lane starts); the graph reads it when the
  // lanes build their nodes, so perception's signal observer, the event and bundle taps and the incident sink of
  // this process all write to it, as in replay. A process without the sinks stage has no store: no taps.
  let analytics: AnalyticsSink | null = null;
  const parts: GraphParts = {
    log: opts.log,
    ...(opts.topology ? { topology: opts.topology } : {}),
    ...(llm ? { llm, onRun } : {}),
    get analytics() {
      return analytics ?? undefined;
    },
  };
  const graph = new PipelineGraph(opts.config, parts);
  const cluster = await startCluster({
    graph,
    llmRuns: tally,
    config: opts.config,
    kafka: opts.kafka,
    stages: opts.stages,
    log: opts.log,
    ...(opts.topology ? { topology: opts.topology } : {}),
    ...(env.POD_NAME ? { instance: env.POD_NAME } : {}),
    createSink: async (deps) => {
      // Only a shared ClickHouse server makes sense for a cluster (an embedded chdb file would be one instance's).
      const built = await assembleSinks({ config: opts.config, env, deps, out: opts.out, store: 'shared', llm: llm !== null, ...(opts.topology ? { topology: opts.topology } : {}) });
      store = built.analytics?.store ?? null;
      analytics = built.analytics;
      recorder = built.recorder;
      closeSink = () => built.close();
      return built.sink;
    },
  });
  let ops: OpsServer;
  let mcp: Awaited<ReturnType<typeof opsMcpFromEnv>> = null;
  try {
    registerSinkMetrics(cluster, store);
    opts.auth?.registerMetrics(cluster.metrics);
    mcp = await opsMcpFromEnv(env, opts.auth, opts.log);
    mcp?.registerMetrics(cluster.metrics);
    ops = await startOpsServer({
      ...(mcp ? { mcp: mcp.handler, feedback: mcp.feedback, webhooks: mcp.webhooks } : {}),
      port: opts.opsPort,
      host: opts.opsHost ?? LOOPBACK,
      log: opts.log,
      ...(opts.auth ? { auth: opts.auth } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      healthy: () => cluster.healthy(),
      // Not ready either while a sink has held outputs unconfirmed for longer than kafka.sinkUnreadyAfterMs.
      ready: () => cluster.ready() && (cluster.sink?.ready() ?? true),
      metrics: () => cluster.metrics.render(),
    });
  } catch (e) {
    await cluster.stop();
    await closeSink();
    await mcp?.close();
    throw e;
  }
  let stopping: Promise<void> | null = null;
  return {
    cluster,
    ops,
    stop: () =>
      (stopping ??= (async () => {
        await cluster.stop();
        await closeSink();
        await ops.close();
        await mcp?.close();
      })()),
  };
}

/** `nightshift run`: resolves with the exit code once stopped (0 after SIGTERM/SIGINT, 1 after a fatal error). */
export async function runCommand(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args: argv, options: RUN_OPTIONS, strict: true });
  const stages = parseStages(values.stage ?? []);
  const { cfg, kafka } = await loadRunConfig(values.config, env);
  const kenv = values.brokers ? { ...env, NIGHTSHIFT_KAFKA_BROKERS: values.brokers } : env;
  const kcfg = kafkaConfig(kafka, kenv);
  const topology = values.topology ? await loadTopologyFile(values.topology) : undefined;
  const opsPort = values['ops-port'] !== undefined ? intOpt(values['ops-port'], 'ops-port', 0, 0, 65_535) : opsPortFromEnv(env);
  const opsHost = hostFrom(values.host, env, 'NIGHTSHIFT_OPS_HOST', LOOPBACK);
  const log = createLogger();
  const { auth, tls } = await listenSettings(values, env, log);
  const h = await startRun({ stages, config: cfg, kafka: kcfg, out: values.out, opsPort, opsHost, auth, log, env, ...(tls ? { tls } : {}), ...(topology ? { topology } : {}) });
  warnIfExposed(log, [{ what: 'ops', host: opsHost, port: h.ops.port }], auth.enabled);
  io.stderr.write(`nightshift run: stages ${stages.join(', ')} on ${kcfg.brokers.join(',')} (${describeKafkaSecurity(kcfg)}); ops ${h.ops.scheme} on ${h.ops.host}:${h.ops.port}\n`);
  const signalled = new Promise<string>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
  });
  const why = await Promise.race([signalled, h.cluster.failed.then((e) => e)]);
  const code = typeof why === 'string' ? 0 : 1;
  io.stderr.write(typeof why === 'string' ? `nightshift run: ${why}, stopping\n` : `nightshift run: ${describeKafkaFailure(why) ?? why.message}\n`);
  // The whole stop is bounded (kafka.shutdownTimeoutMs + 10 s, below the Helm chart's 60 s grace period): what is
  // not confirmed by then was not committed, and the next instance gets it again.
  const bound = kcfg.shutdownTimeoutMs + 10_000;
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([h.stop().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), bound)))]);
  clearTimeout(timer);
  if (!stopped) {
    io.stderr.write(`nightshift run: stop took longer than ${bound} ms; leaving now (records not confirmed were not committed and will be redelivered)\n`);
    // Whatever is still running (a retry's sleep, a socket) must not keep the process past its grace period.
    setTimeout(() => process.exit(code), 2000).unref();
    return code;
  }
  await auth.close();
  return code;
}


/** Entry for a child process (tests, benchmarks): `node -e "import('dist/cli/run.js').then(m => m.runMain(argv))"`. */
export async function runMain(argv: string[]): Promise<void> {
  process.exitCode = await runCommand(argv, processIo());
}
