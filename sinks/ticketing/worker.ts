import { Counters, type CounterSnapshot } from '../../core/counters.js';
import { makeDeadLetter } from '../../core/deadletter.js';
import { toNightshiftError, type NightshiftError } from '../../core/errors.js';
import { BoundedQueue } from '../../core/queue.js';
import type { StageDeps } from '../../core/stage.js';
import type { IncidentOutput, Severity } from '../../schemas/index.js';
import type { HttpPolicy } from './config.js';
import { withRetry, type RetryHooks } from './http.js';
import { LruMap } from '../../core/lru.js';
import { compareVersion, encodeVersion, severityAtLeast, topConfidence, versionOf } from './policy.js';
import type { IntegrationName, TicketContext, TicketingClient, TicketOperation, TicketRecorder, TicketRef } from './types.js';

export interface TicketJob {
  readonly output: IncidentOutput;
  readonly severity: Severity;
  /** Called once the job was carried out, skipped or dead-lettered (end-to-end acknowledgement). */
  readonly done?: () => void;
}

/** Why an output made no ticket operation (per integration). Dead letters count as `dead_letter:<CODE>`. */
export type SkipReason = 'below_threshold' | 'resolved_before_ticket' | 'ticket_resolved' | 'unchanged' | 'stale';

interface CachedTicket {
  ref: TicketRef;
  acknowledged: boolean;
}

export interface WorkerOptions {
  readonly openAt: Severity;
  readonly acknowledgeAtConfidence: number | null;
  readonly queueCapacity: number;
  readonly cacheSize: number;
  readonly http: HttpPolicy;
  /** Called for each outcome, so the sink can keep aggregate counters. */
  readonly onOutcome: (outcome: 'sent' | string) => void;
  readonly retryHooks: RetryHooks;
  /** Told of each ticket opened or found (not of cache hits): the analytics store's tickets table. */
  readonly recorder?: TicketRecorder;
}

export interface WorkerStats extends CounterSnapshot {
  readonly queueDepth: number;
  readonly queueMaxDepth: number;
  readonly cached: number;
  readonly cacheEvictions: number;
}

/**
 * One integration: a bounded FIFO of jobs and one loop that applies them in order, so the operations on one ticket
 * never race. When the queue is full, `enqueue` waits (backpressure reaches the sink's `process`); nothing is dropped.
 * Tickets known are kept in a bounded LRU; a miss (new process, evicted entry) asks the service by correlation key.
 */
export class IntegrationWorker {
  readonly counters = new Counters();
  readonly queue: BoundedQueue<TicketJob>;
  readonly cache: LruMap<string, CachedTicket>;
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly loop: Promise<void>;

  constructor(
    readonly client: TicketingClient,
    private readonly opts: WorkerOptions,
    private readonly deps: StageDeps,
  ) {
    this.queue = new BoundedQueue<TicketJob>(opts.queueCapacity);
    this.cache = new LruMap(opts.cacheSize);
    this.loop = this.run();
  }

  get name(): IntegrationName {
    return this.client.name;
  }

  async enqueue(job: TicketJob): Promise<void> {
    this.counters.received++;
    this.pending++;
    try {
      await this.queue.push(job);
    } catch (e) {
      this.settle();
      throw e;
    }
  }

