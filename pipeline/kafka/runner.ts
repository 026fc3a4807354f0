import { performance } from 'node:perf_hooks';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { Counters } from '../../core/counters.js';
import { NightshiftError } from '../../core/errors.js';
import { Histogram } from '../../core/metrics.js';
import { checkpointKey, type CheckpointStore } from './checkpoints.js';
import type { KafkaConfig } from './config.js';
import { Lane, type LaneHost, type PartitionProcessor } from './lane.js';
import { partitionKey, splitPartitionKey } from './offsets.js';
import type { OffsetLoss } from './loss.js';
import { H_HEARTBEAT, H_HEARTBEAT_AS_OF } from './processors.js';
import type { AckCallback, OutMessage, ProducerBatcher } from './producer.js';

export type StageName = 'ingest' | 'perception' | 'reasoning' | 'sinks';
export const ALL_STAGES: readonly StageName[] = ['ingest', 'perception', 'reasoning', 'sinks'];

/** One stage as a consumer group: its input topics and how to build a partition's processor. */
export interface StageSpec {
  readonly name: StageName;
  readonly groupId: string;
  readonly inputs: readonly string[];
  /** Its state is checkpointed per partition and restored when the partition is assigned. */
  readonly stateful: boolean;
  /**
   * Process the partitions' records in Kafka-timestamp order across lanes (ingest: raw topics filled at different
   * rates would otherwise reach perception far apart in event time).
   */
  readonly alignTimestamps?: boolean;
  /**
   * Ingest: every alignHeartbeatMs, tell each partition of this topic how far each raw partition has delivered
   * (in event time), so that perception's alignment does not wait for a source that is merely quiet.
   */
  readonly heartbeats?: { readonly topic: string; readonly partitions: number };
  /** A terminal stage (sinks) produces nothing: what it delivered is its `sent`. */
  readonly delivered?: () => number;
  createProcessor(topic: string, partition: number): PartitionProcessor;
}

/** A partition restored from a checkpoint: where, and what its state held before any new input. */
export interface RestoreRecord {
  readonly key: string;
  readonly next: number;
  readonly learned: Readonly<Record<string, unknown>>;
}

const MAX_RESTORE_LOG = 1000;

/**
 * Runs one stage over Kafka: a consumer group whose partitions become lanes (pipeline/kafka/lane.ts).
 *
 * Delivery: offsets are committed by this runner (kafkajs autoCommit off), only up to the lane's committable
 * offset (every record below it finished: processed and all its outputs acknowledged with acks=-1). Stateful stages
 * commit only together with a checkpoint: the snapshot taken at position P is written once every record below P
 * finished, and P is committed once the checkpoint is acknowledged. On assignment a stateful lane restores the newest
 * checkpoint and seeks to its position. On a rebalance, lanes of partitions no longer assigned are stopped and their
 * pending commits dropped; a retained lane is kept only if nobody else committed the partition meanwhile.
 */
export class StageRunner {
  readonly counters = new Counters();
  readonly latency = new Histogram();
  private readonly lanes = new Map<string, Lane>();
  private assigned = new Set<string>();
  private consumer: Consumer | null = null;
  private settle: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopping = false;
  /** Drops counted inside stage instances of lanes that are gone, so totals never go down. */
  private readonly retiredDrops = new Map<string, number>();
  joined = false;
  generations = 0;
  restored = 0;
  coldStarts = 0;
  revoked = 0;
  staleLanes = 0;
  commits = 0;
  commitErrors = 0;
  checkpointsWritten = 0;
  pauses = 0;
  readonly restores: RestoreRecord[] = [];
  private readonly host: LaneHost;

  constructor(
    readonly spec: StageSpec,
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly batcher: ProducerBatcher,
    private readonly checkpoints: CheckpointStore | null,
    private readonly cfg: KafkaConfig,
    private readonly log: Logger,
    private readonly onFatal: (err: Error) => void,
    private readonly loss: OffsetLoss | null = null,
  ) {
    if (spec.stateful && !checkpoints) throw new NightshiftError('INTERNAL', `stage ${spec.name} is stateful and needs a checkpoint store`);
    const runner = this;
    this.host = {
      stage: spec.name,
      deadLetterTopic: cfg.topics.deadLetters,
      limits: { maxInFlightRecords: cfg.maxInFlightRecords, maxInFlightBytes: cfg.maxInFlightBytes },
      produce(out: OutMessage, cb: AckCallback) {
        runner.batcher.enqueue(out, (err) => {
          if (!err && out.topic !== cfg.topics.deadLetters) runner.counters.sent++;
          cb(err);
        });
      },
      pause: (lane) => this.pauseLane(lane),
      resume: (lane) => this.resumeLane(lane),
      finished: (_lane, ms) => this.latency.observe(ms / 1000),
      deadLettered: (code) => this.counters.drop(`dead_letter:${code}`),
      fatal: (err) => this.onFatal(err),
      now: () => performance.now(),
      ...(spec.alignTimestamps ? { turn: (lane: Lane, ts: number) => this.turn(lane, ts), progressed: () => this.wakeTurns() } : {}),
    };
  }

