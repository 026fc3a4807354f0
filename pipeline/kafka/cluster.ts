import { registerPipelineMetrics } from './pipeline-metrics.js';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { IncidentOutput, TopologyFile } from '../../schemas/index.js';
import type { NightshiftConfig } from '../config.js';
import { Counters } from '../../core/counters.js';
import type { DeadLetter } from '../../core/deadletter.js';
import { METRIC, MetricsRegistry, type Sample } from '../../core/metrics.js';
import { redactionTotals } from '../../core/redact/index.js';
import type { Stage, StageDeps } from '../../core/stage.js';
import { CheckpointStore } from './checkpoints.js';
import { createKafka, ensureTopics, partitionCounts, topicSpecs } from './client.js';
import { OffsetLoss } from './loss.js';
import type { KafkaConfig } from './config.js';
import { PerceptionProcessor, ReasoningProcessor, SharedSink, eventKeyer, ingestProcessor } from './processors.js';
import { ProducerBatcher } from './producer.js';
import { StageRunner, type StageName, type StageSpec } from './runner.js';
import { PipelineGraph } from '../graph.js';
import type { LlmRunTally } from './pipeline-metrics.js';

export interface ClusterOptions {
  readonly config: NightshiftConfig;
  /**
   * The pipeline graph (pipeline/graph.ts) whose nodes the lanes run: with analytics taps and the LLM when the caller
   * built it with them. Default: the graph of `config` and `topology` alone (ranker, no analytics).
   */
  readonly graph?: PipelineGraph;
  readonly kafka: KafkaConfig;
  /** Stages this process runs (each its own consumer group). */
  readonly stages: readonly StageName[];
  readonly log: Logger;
  /** The CMDB for perception. */
  readonly topology?: TopologyFile;
  /** Builds the sinks stage's sink (NDJSON, ticketing, analytics...) with the dead-letter sink it must use. */
  readonly createSink?: (deps: StageDeps) => Stage<IncidentOutput, never> | Promise<Stage<IncidentOutput, never>>;
  /** Appended to the Kafka client id (an instance name, e.g. the pod name). */
  readonly instance?: string;
  /** The LLM figures for /metrics, fed by the graph's run observer (zeros without it). */
  readonly llmRuns?: LlmRunTally;
}

export interface Cluster {
  readonly runners: ReadonlyMap<StageName, StageRunner>;
  readonly batcher: ProducerBatcher;
  readonly checkpoints: CheckpointStore | null;
  readonly sink: SharedSink | null;
  readonly metrics: MetricsRegistry;
  /** Every stage has joined its group at least once and the producer works. */
  ready(): boolean;
  /** No fatal error. */
  healthy(): boolean;
  /** Resolves with the first fatal error (a produce that failed after retries, a consumer that gave up). */
  readonly failed: Promise<Error>;
  /** Graceful stop (see StageRunner.stop); idempotent. */
  stop(): Promise<void>;
}

export function groupId(cfg: KafkaConfig, stage: StageName): string {
  return `${cfg.groupPrefix}-${stage}`;
}

