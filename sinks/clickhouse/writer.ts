import type { Logger } from 'pino';
import { Counters } from '../../core/counters.js';
import { makeDeadLetter, type DeadLetterSink } from '../../core/deadletter.js';
import { NightshiftError, type ErrorCode } from '../../core/errors.js';
import { AckTracker } from './ack.js';
import { backoffDelay, realSleep, seededRandom } from './backoff.js';
import type { ClickHouseLike } from './client.js';
import type { WriterConfig } from './config.js';
import { classifyClickHouseError, firstLine, type ClassifiedError } from './errors.js';

export interface RowWriterDeps {
  readonly log: Logger;
  readonly deadLetters: DeadLetterSink;
  /** Injectable for tests: the wait between retries, the jitter source and the clock of the retry budget. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** How a row ended: inserted, or dead-lettered with a code. */
export type RowOutcome = { readonly ok: true } | { readonly ok: false; readonly code: ErrorCode };

export interface WriteOptions {
  /** Dead-letter key (e.g. the incident id). */
  readonly key?: string;
  /** Called once when the row is settled (inserted or dead-lettered). */
  readonly onDone?: (outcome: RowOutcome) => void;
}

interface Entry {
  readonly seq: number;
  readonly json: string;
  readonly bytes: number;
  readonly key: string | undefined;
  readonly onDone: ((o: RowOutcome) => void) | undefined;
  /** Set when the row is refused before sending (too large); it is dead-lettered in order with its batch. */
  readonly refused: NightshiftError | undefined;
}

export interface RowWriterStats {
  inserts: number;
  insertFailures: number;
  retries: number;
  splits: number;
  maxHeldRows: number;
  maxHeldBytes: number;
}

/**
 * Writes rows of one table in batches, in order, with one insert in flight.
 *
 * Bounds: at most `bufferRows` rows / `bufferBytes` bytes are held (waiting + in flight); `write` then waits until an
 * insert frees room (backpressure to the stage before). Batches close at `batchRows`, `batchBytes` or `batchDelayMs`.
 *
 * Failures, classified where they happen (errors.ts): retriable and throttled ones are retried with jittered backoff
 * for up to `retryForMs` (then the batch is dead-lettered with its code, so a long outage ends inspectable rather than
 * lost); bad data is never retried: the batch is split in halves until the bad rows are alone, the good rows are
 * inserted and each bad row goes to the dead-letter output with the server's message; configuration errors (unknown
 * table, authentication) dead-letter what is held and fail the writer: the next `write` throws.
 *
 * Acknowledgement: every row gets a sequence number from `write`. `acked` is the highest sequence such that every
 * row up to it is settled (inserted and acknowledged by ClickHouse, or dead-lettered). A source offset may be
 * committed once the rows derived from it are at or below `acked` (`whenAcked(seq)` waits for that).
 */
export class RowWriter {
  readonly counters = new Counters();
  readonly stats: RowWriterStats = { inserts: 0, insertFailures: 0, retries: 0, splits: 0, maxHeldRows: 0, maxHeldBytes: 0 };
  private readonly pending: Entry[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  private heldRows = 0;
  private heldBytes = 0;
  private nextSeq = 1;
  private urgentThrough = 0;
  private timerFired = false;
  private timer: NodeJS.Timeout | null = null;
  private pump: Promise<void> | null = null;
  private fatal: NightshiftError | null = null;
  /** Set by `abandon`: held rows are given up (not dead-lettered), waiters and writes fail. */
  private abandoned: NightshiftError | null = null;
  /** When inserts started failing (retriable errors), null while they succeed: the retry budget's start. */
  private failingSinceMs: number | null = null;
  private closed = false;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly acks = new AckTracker();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    readonly name: string,
    private readonly table: string,
    private readonly ch: ClickHouseLike,
    private readonly cfg: WriterConfig,
    private readonly deps: RowWriterDeps,
    jitterSeed = 1,
  ) {
    this.sleep = deps.sleep ?? realSleep;
    this.random = deps.random ?? seededRandom(jitterSeed);
    this.now = deps.now ?? Date.now;
  }

  /** Highest sequence number settled with all before it. */
  get acked(): number {
    return this.acks.acked;
  }
  /** Sequence number of the last row accepted by `write`. */
  get accepted(): number {
    return this.nextSeq - 1;
  }
  get held(): { rows: number; bytes: number } {
    return { rows: this.heldRows, bytes: this.heldBytes };
  }
  get failure(): NightshiftError | null {
    return this.fatal;
  }
  /** Milliseconds inserts have been failing without a success in between (0 while they succeed). */
  get failingForMs(): number {
    return this.failingSinceMs === null ? 0 : Math.max(0, this.now() - this.failingSinceMs);
  }

