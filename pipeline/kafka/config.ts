import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';

/**
 * Cluster mode settings (the `kafka` section of the config file; environment variables win). Partition counts are
 * used when nightshift creates its topics; existing topics keep theirs.
 */
export const KafkaTopics = z.strictObject({
  /** Normalized events, keyed by service: all records of a service meet in one perception instance. */
  events: z.string().min(1).default('nightshift.events'),
  /** Incident bundles, keyed by incident id. */
  bundles: z.string().min(1).default('nightshift.bundles'),
  /** Root-cause results: one output-contract record per message, keyed by incident id. */
  rca: z.string().min(1).default('nightshift.rca'),
  /** Records that failed, with the original payload, the error and where they came from. */
  deadLetters: z.string().min(1).default('nightshift.deadletters'),
  /** Compacted: the latest state snapshot per stateful stage partition. */
  checkpoints: z.string().min(1).default('nightshift.checkpoints'),
});
export type KafkaTopics = z.infer<typeof KafkaTopics>;

export const KafkaPartitions = z.strictObject({
  raw: z.number().int().min(1).max(10_000).default(6),
  events: z.number().int().min(1).max(10_000).default(12),
  bundles: z.number().int().min(1).max(10_000).default(6),
  rca: z.number().int().min(1).max(10_000).default(6),
  deadLetters: z.number().int().min(1).max(10_000).default(1),
  checkpoints: z.number().int().min(1).max(10_000).default(6),
});
export type KafkaPartitions = z.infer<typeof KafkaPartitions>;

export const KafkaConfig = z.strictObject({
  brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'a broker is host:port')).min(1).default(['127.0.0.1:9092']),
  clientId: z.string().min(1).default('nightshift'),
  /** Consumer groups are `<groupPrefix>.ingest`, `.perception`, `.reasoning`, `.sinks`. */
  groupPrefix: z.string().min(1).default('nightshift'),
  topics: KafkaTopics.prefault({}),
  partitions: KafkaPartitions.prefault({}),
  /**
   * Key of the events topic. `service`: every service's records meet in one perception instance (most parallel;
   * services in different partitions are correlated separately). `component`: services connected in the CMDB
   * (--topology) share a key, so incidents spanning them are correlated as one (less parallel); services the CMDB
   * does not know keep their own name.
   */
  eventKey: z.enum(['service', 'component']).default('service'),
  /** Create missing topics at start (admin client); never relies on broker auto-creation. */
  createTopics: z.boolean().default(true),
  /** Per partition: records taken but not finished (waiting, processing, or with unacknowledged outputs); full -> pause. */
  maxInFlightRecords: z.number().int().min(1).max(10_000_000).default(20_000),
  /** Per partition: bytes of those records plus their pending outputs; full -> pause. */
  maxInFlightBytes: z.number().int().min(1024).max(2 ** 31).default(16 * 1_048_576),
  /** How often finished offsets are committed (stateless stages). */
  commitIntervalMs: z.number().int().min(10).max(600_000).default(1000),
  /** How often a stateful stage (perception, reasoning) snapshots a partition's state; its offsets commit with it. */
  checkpointIntervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
  /** Producer batching: a batch is sent when it has this many records or bytes, or after lingerMs. */
  lingerMs: z.number().int().min(0).max(1000).default(5),
  maxBatchRecords: z.number().int().min(1).max(100_000).default(4000),
  maxBatchBytes: z.number().int().min(1024).max(64 * 1_048_576).default(4 * 1_048_576),
  /** Outputs queued in the producer beyond this wait (all partitions together). */
  maxQueuedBytes: z.number().int().min(1024).max(2 ** 31).default(64 * 1_048_576),
  sessionTimeoutMs: z.number().int().min(6000).max(300_000).default(30_000),
  heartbeatIntervalMs: z.number().int().min(100).max(60_000).default(3000),
  rebalanceTimeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
  /** Fetch limits of the consumers. */
  maxBytesPerPartition: z.number().int().min(1024).max(64 * 1_048_576).default(1_048_576),
  maxWaitTimeMs: z.number().int().min(0).max(10_000).default(100),
  /**
   * Ingest: records are processed in Kafka-timestamp order across partitions, within this slack (ms; perception
   * re-sorts by event time within alignIdleMs, so ingest only needs to keep sources roughly together)...
   */
  alignSlackMs: z.number().int().min(0).max(86_400_000).default(30_000),
  /** ...waiting at most this long (wall ms) for a partition that has records not fetched yet. */
  alignWaitMs: z.number().int().min(0).max(60_000).default(200),
  /**
   * Perception: events wait until every source (raw topic partition) active within this much event time has
   * reached theirs, so sources that progress at different speeds meet in time order (see pipeline/kafka/align.ts).
   */
  alignIdleMs: z.number().int().min(0).max(86_400_000).default(300_000),
  /** Ingest: how often each raw partition's progress is written to every events partition (heartbeats). */
  alignHeartbeatMs: z.number().int().min(50).max(60_000).default(1000),
  /** Perception: events waiting for alignment per partition; beyond it the oldest go on early. */
  alignMaxEvents: z.number().int().min(1).max(10_000_000).default(50_000),
  /** Output ids a sink instance remembers to drop redelivered outputs (least recently seen forgotten first). */
  sinkDedupIds: z.number().int().min(0).max(10_000_000).default(100_000),
  /**
   * Sinks stage: outputs accepted by the sinks but not confirmed yet (ClickHouse ack, ticket done, NDJSON written),
   * all partitions of the process together. Full -> delivery waits, the lanes fill and pause (bounded memory).
   */
  sinkMaxInFlight: z.number().int().min(1).max(1_000_000).default(5000),
  /** Sinks stage: `/readyz` answers not ready while an output has been unconfirmed for longer than this (an outage). */
  sinkUnreadyAfterMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /**
   * How long SIGTERM waits for in-flight work to finish before leaving anyway (per stage; the whole stop of
   * `nightshift run` is bounded by this plus 10 s, below the Helm chart's terminationGracePeriodSeconds of 60 s).
   * What is not confirmed by then stays uncommitted and is redelivered to the next instance.
   */
  shutdownTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** Waiting for the checkpoint topic to be read before restoring a partition. */
  restoreTimeoutMs: z.number().int().min(100).max(600_000).default(60_000),
});
export type KafkaConfig = z.infer<typeof KafkaConfig>;