/**
 * Starts the selected stages in this process: topics are created if missing, one idempotent producer is shared
 * (acks=-1), stateful stages share a checkpoint store, and each stage consumes as its own group with the same stage
 * code as the embedded pipeline (ingest/perception/reasoning stage classes, the sinks the CLI builds).
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const { kafka: kcfg, log } = opts;
  const graph = opts.graph ?? new PipelineGraph(opts.config, { log, ...(opts.topology ? { topology: opts.topology } : {}) });
  const config = graph.config;
  const topology = graph.parts.topology;
  const loss = new OffsetLoss(log);
  const kafka: Kafka = createKafka(kcfg, log, opts.instance ? `-${opts.instance}` : '', (t, p, g) => loss.onReset(t, p, g));
  const admin: Admin = kafka.admin();
  await admin.connect();
  if (kcfg.createTopics) {
    const created = await ensureTopics(admin, topicSpecs(kcfg, config.ingest.topics));
    if (created.length > 0) log.info({ topics: created }, 'created topics');
  }
  let fatal: Error | null = null;
  let onFailed: (e: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (onFailed = resolve));
  const fail = (e: Error): void => {
    if (fatal) return;
    fatal = e;
    log.error({ err: e.message }, 'fatal: the pipeline stops; work since the last commit will be redone after a restart');
    onFailed(e);
  };
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 10_000 },
  });
  await producer.connect();
  const batcher = new ProducerBatcher(
    producer,
    { lingerMs: kcfg.lingerMs, maxBatchRecords: kcfg.maxBatchRecords, maxBatchBytes: kcfg.maxBatchBytes, maxQueuedBytes: kcfg.maxQueuedBytes },
    log,
    fail,
  );
  const stateful = opts.stages.some((s) => s === 'perception' || s === 'reasoning');
  const checkpoints = stateful
    ? new CheckpointStore(kafka, admin, { topic: kcfg.topics.checkpoints, groupPrefix: kcfg.groupPrefix, restoreTimeoutMs: kcfg.restoreTimeoutMs, maxKeys: 4096 }, log)
    : null;
  if (checkpoints) await checkpoints.start();

  // Sink dead letters written outside a delivery (background retries of a ticketing sink) are produced on their own.
  const loose = (dl: DeadLetter, acked: (err?: Error) => void = () => undefined): void =>
    batcher.enqueue({ topic: kcfg.topics.deadLetters, key: dl.topic ?? null, value: JSON.stringify(dl) }, acked);
  let sink: SharedSink | null = null;
  if (opts.stages.includes('sinks')) {
    if (!opts.createSink) throw new Error('the sinks stage needs createSink');
    sink = new SharedSink(kcfg.sinkDedupIds, loose, { maxInFlight: kcfg.sinkMaxInFlight, unreadyAfterMs: kcfg.sinkUnreadyAfterMs });
    // The caller's sinks (NDJSON, ticketing), then the graph's analytics incident sink.
    sink.attach(graph.sink([await opts.createSink({ log, deadLetters: sink.deadLetters })]));
  }

  const raw = Object.values(config.ingest.topics);
  const keyOf = eventKeyer(kcfg.eventKey, topology);
  const eventPartitions = opts.stages.includes('ingest') ? ((await partitionCounts(admin, [kcfg.topics.events])).get(kcfg.topics.events) ?? 0) : 0;
  const deps = (dlLog: Logger): StageDeps => ({ log: dlLog, deadLetters: { write: loose, count: 0, byCode: () => ({}) } });
  const specs: Record<StageName, () => StageSpec> = {
    ingest: () => ({
      name: 'ingest',
      groupId: groupId(kcfg, 'ingest'),
      inputs: raw,
      stateful: false,
      alignTimestamps: true,
      ...(eventPartitions > 0 ? { heartbeats: { topic: kcfg.topics.events, partitions: eventPartitions } } : {}),
      createProcessor: (topic, partition) => ingestProcessor((d) => graph.ingest(d), graph.eventTap, kcfg.topics, log, topic, partition, keyOf),
    }),
    perception: () => ({
      name: 'perception',
      groupId: groupId(kcfg, 'perception'),
      inputs: [kcfg.topics.events],
      stateful: true,
      createProcessor: (topic, partition) => new PerceptionProcessor((d) => graph.perception(d), deps(log), graph.bundleTap, kcfg.topics, topic, partition, {
          idleMs: kcfg.alignIdleMs,
          maxBuffered: kcfg.alignMaxEvents,
          idleHoldMs: kcfg.alignIdleHoldMs,
        }),
    }),
    reasoning: () => ({
      name: 'reasoning',
      groupId: groupId(kcfg, 'reasoning'),
      inputs: [kcfg.topics.bundles],
      stateful: true,
      createProcessor: (topic, partition) => new ReasoningProcessor(graph.reasoning(), kcfg.topics, topic, partition),
    }),
    sinks: () => ({
      name: 'sinks',
      groupId: groupId(kcfg, 'sinks'),
      inputs: [kcfg.topics.rca],
      stateful: false,
      delivered: () => sink?.delivered ?? 0,
      createProcessor: (topic, partition) => sink!.processor(topic, partition),
    }),
  };
  const runners = new Map<StageName, StageRunner>();
  for (const s of opts.stages) runners.set(s, new StageRunner(specs[s](), kafka, admin, batcher, checkpoints, kcfg, log.child({ stage: s }), fail, loss));
  for (const r of runners.values()) await r.start();

  const metrics = clusterMetrics(runners, batcher, () => fatal === null, opts.llmRuns);
  metrics.register(METRIC.recordsLost, 'Records never read because an offset reset skipped them (retention deleted them first), by topic and partition.', 'counter', () => loss.lostSamples());
  metrics.register(METRIC.offsetResets, 'Offset resets of the consumer groups (committed offset no longer on the broker), by topic and partition.', 'counter', () => loss.resetSamples());
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // Downstream first would starve it; upstream first lets every stage finish what the one before produced.
      for (const r of runners.values()) await r.stop();
      await batcher.flush();
      await sink?.close().catch((e: Error) => log.warn({ err: e.message }, 'sink close failed'));
      await checkpoints?.stop();
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    })();
    return stopped;
  };
  return {
    runners,
    batcher,
    checkpoints,
    sink,
    metrics,
    ready: () => fatal === null && batcher.failed === null && [...runners.values()].every((r) => r.joined),
    healthy: () => fatal === null,
    failed,
    stop,
  };
}

/** Prometheus metrics of a cluster process, with the names of core/metrics.ts. */
export function clusterMetrics(runners: ReadonlyMap<StageName, StageRunner>, batcher: ProducerBatcher, up: () => boolean, llmRuns?: LlmRunTally): MetricsRegistry {
  const reg = new MetricsRegistry();
  reg.registerStages(() =>
    [...runners.values()].map((r) => {
      // Transport counters plus the drops counted inside the stage instances of the runner's lanes.
      const c = new Counters();
      c.received = r.counters.received;
      c.sent = r.spec.delivered ? r.spec.delivered() : r.counters.sent;
      for (const [k, v] of Object.entries(r.counters.snapshot().dropped)) c.drop(k, v);
      for (const [k, v] of r.dropped()) if (!k.startsWith('dead_letter:')) c.drop(k, v);
      return { name: r.name, counters: c };
    }),
  );
  reg.register(METRIC.deadLetters, 'Records written to the dead-letter topic, by stage and code.', 'counter', () => {
    const out: Sample[] = [];
    for (const r of runners.values()) {
      for (const [k, v] of Object.entries(r.counters.snapshot().dropped)) if (k.startsWith('dead_letter:')) out.push({ labels: { stage: r.name, code: k.slice(12) }, value: v });
    }
    return out;
  });
  reg.register(METRIC.secretsRedacted, 'Secrets redacted from telemetry text (and dead-letter copies), by rule.', 'counter', () =>
    Object.entries(redactionTotals()).map(([rule, value]) => ({ labels: { rule }, value })),
  );
  reg.register(METRIC.consumerLag, 'Records in a partition not processed yet (high watermark minus next offset), by stage, topic and partition.', 'gauge', () =>
    [...runners.values()].flatMap((r) => r.lag().map((l) => ({ labels: { stage: r.name, topic: l.topic, partition: String(l.partition) }, value: l.lag }))),
  );
  reg.register(METRIC.processingLatency, 'Time from taking a record from Kafka to having all its outputs acknowledged, by stage.', 'histogram', () =>
    [...runners.values()].flatMap((r) => r.latency.samples({ stage: r.name })),
  );
  reg.register(METRIC.up, '1 while the process works (no fatal error).', 'gauge', () => [{ labels: {}, value: up() && batcher.failed === null ? 1 : 0 }]);
  registerPipelineMetrics(reg, () => [...runners.values()], llmRuns);
  return reg;
}