  /**
   * A stop during an outage (cluster mode): stops retrying, drops every held row without dead-lettering it (its
   * source offset was not committed, so the next instance redelivers it), fails `whenAcked` waiters and further
   * writes. An insert in flight finishes or fails on its own; its rows are not retried.
   */
  abandon(): void {
    if (this.abandoned || this.closed) return;
    const dropped = this.heldRows;
    this.abandoned = new NightshiftError('IO_ERROR', `${this.name}: abandoned at shutdown with ${dropped} row(s) not acknowledged (left to redelivery)`);
    if (dropped > 0) this.deps.log.warn({ table: this.table, rows: dropped }, this.abandoned.message);
    this.pending.splice(this.pendingHead);
    this.pending.length = 0;
    this.pendingHead = 0;
    this.pendingBytes = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.acks.failAll(this.abandoned);
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  /** Calls `listener(acked)` whenever `acked` advances. Returns the unsubscribe function. */
  onAck(listener: (seq: number) => void): () => void {
    return this.acks.onAck(listener);
  }

  /**
   * Accepts one row (any JSON-serialisable object whose fields match the table). Resolves with its sequence number
   * once it is buffered — after waiting for room if the buffer is full. Throws if the writer has failed or is closed.
   */
  async write(row: object, opts: WriteOptions = {}): Promise<number> {
    if (this.abandoned) throw this.abandoned;
    if (this.fatal) throw this.fatal;
    if (this.closed) throw new NightshiftError('INTERNAL', `${this.name}: write after close`);
    let json: string;
    let refused: NightshiftError | undefined;
    try {
      json = JSON.stringify(row);
    } catch (e) {
      json = '{}';
      refused = new NightshiftError('SCHEMA_MISMATCH', `row is not JSON-serialisable: ${(e as Error).message}`);
    }
    const bytes = Buffer.byteLength(json, 'utf8');
    if (!refused && bytes > this.cfg.maxRowBytes) refused = new NightshiftError('RECORD_TOO_LARGE', `row of ${bytes} bytes exceeds maxRowBytes ${this.cfg.maxRowBytes}`);
    // A refused row still takes its place in the sequence (so acks stay contiguous) but holds no buffer room.
    const cost = refused ? 0 : bytes;
    while (this.heldRows >= this.cfg.bufferRows || (this.heldRows > 0 && this.heldBytes + cost > this.cfg.bufferBytes)) {
      this.kick(true);
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
      if (this.abandoned) throw this.abandoned;
      if (this.fatal) throw this.fatal;
    }
    this.counters.received++;
    const seq = this.nextSeq++;
    this.pending.push({ seq, json: refused ? json.slice(0, 4096) : json, bytes: cost, key: opts.key, onDone: opts.onDone, refused });
    this.pendingBytes += cost;
    this.heldRows++;
    this.heldBytes += cost;
    if (this.heldRows > this.stats.maxHeldRows) this.stats.maxHeldRows = this.heldRows;
    if (this.heldBytes > this.stats.maxHeldBytes) this.stats.maxHeldBytes = this.heldBytes;
    this.kick(false);
    return seq;
  }

  /** Resolves when every row up to `seq` is settled; with `urgent`, sends them now instead of waiting for a batch. */
  whenAcked(seq: number, urgent = false): Promise<void> {
    if (seq <= this.acks.acked) return Promise.resolve();
    if (this.abandoned) return Promise.reject(this.abandoned);
    if (this.fatal) return Promise.reject(this.fatal);
    if (urgent && seq > this.urgentThrough) this.urgentThrough = seq;
    const p = this.acks.wait(seq);
    this.kick(false);
    return p;
  }

  /** Sends everything held and waits until it is settled. Throws if the writer failed (configuration error). */
  async flush(): Promise<void> {
    if (this.abandoned) return;
    await this.whenAcked(this.accepted, true);
    if (this.fatal) throw this.fatal;
  }

  /** Flushes and refuses further writes. The client is not closed here (it is shared by several writers). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private pendingCount(): number {
    return this.pending.length - this.pendingHead;
  }

  private ready(): boolean {
    const n = this.pendingCount();
    if (n === 0) return false;
    if (n >= this.cfg.batchRows || this.pendingBytes >= this.cfg.batchBytes) return true;
    if (this.timerFired || this.spaceWaiters.length > 0) return true;
    const head = this.pending[this.pendingHead];
    return head !== undefined && head.seq <= this.urgentThrough;
  }

  private kick(urgent: boolean): void {
    if (urgent) this.urgentThrough = Math.max(this.urgentThrough, this.accepted);
    if (this.pump || this.abandoned) return;
    if (this.ready()) {
      this.pump = this.runPump().finally(() => {
        this.pump = null;
        // Rows may have arrived while the last insert ran.
        this.kick(false);
      });
      return;
    }
    if (this.pendingCount() > 0 && !this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.timerFired = true;
        this.kick(false);
      }, this.cfg.batchDelayMs);
    }
  }

  private takeBatch(): Entry[] {
    const batch: Entry[] = [];
    let bytes = 0;
    while (this.pendingHead < this.pending.length && batch.length < this.cfg.batchRows) {
      const e = this.pending[this.pendingHead]!;
      if (batch.length > 0 && bytes + e.bytes > this.cfg.batchBytes) break;
      batch.push(e);
      bytes += e.bytes;
      this.pendingHead++;
    }
    this.pendingBytes -= bytes;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    return batch;
  }

  private async runPump(): Promise<void> {
    while (!this.fatal && !this.abandoned && this.ready()) {
      this.timerFired = false;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      const batch = this.takeBatch();
      const live: Entry[] = [];
      for (const e of batch) {
        if (e.refused) this.deadLetter(e, e.refused.code, e.refused.message);
        else live.push(e);
      }
      if (live.length > 0) await this.insert(live);
      if (this.abandoned) return;
      this.settle(batch);
    }
    if (this.fatal) this.failHeld();
  }

  /** Inserts `rows`, retrying what can be retried and splitting out bad rows. Never throws. */
  private async insert(rows: Entry[]): Promise<void> {
    const started = this.now();
    for (let attempt = 1; ; attempt++) {
      if (this.abandoned) return;
      if (this.fatal) {
        for (const e of rows) this.deadLetter(e, this.fatal.code, this.fatal.message);
        return;
      }
      let err: ClassifiedError;
      try {
        this.stats.inserts++;
        await this.ch.insertJsonRows(this.table, rows.map((e) => e.json));
        this.counters.sent += rows.length;
        if (this.failingSinceMs !== null) this.deps.log.info({ table: this.table, failedForMs: this.now() - this.failingSinceMs }, `${this.name}: inserts succeed again`);
        this.failingSinceMs = null;
        for (const e of rows) e.onDone?.({ ok: true });
        return;
      } catch (e) {
        this.stats.insertFailures++;
        err = classifyClickHouseError(e);
      }
      const where = `${this.name}: insert of ${rows.length} row(s) into ${this.table}`;
      if (err.kind === 'bad_data') {
        if (rows.length === 1) {
          this.deadLetter(rows[0]!, err.code, `${err.chCode !== null ? `ClickHouse code ${err.chCode}: ` : ''}${firstLine(err.message)}`);
          return;
        }
        this.stats.splits++;
        const mid = rows.length >>> 1;
        await this.insert(rows.slice(0, mid));
        await this.insert(rows.slice(mid));
        return;
      }
      if (err.kind === 'fatal') {
        this.fatal = new NightshiftError(err.code, `${where} failed: ${firstLine(err.message)}`);
        this.deps.log.error({ table: this.table, code: err.code, chCode: err.chCode }, this.fatal.message);
        for (const e of rows) this.deadLetter(e, err.code, this.fatal.message);
        return;
      }
      // The budget runs from when inserts started failing, not from this batch's first attempt: after `retryForMs`
      // of an outage every batch is dead-lettered on its first failure, instead of each one waiting the budget again.
      this.failingSinceMs ??= started;
      const elapsed = this.now() - this.failingSinceMs;
      if (this.cfg.retryForMs > 0 && elapsed >= this.cfg.retryForMs) {
        this.deps.log.error({ table: this.table, code: err.code, attempts: attempt, elapsedMs: elapsed }, `${where}: giving up after retrying for ${elapsed} ms`);
        for (const e of rows) this.deadLetter(e, err.code, `retried for ${elapsed} ms: ${firstLine(err.message)}`);
        return;
      }
      this.stats.retries++;
      const delay = backoffDelay(attempt, this.cfg.backoffMinMs, this.cfg.backoffMaxMs, err.kind === 'throttled', this.random);
      // Log the first failure and then every tenth, so an outage is visible without a line per retry.
      if (attempt === 1 || attempt % 10 === 0) {
        this.deps.log.warn({ table: this.table, code: err.code, chCode: err.chCode, attempt, delayMs: delay }, `${where} failed (${err.kind}), retrying: ${firstLine(err.message)}`);
      }
      await this.sleep(delay);
    }
  }

  private deadLetter(e: Entry, code: ErrorCode, error: string): void {
    this.deps.deadLetters.write(makeDeadLetter({ stage: this.name, code, error, topic: `clickhouse:${this.table}`, key: e.key ?? null, payload: e.json }));
    this.counters.drop(`dead_letter:${code}`);
    e.onDone?.({ ok: false, code });
  }

  private settle(batch: readonly Entry[]): void {
    for (const e of batch) {
      this.heldRows--;
      this.heldBytes -= e.bytes;
    }
    const last = batch[batch.length - 1];
    if (last) this.acks.advance(last.seq);
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  /** After a configuration error: everything still held is dead-lettered (inspectable) and every waiter fails. */
  private failHeld(): void {
    const fatal = this.fatal;
    if (!fatal) return;
    const rest = this.pending.splice(this.pendingHead);
    this.pending.length = 0;
    this.pendingHead = 0;
    this.pendingBytes = 0;
    for (const e of rest) this.deadLetter(e, fatal.code, fatal.message);
    this.settle(rest);
    this.acks.failAll(fatal);
  }
}