  private turnWaiters: Array<() => void> = [];
  alignWaits = 0;
  alignTimeouts = 0;

  private wakeTurns(): void {
    if (this.turnWaiters.length > 0) for (const w of this.turnWaiters.splice(0)) w();
  }

  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly lastClaim = new Map<string, number>();
  /** The as-of time last sent with each partition's idle claim. */
  private readonly lastAsOf = new Map<string, number>();
  heartbeatsSent = 0;

  /**
   * For each raw partition: how far it has delivered in event time. A busy partition claims the newest event time
   * it produced (its events are already queued ahead of the heartbeat in the producer, which keeps order); a
   * caught-up quiet one claims this instance's newest, as it has nothing older to deliver.
   */
  private heartbeat(): void {
    const hb = this.spec.heartbeats;
    if (!hb || this.stopping) return;
    const lanes = this.laneList().filter((l) => !l.stopped);
    const frontier = this.eventFrontier();
    // An idle partition claims the frontier only as far as an end-offset refresh begun after it confirmed nothing
    // older waits on the broker: claiming the frontier on stale end offsets let records that had just landed
    // arrive behind perception's watermark (late), and late spans miss their closed RED buckets.
    const claims: Array<[string, number]> = lanes.map((l) => {
      const own = l.processor.progress?.() ?? -Infinity;
      return [l.key, l.idle && !l.lagging ? Math.max(own, Math.min(frontier, l.caughtUpTo)) : own];
    });
    // An assigned partition with no lane has delivered no record since this instance took it over; once the end
    // offsets say nothing waits in it, it is idle and says so (`Infinity`: it holds nobody back until it delivers
    // again). Without this, a partition taken over from a dead instance after its last record would hold perception
    // at that instance's last claim for good.
    if (this.endsGeneration === this.generations) {
      for (const key of this.assigned) if (!this.lanes.has(key) && !this.unfetched.has(key)) claims.push([key, Number.POSITIVE_INFINITY]);
    }
    const asOf = this.endsAsOf;
    for (const [key, claim] of claims) {
      const last = this.lastClaim.get(key) ?? Number.NEGATIVE_INFINITY;
      // An idle claim is said again when its as-of time changes (see idleAsOfAfter): perception holds events written
      // after the last one it heard (pipeline/align.ts).
      const again = claim === Number.POSITIVE_INFINITY && last === claim && asOf !== (this.lastAsOf.get(key) ?? Number.NEGATIVE_INFINITY);
      // After an idle claim (Infinity) any real one is news: the partition delivers again.
      if (!again && (Number.isNaN(claim) || claim === Number.NEGATIVE_INFINITY || claim === last || (claim < last && last !== Number.POSITIVE_INFINITY))) continue;
      this.lastClaim.set(key, claim);
      const { topic, partition } = splitPartitionKey(key);
      const headers: Record<string, string> = { [H_HEARTBEAT]: `${topic}/${partition}/${claim}` };
      if (claim === Number.POSITIVE_INFINITY) {
        headers[H_HEARTBEAT_AS_OF] = String(asOf);
        this.lastAsOf.set(key, asOf);
      }
      for (let p = 0; p < hb.partitions; p++) {
        this.batcher.enqueue({ topic: hb.topic, key: null, value: '', partition: p, headers }, () => undefined);
        this.heartbeatsSent++;
      }
    }
  }

  /** The newest event time any of this instance's lanes has delivered. */
  private eventFrontier(): number {
    let f = -Infinity;
    for (const l of this.lanes.values()) if (!l.stopped) f = Math.max(f, l.processor.progress?.() ?? -Infinity);
    return f;
  }