  /** Resolves once every job enqueued so far has been applied or dead-lettered. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private abandoned = false;

  /**
   * A stop during an outage: jobs still queued are given up (neither applied nor dead-lettered: their offsets were
   * not committed, the next instance redelivers them); the job being applied finishes its retries on its own.
   */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    if (this.pending > 0) this.deps.log.warn({ integration: this.name, jobs: this.pending }, 'ticketing: abandoned at shutdown with jobs not applied (left to redelivery)');
    this.queue.close();
  }

  async close(): Promise<void> {
    if (this.abandoned) return;
    await this.idle();
    this.queue.close();
    await this.loop;
  }

  stats(): WorkerStats {
    return {
      ...this.counters.snapshot(),
      queueDepth: this.queue.depth,
      queueMaxDepth: this.queue.maxDepth,
      cached: this.cache.size,
      cacheEvictions: this.cache.evictions,
    };
  }

  private settle(): void {
    this.pending--;
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async run(): Promise<void> {
    for (;;) {
      const job = await this.queue.pop();
      if (job === undefined) return;
      if (this.abandoned) continue;
      try {
        await this.handle(job);
        job.done?.();
      } finally {
        this.settle();
      }
    }
  }

  private skip(reason: SkipReason): void {
    this.counters.drop(reason);
    this.opts.onOutcome(reason);
  }

  private sent(): void {
    this.counters.sent++;
    this.opts.onOutcome('sent');
  }

  private async handle(job: TicketJob): Promise<void> {
    const o = job.output;
    const id = o.incident_id;
    const version = versionOf(o, job.severity);
    const ctx: TicketContext = { output: o, severity: job.severity, version };
    let op: TicketOperation = 'find';
    try {
      let entry = this.cache.get(id);
      if (!entry) {
        // Without a known ticket, only an output that qualifies costs a lookup: noise incidents never reach the API.
        if (!severityAtLeast(job.severity, this.opts.openAt)) return this.skip('below_threshold');
        const found = await this.client.find(id);
        if (!found) {
          if (o.status === 'resolved') return this.skip('resolved_before_ticket');
          op = 'open';
          const opened = await this.openOrFind(ctx);
          entry = { ref: opened.ref, acknowledged: false };
          this.cache.set(id, entry);
          await this.record(o, opened.ref, opened.created);
          if (opened.created) return this.sent();
        } else {
          entry = { ref: found, acknowledged: false };
          this.cache.set(id, entry);
          await this.record(o, found, false);
        }
      }
      if (entry.ref.resolved) return this.skip('ticket_resolved');
      const order = compareVersion(version, entry.ref.version);
      if (order !== 'newer') return this.skip(order === 'same' ? 'unchanged' : 'stale');
      if (o.status === 'resolved') {
        op = 'resolve';
        entry.ref = await this.client.resolve(entry.ref, ctx);
      } else {
        op = 'update';
        const ackAt = this.opts.acknowledgeAtConfidence;
        const acknowledge = ackAt !== null && !entry.acknowledged && topConfidence(o) >= ackAt;
        entry.ref = await this.client.update(entry.ref, { ...ctx, acknowledge });
        if (acknowledge) entry.acknowledged = true;
      }
      this.sent();
    } catch (e) {
      // Forget the ticket: the next output looks it up again (it may have been deleted, moved or closed meanwhile).
      this.cache.delete(id);
      this.deadLetter(toNightshiftError(e), op, job);
    }
  }

  /** Tells the recorder (if any) about a ticket; its failure is logged, never the ticket's. */
  private async record(o: IncidentOutput, ref: TicketRef, created: boolean): Promise<void> {
    const rec = this.opts.recorder;
    if (!rec) return;
    try {
      await rec({
        incident_id: o.incident_id,
        integration: this.name,
        ticket_key: ref.display,
        url: this.client.ticketUrl?.(ref) ?? '',
        opened_at: o.updated_at,
        service: o.root_causes.find((c) => c.rank === 1)?.service ?? '',
        created: created ? 1 : 0,
      });
    } catch (e) {
      this.deps.log.warn({ integration: this.name, incident: o.incident_id, err: (e as Error).message }, 'ticket recorder failed');
    }
  }

  /**
   * A create that failed retriably may still have been carried out (the response was lost), so before each new
   * attempt the ticket is looked up; only if it is not there is the create sent again.
   */
  private async openOrFind(ctx: TicketContext): Promise<{ ref: TicketRef; created: boolean }> {
    if (this.client.idempotentOpen) return { ref: await this.client.open(ctx), created: true };
    return withRetry(
      async (attempt) => {
        if (attempt > 1) {
          const found = await this.client.find(ctx.output.incident_id);
          // Carrying this very version, it is the create that seemed to fail.
          if (found) return { ref: found, created: compareVersion(ctx.version, found.version) === 'same' };
        }
        return { ref: await this.client.open(ctx), created: true };
      },
      this.opts.http,
      this.opts.retryHooks,
    );
  }

  private deadLetter(err: NightshiftError, op: TicketOperation, job: TicketJob): void {
    const reason = `dead_letter:${err.code}`;
    this.counters.drop(reason);
    this.opts.onOutcome(reason);
    this.deps.log.error({ integration: this.name, op, code: err.code, incident: job.output.incident_id, err: err.message }, 'ticketing operation failed');
    this.deps.deadLetters.write(
      makeDeadLetter({
        stage: 'sink-ticketing',
        code: err.code,
        error: `${this.name} ${op}: ${err.message}`,
        key: job.output.incident_id,
        payload: JSON.stringify({
          integration: this.name,
          operation: op,
          severity: job.severity,
          version: encodeVersion(versionOf(job.output, job.severity)),
          incident: job.output,
        }),
      }),
    );
  }
}
