import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { NightshiftError } from '../../core/errors.js';
import type { ProducerBatcher } from './producer.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The latest state snapshot of one stateful stage partition, as stored in the compacted checkpoint topic. */
export interface Checkpoint {
  readonly key: string;
  /** The input offset the state stands for: every record before it is in the state, none after. */
  readonly next: number;
  /** Digest of the stage config; a checkpoint only restores into a stage configured the same way. */
  readonly digest: string;
  readonly state: Buffer;
  readonly writtenAt: number;
}

export function checkpointKey(group: string, topic: string, partition: number): string {
  return `${group}|${topic}|${partition}`;
}

const H_NEXT = 'nightshift-next';
const H_DIGEST = 'nightshift-digest';
const H_WRITTEN = 'nightshift-written-at';

function header(m: KafkaMessage, name: string): string | undefined {
  const v = m.headers?.[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0]?.toString() : v.toString();
}

export interface CheckpointStoreOptions {
  readonly topic: string;
  readonly groupPrefix: string;
  readonly restoreTimeoutMs: number;
  /** Keys remembered; beyond it the key read longest ago is forgotten (its partition then restarts cold). */
  readonly maxKeys: number;
}

/**
 * Reads the compacted checkpoint topic from the beginning and keeps, per key, the checkpoint with the highest
 * `next` (not merely the last written: an instance that lost its partition may still write an older one).
 * `latest` first waits until everything written before the call has been read. Bound: `maxKeys` checkpoints
 * (one per stateful partition of the cluster) of at most the broker's max.message.bytes each.
 */
export class CheckpointStore {
  private readonly byKey = new Map<string, Checkpoint>();
  private readonly positions = new Map<number, number>();
  private consumer: Consumer | null = null;
  private failed: Error | null = null;
  written = 0;
  read = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly opts: CheckpointStoreOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // A private group: every instance reads the whole topic and never commits.
    const c = this.kafka.consumer({
      groupId: `${this.opts.groupPrefix}.checkpoint-reader.${randomUUID()}`,
      maxBytesPerPartition: 32 * 1_048_576,
      maxBytes: 64 * 1_048_576,
      maxWaitTimeInMs: 100,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
    });
    this.consumer = c;
    c.on(c.events.CRASH, (e) => {
      if (!e.payload.restart) this.failed = e.payload.error;
    });
    await c.connect();
    await c.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) this.apply(m);
        this.positions.set(batch.partition, Number(batch.lastOffset()) + 1);
      },
    });
  }

  private apply(m: KafkaMessage): void {
    const key = m.key?.toString('utf8');
    const next = Number(header(m, H_NEXT));
    if (!key || !m.value || !Number.isSafeInteger(next) || next < 0) return;
    this.read++;
    const prev = this.byKey.get(key);
    if (prev && prev.next > next) return;
    this.set({ key, next, digest: header(m, H_DIGEST) ?? '', state: m.value, writtenAt: Number(header(m, H_WRITTEN) ?? 0) });
  }

  private set(cp: Checkpoint): void {
    this.byKey.delete(cp.key);
    this.byKey.set(cp.key, cp);
    if (this.byKey.size > this.opts.maxKeys) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
  }

  /** Waits until the reader has read up to the end of every checkpoint partition as of now. */
  async caughtUp(heartbeat?: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + this.opts.restoreTimeoutMs;
    const ends = await this.admin.fetchTopicOffsets(this.opts.topic);
    for (;;) {
      if (this.failed) throw new NightshiftError('IO_ERROR', `checkpoint reader failed: ${this.failed.message}`);
      const behind = ends.filter((e) => Number(e.high) > Number(e.low) && (this.positions.get(e.partition) ?? 0) < Number(e.high));
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        throw new NightshiftError('TIMEOUT', `checkpoint topic ${this.opts.topic} not read to its end within ${this.opts.restoreTimeoutMs} ms`);
      }
      if (heartbeat) await heartbeat().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The newest checkpoint of `key` (state decompressed), or undefined. */
  async latest(key: string, heartbeat?: () => Promise<void>): Promise<Checkpoint | undefined> {
    await this.caughtUp(heartbeat);
    const cp = this.byKey.get(key);
    if (!cp) return undefined;
    try {
      return { ...cp, state: await gunzipAsync(cp.state) };
    } catch (e) {
      this.log.warn({ key, err: (e as Error).message }, 'checkpoint does not decompress; the partition restarts cold');
      return undefined;
    }
  }

  /** Writes a checkpoint and resolves once the broker acknowledged it. */
  async write(batcher: ProducerBatcher, key: string, next: number, digest: string, state: Buffer): Promise<void> {
    const value = await gzipAsync(state, { level: 1 });
    const writtenAt = Date.now();
    await batcher.send({
      topic: this.opts.topic,
      key,
      value,
      headers: { [H_NEXT]: String(next), [H_DIGEST]: digest, [H_WRITTEN]: String(writtenAt) },
    });
    this.written++;
    const prev = this.byKey.get(key);
    if (!prev || prev.next <= next) this.set({ key, next, digest, state: value, writtenAt });
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    if (c) await c.disconnect().catch(() => undefined);
  }
}