export function defaultKafkaConfig(): KafkaConfig {
  return KafkaConfig.parse({});
}

function intEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new NightshiftError('CONFIG_INVALID', `${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The kafka section with environment overrides: NIGHTSHIFT_KAFKA_BROKERS (comma-separated host:port),
 * NIGHTSHIFT_KAFKA_CLIENT_ID, NIGHTSHIFT_KAFKA_GROUP_PREFIX, NIGHTSHIFT_KAFKA_TOPIC_<EVENTS|BUNDLES|RCA|DEADLETTERS|CHECKPOINTS>,
 * NIGHTSHIFT_KAFKA_PARTITIONS_<RAW|EVENTS|BUNDLES|RCA>. Throws CONFIG_INVALID naming the bad field.
 */
export function kafkaConfig(section: unknown = {}, env: NodeJS.ProcessEnv = process.env): KafkaConfig {
  if (section !== undefined && section !== null && (typeof section !== 'object' || Array.isArray(section))) {
    throw new NightshiftError('CONFIG_INVALID', 'config kafka: must be an object');
  }
  const raw = { ...((section ?? {}) as Record<string, unknown>) };
  const brokers = env.NIGHTSHIFT_KAFKA_BROKERS;
  if (brokers) raw.brokers = brokers.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  if (env.NIGHTSHIFT_KAFKA_CLIENT_ID) raw.clientId = env.NIGHTSHIFT_KAFKA_CLIENT_ID;
  if (env.NIGHTSHIFT_KAFKA_GROUP_PREFIX) raw.groupPrefix = env.NIGHTSHIFT_KAFKA_GROUP_PREFIX;
  const topics = { ...((raw.topics ?? {}) as Record<string, unknown>) };
  for (const [k, e] of [['events', 'EVENTS'], ['bundles', 'BUNDLES'], ['rca', 'RCA'], ['deadLetters', 'DEADLETTERS'], ['checkpoints', 'CHECKPOINTS']] as const) {
    const v = env[`NIGHTSHIFT_KAFKA_TOPIC_${e}`];
    if (v) topics[k] = v;
  }
  raw.topics = topics;
  const parts = { ...((raw.partitions ?? {}) as Record<string, unknown>) };
  for (const [k, e] of [['raw', 'RAW'], ['events', 'EVENTS'], ['bundles', 'BUNDLES'], ['rca', 'RCA']] as const) {
    const v = intEnv(env, `NIGHTSHIFT_KAFKA_PARTITIONS_${e}`);
    if (v !== undefined) parts[k] = v;
  }
  raw.partitions = parts;
  const r = KafkaConfig.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `kafka.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new NightshiftError('CONFIG_INVALID', `config is invalid: ${msg}`);
  }
  return r.data;
}
