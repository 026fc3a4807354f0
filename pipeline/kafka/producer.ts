import type { IHeaders, Message, Producer, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import { NightshiftError } from '../../core/errors.js';

/** One record to produce. */
export interface OutMessage {
  readonly topic: string;
  readonly key: string | null;
  readonly value: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  /** An explicit partition (heartbeats go to every partition); otherwise the key decides. */
  readonly partition?: number;
}

export type AckCallback = (err?: Error) => void;

export interface BatcherOptions {
  readonly lingerMs: number;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  /** Bytes queued and in flight beyond which `whenRoom` waits. Lanes bound themselves; the gateway waits here. */
  readonly maxQueuedBytes: number;
}

interface Queued {
  readonly msg: OutMessage;
  readonly bytes: number;
  readonly cb: AckCallback;
}

export function messageBytes(m: OutMessage): number {
  const v = typeof m.value === 'string' ? m.value.length : m.value.byteLength;
  return v + (m.key?.length ?? 0) + 64;
}

/**
 * Batches outputs of all partitions into few large produce requests, one in flight at a time: the producer is
 * idempotent (acks from all in-sync replicas, sequence numbers per partition), and kafkajs supports that only
 * with one request in flight, which also keeps each partition's records in the order they were enqueued.
 * kafkajs groups a request's messages per partition in time quadratic in their count (groupMessagesPerPartition),
 * so batches stay at a few thousand records.
 *
 * A send that fails after kafkajs's own retries is fatal: the callbacks get the error and `onFatal` is called;
 * nothing was committed for those records, so a restart re-processes them (at least once).
 */
export class ProducerBatcher {
  private queue: Queued[] = [];
  private head = 0;
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private sending = false;
  private timer: NodeJS.Timeout | null = null;
  private roomWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  failed: Error | null = null;
  /** Records and requests acknowledged, for metrics and the benchmark. */
  acked = 0;
  requests = 0;

  constructor(
    private readonly producer: Producer,
    private readonly opts: BatcherOptions,
    private readonly log: Logger,
    private readonly onFatal: (err: Error) => void = () => undefined,
  ) {}

  get bytes(): number {
    return this.queuedBytes + this.inFlightBytes;
  }

  get depth(): number {
    return this.queue.length - this.head;
  }

  enqueue(msg: OutMessage, cb: AckCallback): void {
    if (this.failed) {
      cb(this.failed);
      return;
    }
    const bytes = messageBytes(msg);
    this.queue.push({ msg, bytes, cb });
    this.queuedBytes += bytes;
    this.schedule();
  }

  /** Produces one record and resolves when the broker acknowledged it. */
  send(msg: OutMessage): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue(msg, (err) => (err ? reject(err) : resolve())));
  }

  /** Resolves when queued plus in-flight bytes are under the bound (or the producer failed). */
  async whenRoom(): Promise<void> {
    while (this.bytes >= this.opts.maxQueuedBytes && !this.failed) await new Promise<void>((r) => this.roomWaiters.push(r));
  }

  /** Resolves when everything enqueued so far was acknowledged (or failed). */
  async flush(): Promise<void> {
    if (this.depth === 0 && !this.sending) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      void this.pump();
    }
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private schedule(): void {
    if (this.sending) return;
    if (this.depth >= this.opts.maxBatchRecords || this.queuedBytes >= this.opts.maxBatchBytes || this.opts.lingerMs === 0) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      void this.pump();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.pump();
      }, this.opts.lingerMs);
    }
  }

  private take(): Queued[] {
    const out: Queued[] = [];
    let bytes = 0;
    while (this.head < this.queue.length && out.length < this.opts.maxBatchRecords) {
      const q = this.queue[this.head]!;
      if (out.length > 0 && bytes + q.bytes > this.opts.maxBatchBytes) break;
      out.push(q);
      bytes += q.bytes;
      this.queue[this.head] = undefined as unknown as Queued;
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.queuedBytes -= bytes;
    this.inFlightBytes += bytes;
    return out;
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.depth > 0 && !this.failed) {
        const batch = this.take();
        const byTopic = new Map<string, Message[]>();
        for (const q of batch) {
          let list = byTopic.get(q.msg.topic);
          if (!list) byTopic.set(q.msg.topic, (list = []));
          const m: Message = { key: q.msg.key, value: q.msg.value };
          if (q.msg.headers) m.headers = q.msg.headers as IHeaders;
          if (q.msg.partition !== undefined) m.partition = q.msg.partition;
          list.push(m);
        }
        const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
        let bytes = 0;
        for (const q of batch) bytes += q.bytes;
        try {
          await this.producer.sendBatch({ topicMessages, acks: -1 });
        } catch (e) {
          const err = new NightshiftError('IO_ERROR', `produce failed after retries: ${(e as Error).message}`, { cause: e });
          this.fail(err, batch);
          return;
        }
        this.inFlightBytes -= bytes;
        this.acked += batch.length;
        this.requests++;
        for (const q of batch) q.cb();
        this.wakeRoom();
      }
    } finally {
      this.sending = false;
      if (this.depth === 0 || this.failed) for (const w of this.idleWaiters.splice(0)) w();
      else this.schedule();
    }
  }

  private wakeRoom(): void {
    if (this.bytes < this.opts.maxQueuedBytes || this.failed) for (const w of this.roomWaiters.splice(0)) w();
  }

  private fail(err: Error, batch: readonly Queued[]): void {
    this.failed = err;
    this.log.error({ err: err.message }, 'producer failed; records since the last commit will be processed again after a restart');
    for (const q of batch) q.cb(err);
    while (this.head < this.queue.length) {
      this.queue[this.head]!.cb(err);
      this.head++;
    }
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.inFlightBytes = 0;
    this.wakeRoom();
    this.onFatal(err);
  }
}
