import type { KafkaMessage } from 'kafkajs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { makeDeadLetter, type DeadLetter } from '../../core/deadletter.js';
import { toNightshiftError } from '../../core/errors.js';
import { isThenable } from '../../core/stage.js';
import { OffsetTracker, partitionKey, type InFlightRecord } from './offsets.js';
import type { AckCallback, OutMessage } from './producer.js';
import { messageBytes } from './producer.js';

/** What a stage adapter writes for one input record: outputs and dead letters, both tied to the record's offset. */
export interface StageContext {
  emit(out: OutMessage): void;
  deadLetter(dl: DeadLetter): void;
  /**
   * The record is finished only once `done` settles as well (besides its outputs' acks): a sink that has accepted a
   * record but not yet had it confirmed (a ClickHouse insert waiting for the server) returns from `process` at once,
   * so the lane goes on with the next records while this one's offset stays uncommitted. Records finish out of order;
   * the offset tracker commits only the finished prefix. A rejection dead-letters the record (with the error), which
   * then finishes once that dead letter is acknowledged. Only during `process` (like `emit`).
   */
  defer?(done: Promise<void>): void;
}

/** One partition's processing: a stage instance (or a view of a shared one) behind a Kafka record adapter. */
export interface PartitionProcessor {
  process(msg: KafkaMessage, ctx: StageContext): void | Promise<void>;
  /** Stateful processors: the state as bytes, and a digest of what a snapshot must match to be restored. */
  snapshot?(): Buffer;
  restore?(state: Buffer): void;
  readonly stateDigest?: string;
  /** What the state holds, for logs and tests (a restored partition shows it before any input). */
  describe?(): Readonly<Record<string, unknown>>;
  /** Drops counted inside the stage (by reason). */
  dropped?(): Readonly<Record<string, number>>;
  /** Ingest: the newest event time this partition's records produced so far (for heartbeats). */
  progress?(): number;
}

export interface LaneLimits {
  readonly maxInFlightRecords: number;
  readonly maxInFlightBytes: number;
}

/** What a lane needs from its runner. */
export interface LaneHost {
  readonly stage: string;
  readonly deadLetterTopic: string;
  readonly limits: LaneLimits;
  produce(out: OutMessage, cb: AckCallback): void;
  pause(lane: Lane): void;
  resume(lane: Lane): void;
  finished(lane: Lane, latencyMs: number): void;
  deadLettered(code: string): void;
  fatal(err: Error): void;
  now(): number;
  /**
   * Timestamp alignment across the runner's lanes (ingest): resolves when a record with Kafka timestamp `ts` may be
   * processed, with the timestamp up to which this lane may go on without asking again.
   */
  turn?(lane: Lane, ts: number): Promise<number>;
  /** Told when a lane took or processed records (wakes lanes waiting for their turn). */
  progressed?(): void;
}

export function recordBytes(m: KafkaMessage): number {
  return (m.value?.byteLength ?? 0) + (m.key?.byteLength ?? 0) + 64;
}

/**
 * One assigned partition: an inbox of fetched records (bounded with everything in flight: records and bytes), a
 * sequential processing loop, and the offset tracker. When full the runner pauses the partition; when drained
 * below half it resumes. Outputs and dead letters count as in flight until acknowledged.
 */
