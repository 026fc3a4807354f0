import { Kafka, logLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { IngestTopics } from '../../ingest/config.js';
import { NightshiftError } from '../../core/errors.js';
import type { KafkaConfig } from './config.js';
import { kafkaClientSecurity } from './security.js';

/** kafkajs logs through pino; its routine rebalance chatter stays at debug. */
/** Called when kafkajs is about to reset a partition's offset (the committed one is gone from the broker). */
export type OffsetResetHandler = (topic: string, partition: number, groupId: string) => void;

function logCreator(log: Logger, onReset?: OffsetResetHandler) {
  return () =>
    ({ namespace, level, log: entry }: LogEntry): void => {
      const { message, ...rest } = entry;
      const obj = { kafkajs: namespace, ...rest };
      if (onReset && message.startsWith('Offset out of range, resetting')) {
        const r = rest as { topic?: unknown; partition?: unknown; groupId?: unknown };
        if (typeof r.topic === 'string' && typeof r.partition === 'number' && typeof r.groupId === 'string') onReset(r.topic, r.partition, r.groupId);
      }
      // "The group is rebalancing" and coordinator-loading responses are expected during scale-out and restarts.
      const routine = /rebalanc|coordinator is loading|not the correct coordinator|Restarting the consumer|group coordinator is not available/i.test(message);
      // A broker that is down while kafkajs retries is a condition, not a bug: a warning without a stack each retry
      // (the final failure is reported once, as one line, by the command).
      const unreachable = /Connection error|Failed to connect|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|Connection timeout/i.test(message);
      if (unreachable) {
        const { stack: _stack, ...noStack } = obj as Record<string, unknown>;
        log.warn(noStack, message);
      } else if (level === logLevel.ERROR && !routine) log.error(obj, message);
      else if (level === logLevel.WARN && !routine) log.warn(obj, message);
      else if (routine) log.info(obj, message);
      else log.debug(obj, message);
    };
}

/**
 * The one place nightshift makes a kafkajs client (run stages with their admin, producer, consumers and checkpoint
 * readers; the gateway): TLS and SASL from `cfg.ssl` / `cfg.sasl`, their files read here, at start (CONFIG_INVALID
 * when one is missing or unreadable).
 */
export function createKafka(cfg: KafkaConfig, log: Logger, clientSuffix = '', onReset?: OffsetResetHandler): Kafka {
  const security = kafkaClientSecurity(cfg, log);
  return new Kafka({
    clientId: `${cfg.clientId}${clientSuffix}`,
    brokers: cfg.brokers,
    ...security,
    logLevel: logLevel.INFO,
    logCreator: logCreator(log, onReset),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
  });
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly config?: Readonly<Record<string, string>>;
}

/** Every topic cluster mode reads or writes, with its partition count and settings. */
export function topicSpecs(cfg: KafkaConfig, raw: IngestTopics): TopicSpec[] {
  const p = cfg.partitions;
  const t = cfg.topics;
  return [
    ...Object.values(raw).map((topic) => ({ topic, partitions: p.raw })),
    { topic: t.events, partitions: p.events },
    { topic: t.bundles, partitions: p.bundles },
    { topic: t.rca, partitions: p.rca },
    { topic: t.deadLetters, partitions: p.deadLetters },
    {
      topic: t.checkpoints,
      partitions: p.checkpoints,
      // Compacted: the latest snapshot per key survives; old ones are cleaned soon (small segments, low dirty ratio).
      config: {
        'cleanup.policy': 'compact',
        'min.cleanable.dirty.ratio': '0.1',
        'segment.ms': '60000',
        'segment.bytes': String(64 * 1_048_576),
        'delete.retention.ms': '60000',
        'max.message.bytes': String(16 * 1_048_576),
      },
    },
  ];
}

/** Creates the topics that do not exist yet (never relying on broker auto-creation) and waits for their leaders. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = specs
    .filter((s) => !existing.has(s.topic))
    .map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor: -1,
      ...(s.config ? { configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })) } : {}),
    }));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true, timeout: 30_000 });
  } catch (e) {
    // Another instance may have created them at the same time; what matters is that they exist now.
    const now = new Set(await admin.listTopics());
    const still = missing.filter((m) => !now.has(m.topic));
    if (still.length > 0) {
      throw new NightshiftError('IO_ERROR', `could not create topics ${still.map((s) => s.topic).join(', ')}: ${(e as Error).message}`, { cause: e });
    }
  }
  return missing.map((m) => m.topic);
}

/** Partition count of each topic, from the broker's metadata. */
export async function partitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const md = await admin.fetchTopicMetadata({ topics: [...topics] });
  return new Map(md.topics.map((t) => [t.name, t.partitions.length]));
}