  /** The assignment generation the last completed end-offset refresh saw (laneless partitions are judged on it). */
  private endsGeneration = -1;
  /** Wall time at which the last completed end-offset refresh began: what an idle claim is as of. */
  private endsAsOf = Number.NEGATIVE_INFINITY;
  /** End offsets of every input partition at the last refresh, and since when they stood still, all committed. */
  private rawEnds: ReadonlyMap<string, number> = new Map();
  private quietSince: number | null = null;
  /** When the ends last started moving after a quiet spell (or this instance's first refresh). */
  private activeSince: number | null = null;

  /** Partitions assigned but not fetched yet that have records to read (from the broker's offsets). */
  private unfetched = new Set<string>();
  /** Committed offsets of assigned partitions at assignment time (for partitions without a lane yet). */
  private committedAtAssignment = new Map<string, number>();
  /** Committed offsets when the partitions were assigned: where the group was due to resume (for loss counting). */
  private committedAtJoin = new Map<string, number>();
  private committedAtStart = new Map<string, number>();
  private endsTimer: NodeJS.Timeout | null = null;
  private refreshing = false;

  /**
   * Align runners only: the broker's end offsets of the input partitions, so that a lane knows it lags (records on
   * the broker it has not fetched) even before its next fetch, and partitions without a lane yet count too.
   */
  private async refreshEnds(): Promise<void> {
    if (this.refreshing || this.stopping) return;
    this.refreshing = true;
    const generation = this.generations;
    // Taken before the offsets are asked for: everything the frontier reflects was on the broker by then.
    const frontier = this.eventFrontier();
    const startedAt = Date.now();
    try {
      const next = new Set<string>();
      const ends = new Map<string, number>();
      const lows = new Map<string, number>();
      for (const t of this.spec.inputs) {
        for (const e of await this.admin.fetchTopicOffsets(t)) {
          const key = partitionKey(t, e.partition);
          ends.set(key, Number(e.high));
          lows.set(key, Number(e.low));
          if (!this.assigned.has(key)) continue;
          const high = Number(e.high);
          const lane = this.lanes.get(key);
          if (lane) {
            if (lane.highWatermark === null || high > lane.highWatermark) lane.highWatermark = high;
            if (lane.nextFetch !== null && high <= lane.nextFetch && frontier > lane.caughtUpTo) lane.caughtUpTo = frontier;
          } else if (high > Math.max(Number(e.low), this.committedAtAssignment.get(key) ?? -1)) next.add(key);
        }
      }
      this.unfetched = next;
      this.endsGeneration = generation;
      const asOf = this.endsAsOf;
      await this.idleAsOfAfter(ends, lows, startedAt);
      // A newer idle as-of time goes out at once rather than at the next heartbeat: perception holds the events
      // written since the last one until it hears it, so its latency is this refresh's, not the heartbeat period.
      if (this.endsAsOf !== asOf) this.heartbeat();
    } catch (e) {
      this.log.debug({ stage: this.spec.name, err: (e as Error).message }, 'end offsets not refreshed');
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * The as-of time of idle claims, which matters where streams start: when raw records begin to arrive after a
   * quiet spell (or when this instance starts), the first records of all partitions land together, and events
   * written after an idle claim wait for a newer one (pipeline/align.ts), however fast another instance's first
   * records come. So for `alignIdleHoldMs` after the ends start moving (any partition of the inputs, whoever owns
   * it) each refresh's start is the as-of time and idle claims are said again; after that one claim as of Infinity
   * lifts the wait, and a steady stream pays no latency for idle partitions. Once the ends stop moving and the
   * whole group has committed up to them, every event of every raw record was acknowledged
   * before that refresh began: one last claim as of then, and nothing more until records arrive again (an idle
   * cluster writes no heartbeats), the as-of time the next start is measured against.
   */
  private async idleAsOfAfter(ends: ReadonlyMap<string, number>, lows: ReadonlyMap<string, number>, startedAt: number): Promise<void> {
    let moved = ends.size !== this.rawEnds.size;
    for (const [k, h] of ends) if (this.rawEnds.get(k) !== h) moved = true;
    this.rawEnds = ends;
    const starting = (): boolean => this.activeSince !== null && startedAt - this.activeSince <= this.cfg.alignIdleHoldMs;
    if (moved) {
      if (this.quietSince !== null || this.activeSince === null) this.activeSince = startedAt;
      this.quietSince = null;
      this.endsAsOf = starting() ? startedAt : Number.POSITIVE_INFINITY;
      return;
    }
    if (this.quietSince !== null) return;
    const committed = await this.admin.fetchOffsets({ groupId: this.spec.groupId, topics: [...this.spec.inputs] });
    let behind = false;
    for (const t of committed) {
      for (const p of t.partitions) {
        const key = partitionKey(t.topic, p.partition);
        if (Math.max(Number(p.offset), lows.get(key) ?? 0) < (ends.get(key) ?? 0)) behind = true;
      }
    }
    if (!behind) {
      this.quietSince = startedAt;
      this.endsAsOf = startedAt;
    } else this.endsAsOf = starting() ? startedAt : Number.POSITIVE_INFINITY;
  }

  /**
   * The smallest timestamp another lane may still process next: a waiting head (`queued`: that lane is working on
   * it), or, for a lane with records on the broker it has not fetched yet, its last one (`queued` false).
   */
  private frontier(self: Lane): { ts: number; queued: boolean } {
    let f = Infinity;
    let queued = true;
    for (const k of this.unfetched) if (!this.lanes.has(k)) return { ts: -Infinity, queued: false };
    for (const l of this.lanes.values()) {
      if (l === self || l.stopped) continue;
      const h = l.headTs;
      if (h !== undefined) {
        if (h < f) {
          f = h;
          queued = true;
        }
      } else if (l.lagging && l.lastTs < f) {
        f = l.lastTs;
        queued = false;
      }
    }
    return { ts: f, queued };
  }

  /**
   * A lane may process a record once no other lane can still have an older one (within alignSlackMs). Behind a lane
   * that has older records queued it waits as long as that lane works through them (it always can: the oldest head
   * never waits); behind a lane whose older records are still on the broker it waits at most alignWaitMs, then goes
   * on (progress over order). Returns the timestamp up to which the lane may go on without asking again.
   */
  private async turn(lane: Lane, ts: number): Promise<number> {
    const slack = this.cfg.alignSlackMs;
    const deadline = performance.now() + this.cfg.alignWaitMs;
    for (;;) {
      const f = this.frontier(lane);
      // A finite grant: a partition idle now may receive older records later, so ask again past it.
      if (ts <= f.ts + slack) return Number.isFinite(f.ts) ? f.ts + slack : ts + slack;
      if (lane.stopped || this.stopping) return ts;
      const left = f.queued ? this.cfg.shutdownTimeoutMs : deadline - performance.now();
      if (left <= 0) {
        this.alignTimeouts++;
        return ts;
      }
      this.alignWaits++;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.turnWaiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }


  get name(): StageName {
    return this.spec.name;
  }

  /** Live lanes, for metrics and tests. */
  laneList(): Lane[] {
    return [...this.lanes.values()];
  }

  assignment(): string[] {
    return [...this.assigned].sort();
  }

  async start(): Promise<void> {
    const c = this.kafka.consumer({
      groupId: this.spec.groupId,
      sessionTimeout: this.cfg.sessionTimeoutMs,
      heartbeatInterval: this.cfg.heartbeatIntervalMs,
      rebalanceTimeout: this.cfg.rebalanceTimeoutMs,
      maxBytesPerPartition: this.cfg.maxBytesPerPartition,
      maxBytes: Math.max(this.cfg.maxBytesPerPartition * 4, 10 * 1_048_576),
      maxWaitTimeInMs: this.cfg.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    this.consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => {
      const next = new Set<string>();
      for (const [topic, parts] of Object.entries(e.payload.memberAssignment)) for (const p of parts) next.add(partitionKey(topic, p));
      const prev = this.settle;
      this.settle = prev.then(() => this.onAssignment(next));
    });
    c.on(c.events.CRASH, (e) => {
      if (e.payload.restart) {
        this.log.warn({ stage: this.spec.name, err: e.payload.error.message }, 'consumer crashed; kafkajs restarts it');
        // After a restart the consumer re-joins; lanes are reconciled at the next GROUP_JOIN.
      } else this.onFatal(new NightshiftError('IO_ERROR', `consumer of ${this.spec.name} stopped: ${e.payload.error.message}`, { cause: e.payload.error }));
    });
    // Before the first fetch: once kafkajs resets an offset that is gone, the group's committed offset no longer says
    // where it was due to resume.
    if (this.loss) this.committedAtStart = await this.committedOffsets([...this.spec.inputs]).catch(() => new Map<string, number>());
    await c.connect();
    await c.subscribe({ topics: [...this.spec.inputs], fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (p) => this.onBatch(p),
    });
    this.timer = setInterval(() => void this.tick(), Math.min(this.cfg.commitIntervalMs, this.cfg.checkpointIntervalMs));
    if (this.spec.alignTimestamps) this.endsTimer = setInterval(() => void this.refreshEnds(), Math.max(50, this.cfg.alignWaitMs));
    if (this.spec.heartbeats) this.heartbeatTimer = setInterval(() => this.heartbeat(), this.cfg.alignHeartbeatMs);
  }

  private async onAssignment(next: Set<string>): Promise<void> {
    this.joined = true;
    this.generations++;
    for (const [key, lane] of this.lanes) {
      if (next.has(key)) continue;
      this.retire(lane);
      this.revoked++;
    }
    const retained = [...this.lanes.values()];
    if (retained.length > 0) {
      // A partition we keep may have been owned by another member in between (we missed a generation): then its
      // committed offset moved past what this lane knows, and the lane's state is stale.
      try {
        const committed = await this.committedOffsets([...new Set(retained.map((l) => l.topic))]);
        for (const lane of retained) {
          const c = committed.get(lane.key);
          const mine = lane.lastCommitted ?? lane.startOffset;
          if (c !== undefined && c >= 0 && mine !== null && c > mine) {
            this.staleLanes++;
            this.retire(lane);
          }
        }
      } catch (e) {
        this.log.warn({ stage: this.spec.name, err: (e as Error).message }, 'could not check retained partitions; restarting them from their checkpoints');
        for (const lane of retained) this.retire(lane);
      }
    }
    this.assigned = next;
    if (this.loss) this.committedAtJoin = await this.committedOffsets([...this.spec.inputs]).catch(() => new Map<string, number>());
    if (this.spec.alignTimestamps) {
      this.committedAtAssignment = await this.committedOffsets([...this.spec.inputs]).catch(() => new Map<string, number>());
      await this.refreshEnds();
    }
    this.log.info({ stage: this.spec.name, partitions: [...next].sort(), generation: this.generations }, 'assignment');
  }

  private async committedOffsets(topics: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const res = await this.admin.fetchOffsets({ groupId: this.spec.groupId, topics });
    for (const t of res) for (const p of t.partitions) out.set(partitionKey(t.topic, p.partition), Number(p.offset));
    return out;
  }

  private retire(lane: Lane): void {
    lane.stop();
    this.lanes.delete(lane.key);
    const d = lane.processor.dropped?.() ?? {};
    for (const [k, v] of Object.entries(d)) this.retiredDrops.set(k, (this.retiredDrops.get(k) ?? 0) + v);
    if (lane.paused) {
      lane.paused = false;
      this.consumer?.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
    }
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopping || !isRunning() || isStale()) return;
    await this.settle;
    const key = partitionKey(batch.topic, batch.partition);
    if (!this.assigned.has(key) || this.stopping) return;
    const msgs = batch.messages;
    if (msgs.length === 0) return;
    let lane = this.lanes.get(key);
    if (!lane) {
      const first = Number(msgs[0]!.offset);
      // Our inputs are neither compacted nor transactional, so a first offset past the committed one is a skip.
      const atJoin = this.committedAtJoin.get(key) ?? -1;
      const due = atJoin >= 0 ? atJoin : (this.committedAtStart.get(key) ?? -1);
      if (due >= 0 && first > due) this.loss?.onGap(this.spec.name, batch.topic, batch.partition, due, first);
      this.committedAtJoin.delete(key);
      this.committedAtStart.delete(key);
      const made = await this.createLane(batch.topic, batch.partition, first, heartbeat);
      if (!made) return;
      lane = made.lane;
      if (made.seekTo !== null) {
        // The checkpoint's position is not where the consumer stands: continue from the checkpoint.
        this.consumer?.seek({ topic: batch.topic, partition: batch.partition, offset: String(made.seekTo) });
        return;
      }
    }
    lane.highWatermark = Number(batch.highWatermark);
    let i = 0;
    // After a rebalance the consumer restarts a kept partition at its committed offset: skip what the lane has.
    if (lane.nextFetch !== null) while (i < msgs.length && Number(msgs[i]!.offset) < lane.nextFetch) i++;
    if (i > 0 && lane.nextFetch !== null && Number(msgs[0]!.offset) < lane.nextFetch && i === msgs.length) {
      this.consumer?.seek({ topic: batch.topic, partition: batch.partition, offset: String(lane.nextFetch) });
      return;
    }
    if (i < msgs.length && lane.nextFetch !== null && Number(msgs[i]!.offset) > lane.nextFetch) {
      this.loss?.onGap(this.spec.name, batch.topic, batch.partition, lane.nextFetch, Number(msgs[i]!.offset));
    }
    const n = lane.accept(msgs, i);
    this.counters.received += n;
    if (n > 0) resolveOffset(msgs[i + n - 1]!.offset);
    if (lane.full && !lane.paused) this.pauseLane(lane);
  }

  private async createLane(topic: string, partition: number, first: number, heartbeat: () => Promise<void>): Promise<{ lane: Lane; seekTo: number | null } | null> {
    let processor = this.spec.createProcessor(topic, partition);
    let seekTo: number | null = null;
    let restoredAt: number | null = null;
    if (this.spec.stateful && this.checkpoints && processor.restore) {
      const ckey = checkpointKey(this.spec.groupId, topic, partition);
      let cp;
      try {
        cp = await this.checkpoints.latest(ckey, heartbeat);
      } catch (e) {
        // Without the checkpoint topic read to its end we cannot know the state: wait for the next batch.
        this.log.warn({ stage: this.spec.name, partition: ckey, err: (e as Error).message }, 'checkpoint not available yet');
        return null;
      }
      if (this.stopping || !this.assigned.has(partitionKey(topic, partition))) return null;
      if (cp && cp.digest === processor.stateDigest) {
        try {
          processor.restore(cp.state);
          restoredAt = cp.next;
        } catch (e) {
          this.log.error({ stage: this.spec.name, partition: ckey, err: (e as Error).message }, 'checkpoint does not fit; the partition restarts cold');
          processor = this.spec.createProcessor(topic, partition);
        }
      } else if (cp) {
        this.log.warn({ stage: this.spec.name, partition: ckey }, 'checkpoint was written with another configuration; the partition restarts cold');
      }
    }
    const lane = new Lane(topic, partition, processor, this.host);
    if (restoredAt !== null) {
      lane.startAt(restoredAt);
      this.restored++;
      const rec = { key: lane.key, next: restoredAt, learned: processor.describe?.() ?? {} };
      if (this.restores.length < MAX_RESTORE_LOG) this.restores.push(rec);
      this.log.info({ stage: this.spec.name, ...rec }, 'partition state restored from its checkpoint');
      if (restoredAt !== first) seekTo = restoredAt;
    } else {
      if (this.spec.stateful) this.coldStarts++;
      lane.startAt(first);
    }
    this.lanes.set(lane.key, lane);
    return { lane, seekTo };
  }

  private pauseLane(lane: Lane): void {
    if (lane.paused || lane.stopped) return;
    lane.paused = true;
    lane.pauses++;
    this.pauses++;
    this.consumer?.pause([{ topic: lane.topic, partitions: [lane.partition] }]);
  }

  private resumeLane(lane: Lane): void {
    if (!lane.paused || this.stopping) return;
    lane.paused = false;
    this.consumer?.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
  }

  /** Periodic: snapshots of idle-enough stateful lanes, checkpoint writes, commits. */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      await this.commitRound(false);
    } catch (e) {
      this.log.warn({ stage: this.spec.name, err: (e as Error).message }, 'commit round failed');
    } finally {
      this.ticking = false;
    }
  }

  private async commitRound(final: boolean): Promise<void> {
    const now = performance.now();
    const commits: Array<{ lane: Lane; offset: number }> = [];
    const writes: Promise<void>[] = [];
    for (const lane of this.lanes.values()) {
      if (lane.stopped) continue;
      if (this.spec.stateful) {
        const due = final || now - lane.lastSnapshotAt >= this.cfg.checkpointIntervalMs;
        if (due && !lane.pendingCheckpoint && !lane.checkpointInFlight && lane.nextProcess !== null && lane.nextProcess !== lane.lastSnapshotNext) lane.snapshot();
        const cp = lane.pendingCheckpoint;
        if (cp && !lane.checkpointInFlight && (lane.tracker.committable ?? -1) >= cp.next) writes.push(this.writeCheckpoint(lane, cp));
        // A commit that failed after its checkpoint was written (a rebalance in between) is retried here, also while
        // the partition is idle: otherwise its lag, which autoscaling reads, never returns to zero.
        else if (!cp && !lane.checkpointInFlight && lane.checkpointedNext !== null && lane.checkpointedNext !== lane.lastCommitted) {
          commits.push({ lane, offset: lane.checkpointedNext });
        }
      } else {
        const c = lane.tracker.committable;
        if (c !== null && c !== lane.lastCommitted) commits.push({ lane, offset: c });
      }
    }
    if (commits.length > 0) await this.commit(commits);
    if (writes.length > 0) await Promise.all(writes);
  }

  private async writeCheckpoint(lane: Lane, cp: { readonly next: number; readonly state: Buffer }): Promise<void> {
    lane.checkpointInFlight = true;
    try {
      const digest = lane.processor.stateDigest ?? '';
      await this.checkpoints!.write(this.batcher, checkpointKey(this.spec.groupId, lane.topic, lane.partition), cp.next, digest, cp.state);
      this.checkpointsWritten++;
      lane.checkpointedNext = cp.next;
      if (lane.pendingCheckpoint === cp) lane.pendingCheckpoint = null;
      if (!lane.stopped) await this.commit([{ lane, offset: cp.next }]);
    } catch (e) {
      this.log.warn({ stage: this.spec.name, partition: lane.key, err: (e as Error).message }, 'checkpoint not written; retried at the next round');
    } finally {
      lane.checkpointInFlight = false;
    }
  }

  private async commit(list: ReadonlyArray<{ lane: Lane; offset: number }>): Promise<void> {
    // Only partitions still ours: a revoked partition's pending commit is dropped.
    const live = list.filter((x) => !x.lane.stopped && this.lanes.get(x.lane.key) === x.lane && this.assigned.has(x.lane.key));
    if (live.length === 0 || !this.consumer) return;
    try {
      await this.consumer.commitOffsets(live.map((x) => ({ topic: x.lane.topic, partition: x.lane.partition, offset: String(x.offset) })));
      for (const x of live) x.lane.lastCommitted = x.offset;
      this.commits++;
    } catch (e) {
      // Typically "the group is rebalancing": the next round commits again if the partition is still ours.
      this.commitErrors++;
      this.log.debug({ stage: this.spec.name, err: (e as Error).message }, 'commit failed');
    }
  }

  /** Records waiting per partition (high watermark minus the next offset to process). */
  lag(): Array<{ topic: string; partition: number; lag: number }> {
    return this.laneList()
      .filter((l) => l.highWatermark !== null)
      .map((l) => ({ topic: l.topic, partition: l.partition, lag: Math.max(0, l.highWatermark! - (l.nextProcess ?? l.highWatermark!)) }));
  }

  /** Stage-internal drops of live and retired lanes, by reason. */
  dropped(): Map<string, number> {
    const out = new Map(this.retiredDrops);
    for (const l of this.lanes.values()) for (const [k, v] of Object.entries(l.processor.dropped?.() ?? {})) out.set(k, (out.get(k) ?? 0) + v);
    return out;
  }

  /**
   * Graceful stop: no new records, in-flight ones finished (outputs acknowledged), final checkpoints written and
   * offsets committed, then the consumer leaves the group so its partitions move at once. Bounded by `timeoutMs`.
   */
  async stop(timeoutMs = this.cfg.shutdownTimeoutMs): Promise<void> {
    if (this.stopping) return;
    const deadline = performance.now() + timeoutMs;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.endsTimer) clearInterval(this.endsTimer);
    this.endsTimer = null;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    const c = this.consumer;
    try {
      c?.pause(this.spec.inputs.map((topic) => ({ topic })));
    } catch {
      /* not running */
    }
    // Stop taking batches before draining, but let the commit machinery run.
    this.stopping = true;
    const lanes = [...this.lanes.values()];
    await Promise.all(lanes.map((l) => l.drained(Math.max(0, deadline - performance.now()))));
    while (this.ticking && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    while (lanes.some((l) => l.checkpointInFlight) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (performance.now() < deadline) {
      this.stopping = false;
      try {
        await Promise.race([this.commitRound(true), new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now())))]);
      } finally {
        this.stopping = true;
      }
    }
    for (const l of lanes) this.retire(l);
    if (c) await c.disconnect().catch((e: Error) => this.log.warn({ stage: this.spec.name, err: e.message }, 'consumer disconnect failed'));
    this.consumer = null;
  }
}