export class Lane {
  readonly key: string;
  private inbox: KafkaMessage[] = [];
  /** Kafka timestamps of the inbox's records, parsed once (alignment reads the head's often). */
  private inboxTs: number[] = [];
  private inboxHead = 0;
  inFlightRecords = 0;
  inFlightBytes = 0;
  /** High-water marks of the bound, for tests and metrics. */
  maxSeenRecords = 0;
  maxSeenBytes = 0;
  /** Next offset expected from the consumer (records below it were already taken). */
  nextFetch: number | null = null;
  /** Next offset to process: the position a snapshot taken now stands for. */
  nextProcess: number | null = null;
  /** Where this lane started (a restored checkpoint or the first fetched offset) and what it last committed. */
  startOffset: number | null = null;
  lastCommitted: number | null = null;
  /** Position of the newest checkpoint written: what a stateful lane may commit (retried until it is committed). */
  checkpointedNext: number | null = null;
  highWatermark: number | null = null;
  /**
   * Heartbeating runners: this instance's event-time frontier as it stood when an end-offset refresh that found
   * this partition caught up began. Every record the frontier had seen was on the broker before that refresh, so a
   * record of this partition with an older event time, produced alongside, was there too and has been taken: up to
   * here, and no further, the partition may claim it has delivered everything while it is idle.
   */
  caughtUpTo = Number.NEGATIVE_INFINITY;
  readonly tracker = new OffsetTracker();
  paused = false;
  pauses = 0;
  stopped = false;
  processing = false;
  processed = 0;
  /** Stateful lanes: the snapshot waiting for its records' outputs to be acknowledged, then written and committed. */
  pendingCheckpoint: { readonly next: number; readonly state: Buffer } | null = null;
  checkpointInFlight = false;
  lastSnapshotAt: number;
  lastSnapshotNext: number | null = null;
  private current: InFlightRecord | null = null;
  private currentMsg: KafkaMessage | null = null;
  /** Kafka timestamp of the last record processed, and up to which timestamp the lane may go without a new turn. */
  lastTs = -Infinity;
  private grant = -Infinity;
  private wake: (() => void) | null = null;
  private idleWaiters: Array<() => void> = [];
  readonly done: Promise<void>;
  private readonly ctx: StageContext;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly processor: PartitionProcessor,
    private readonly host: LaneHost,
  ) {
    this.key = partitionKey(topic, partition);
    this.lastSnapshotAt = host.now();
    this.ctx = {
      emit: (out) => this.emit(out),
      deadLetter: (dl) => this.emitDeadLetter(dl),
      defer: (done) => this.defer(done),
    };
    this.done = this.loop();
  }

  get queued(): number {
    return this.inbox.length - this.inboxHead;
  }

  /** Kafka timestamp of the next record to process, if one is waiting. */
  get headTs(): number | undefined {
    return this.queued > 0 ? this.inboxTs[this.inboxHead] : undefined;
  }

  /** The broker has records of this partition the lane has not taken yet. */
  get lagging(): boolean {
    return this.highWatermark !== null && this.nextFetch !== null && this.highWatermark > this.nextFetch;
  }

  get full(): boolean {
    return this.inFlightRecords >= this.host.limits.maxInFlightRecords || this.inFlightBytes >= this.host.limits.maxInFlightBytes;
  }

  private get lowEnough(): boolean {
    return this.inFlightRecords <= this.host.limits.maxInFlightRecords / 2 && this.inFlightBytes <= this.host.limits.maxInFlightBytes / 2;
  }

  /** Starts at a known position (restored checkpoint): records before it are skipped. */
  startAt(offset: number): void {
    this.nextFetch = offset;
    this.nextProcess = offset;
    this.startOffset = offset;
    this.lastSnapshotNext = offset;
    this.tracker.startAt(offset);
  }

  /**
   * Takes records from `msgs[from..]` while the bound allows (at least one when nothing is in flight, so one huge
   * record cannot stall the lane). Returns how many were taken; the caller resolves their offsets in the consumer.
   */
  accept(msgs: readonly KafkaMessage[], from: number): number {
    let n = 0;
    for (let i = from; i < msgs.length; i++) {
      if (this.full && !(this.inFlightRecords === 0 && n === 0)) break;
      const m = msgs[i]!;
      const off = Number(m.offset);
      if (this.nextFetch === null) this.startAt(off);
      this.inbox.push(m);
      this.inboxTs.push(Number(m.timestamp));
      this.inFlightRecords++;
      this.inFlightBytes += recordBytes(m);
      this.nextFetch = off + 1;
      n++;
    }
    if (this.inFlightRecords > this.maxSeenRecords) this.maxSeenRecords = this.inFlightRecords;
    if (this.inFlightBytes > this.maxSeenBytes) this.maxSeenBytes = this.inFlightBytes;
    if (n > 0 && this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    }
    if (n > 0) this.host.progressed?.();
    return n;
  }

  /** Stops the loop and drops what was not processed (a revoked partition: its pending commits are dropped too). */
  stop(): void {
    this.stopped = true;
    this.inbox = [];
    this.inboxTs = [];
    this.inboxHead = 0;
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }

  get idle(): boolean {
    return this.queued === 0 && this.tracker.size === 0 && !this.processing;
  }

  /** Resolves when every taken record is finished (or the lane stopped), or after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.idle || this.stopped) return this.idle;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => this.idleWaiters.push(r)),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.idle;
  }

  /** Takes a snapshot now (between records) at the current processing position. */
  snapshot(): void {
    if (!this.processor.snapshot || this.nextProcess === null || this.processing) return;
    this.pendingCheckpoint = { next: this.nextProcess, state: this.processor.snapshot() };
    this.lastSnapshotAt = this.host.now();
    this.lastSnapshotNext = this.nextProcess;
  }

  private async loop(): Promise<void> {
    let sinceYield = 0;
    while (!this.stopped) {
      if (this.queued === 0) {
        this.notifyIdle();
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      let m = this.inbox[this.inboxHead]!;
      if (this.host.turn) {
        const ts = this.inboxTs[this.inboxHead]!;
        if (ts > this.grant) {
          this.grant = await this.host.turn(this, ts);
          if (this.stopped || this.queued === 0) continue;
          m = this.inbox[this.inboxHead]!;
        }
      }
      const mts = this.inboxTs[this.inboxHead]!;
      this.inbox[this.inboxHead] = undefined as unknown as KafkaMessage;
      this.inboxHead++;
      if (this.inboxHead > 4096 && this.inboxHead * 2 > this.inbox.length) {
        this.inbox = this.inbox.slice(this.inboxHead);
        this.inboxTs = this.inboxTs.slice(this.inboxHead);
        this.inboxHead = 0;
      }
      const off = Number(m.offset);
      const rec = this.tracker.begin(off, recordBytes(m), this.host.now());
      this.current = rec;
      this.currentMsg = m;
      this.processing = true;
      try {
        const r = this.processor.process(m, this.ctx);
        if (isThenable(r)) await r;
      } catch (e) {
        // A record the stage cannot handle must not stop the partition (nor be retried forever): dead-letter it.
        if (!this.stopped) {
          const err = toNightshiftError(e);
          this.emitDeadLetter(
            makeDeadLetter({
              stage: this.host.stage,
              code: err.code,
              error: `stage failed on this record: ${err.message}`,
              topic: this.topic,
              key: m.key?.toString('utf8') ?? null,
              source: { partition: this.partition, offset: m.offset },
              payload: m.value?.toString('utf8') ?? '',
            }),
          );
        }
      }
      this.processing = false;
      this.current = null;
      this.currentMsg = null;
      rec.sealed = true;
      this.processed++;
      this.nextProcess = off + 1;
      this.lastTs = mts;
      this.host.progressed?.();
      this.maybeFinish(rec);
      if (++sinceYield >= 128) {
        sinceYield = 0;
        // Let the consumer, the producer's acks and timers run between chunks of synchronous processing.
        await yieldToLoop();
      }
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length > 0 && (this.idle || this.stopped)) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Records whose completion was deferred and has not settled yet (for metrics and tests). */
  deferred = 0;

  private defer(done: Promise<void>): void {
    const rec = this.current;
    if (!rec) throw new Error(`stage ${this.host.stage} deferred outside process()`);
    const m = this.currentMsg;
    rec.pending++;
    this.deferred++;
    done.then(
      () => {
        this.deferred--;
        if (this.stopped) return;
        rec.pending--;
        this.maybeFinish(rec);
      },
      (e: unknown) => {
        this.deferred--;
        if (this.stopped) return;
        const err = toNightshiftError(e);
        this.emitFor(rec, {
          topic: this.host.deadLetterTopic,
          key: this.topic,
          value: JSON.stringify(
            makeDeadLetter({
              stage: this.host.stage,
              code: err.code,
              error: `delivery failed: ${err.message}`,
              topic: this.topic,
              key: m?.key?.toString('utf8') ?? null,
              source: { partition: this.partition, offset: m?.offset ?? String(rec.offset) },
              payload: m?.value?.toString('utf8') ?? '',
            }),
          ),
        });
        this.host.deadLettered(err.code);
        rec.pending--;
        this.maybeFinish(rec);
      },
    );
  }

  private emit(out: OutMessage): void {
    const rec = this.current;
    if (!rec) throw new Error(`stage ${this.host.stage} emitted outside process()`);
    this.emitFor(rec, out);
  }

  private emitFor(rec: InFlightRecord, out: OutMessage): void {
    rec.pending++;
    const bytes = messageBytes(out);
    this.inFlightBytes += bytes;
    if (this.inFlightBytes > this.maxSeenBytes) this.maxSeenBytes = this.inFlightBytes;
    this.host.produce(out, (err) => {
      if (this.stopped) return;
      if (err) {
        this.host.fatal(err);
        return;
      }
      this.inFlightBytes -= bytes;
      rec.pending--;
      this.maybeFinish(rec);
    });
  }

  private emitDeadLetter(dl: DeadLetter): void {
    this.host.deadLettered(dl.code);
    this.emit({ topic: this.host.deadLetterTopic, key: dl.topic ?? null, value: JSON.stringify(dl) });
  }

  private maybeFinish(rec: InFlightRecord): void {
    if (!rec.sealed || rec.pending > 0 || rec.done) return;
    this.tracker.finish(rec);
    this.inFlightRecords--;
    this.inFlightBytes -= rec.bytes;
    this.host.finished(this, this.host.now() - rec.receivedAt);
    if (this.paused && this.lowEnough) this.host.resume(this);
    this.notifyIdle();
  }
}
