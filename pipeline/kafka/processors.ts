import { deserialize, serialize } from 'node:v8';
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { IngestStage } from '../../ingest/stage.js';
import { learnedSummary, perceptionConfigDigest, restorePerception, snapshotPerception } from '../../perception/checkpoint.js';
import type { PerceptionStage } from '../../perception/stage.js';
import type { ReasoningStage } from '../../reasoning/stage.js';
import type { Event, IncidentBundle, IncidentOutput, TopologyFile } from '../../schemas/index.js';
import type { ReasoningNode } from '../graph.js';
import { IncidentOutput as IncidentOutputSchema } from '../../schemas/index.js';
import { CountingDeadLetters, makeDeadLetter, type DeadLetter } from '../../core/deadletter.js';
import type { ErrorCode } from '../../core/errors.js';
import { NightshiftError } from '../../core/errors.js';
import { stableId } from '../../core/hash.js';
import type { RawRecord } from '../../core/raw.js';
import { isThenable, type Emitter, type Stage, type StageDeps } from '../../core/stage.js';
import type { KafkaTopics } from './config.js';
import type { PartitionProcessor, StageContext } from './lane.js';
import { EventTimeAligner, eventTie, type AlignerOptions } from '../align.js';
import { abandonSink, acceptItem } from '../../sinks/delivery.js';
import { ClassRegistry, encodeGraph, hydrateGraph } from '../../core/snapshot.js';

/** Header of an event: where it came from (`rawTopic/partition/offset/index`), for duplicate suppression. */
export const H_SOURCE = 'nightshift-src';
/**
 * Header of a heartbeat on the events topic (`rawTopic/partition/eventTimeMs`, empty value): ingest says that raw
 * partition has delivered everything up to that event time, so perception's alignment need not wait for it.
 */
export const H_HEARTBEAT = 'nightshift-heartbeat';
/**
 * Header of an idle heartbeat (claim `Infinity`): the wall time (ms) at which ingest began the end-offset check that
 * found the partition empty. Events written after it wait for a newer claim (pipeline/align.ts).
 */
export const H_HEARTBEAT_AS_OF = 'nightshift-heartbeat-as-of';
/** Header of a root-cause result: its deterministic id (a digest of the record), for sinks to deduplicate. */
export const H_OUTPUT_ID = 'nightshift-id';

export function headerText(m: KafkaMessage, name: string): string | undefined {
  const v = m.headers?.[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0]?.toString() : v.toString();
}

/** The deterministic id of an output record: the same record (a redelivery, a replay) has the same id. */
export function outputId(json: string): string {
  return stableId('out', json);
}

/** A dead-letter sink that writes into whatever record is being processed (set around each `process` call). */
class ContextDeadLetters extends CountingDeadLetters {
  ctx: StageContext | null = null;
  /** @param loose where a dead letter written outside any record goes (a sink's background retries give up). */
  constructor(private readonly loose?: (dl: DeadLetter) => void) {
    super();
  }
  protected deliver(dl: DeadLetter): void {
    if (this.ctx) this.ctx.deadLetter(dl);
    else if (this.loose) this.loose(dl);
    else throw new NightshiftError('INTERNAL', `dead letter outside a record: ${dl.error}`);
  }
}

function badRecord(stage: string, code: ErrorCode, error: string, topic: string, partition: number, m: KafkaMessage): DeadLetter {
  return makeDeadLetter({
    stage,
    code,
    error,
    topic,
    key: m.key?.toString('utf8') ?? null,
    source: { partition, offset: m.offset },
    payload: m.value?.toString('utf8') ?? '',
  });
}

/**
 * The events topic's key of a service: itself, or (eventKey `component`) the first name, in sort order, of its
 * connected component in the CMDB, so that services that can be correlated meet in one perception instance.
 */
export function eventKeyer(mode: 'service' | 'component', topology: TopologyFile | undefined): (service: string) => string {
  if (mode === 'service' || !topology) return (s) => s;
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    let c = x;
    while (c !== r) {
      const n = parent.get(c)!;
      parent.set(c, r);
      c = n;
    }
    return r;
  };
  const union = (a: string, b: string): void => {
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  for (const s of topology.services) {
    union(s.name, s.name);
    for (const d of s.depends_on ?? []) union(s.name, d);
  }
  return (s) => (parent.has(s) ? find(s) : s);
}

/**
 * Raw topics -> events keyed by service (or component); the event's source position travels in a header. `tap`
 * (the graph's event tap, analytics' records-in per minute) sees every event on its way out.
 */
export function ingestProcessor(
  make: (deps: StageDeps) => IngestStage,
  tap: Stage<Event, Event> | null,
  topics: KafkaTopics,
  log: Logger,
  topic: string,
  partition: number,
  keyOf: (service: string) => string = (s) => s,
): PartitionProcessor {
  const dls = new ContextDeadLetters();
  const stage = make({ log, deadLetters: dls });
  let newest = -Infinity;
  return {
    progress: () => newest,
    process(m, ctx) {
      const raw: RawRecord = {
        topic,
        key: m.key?.toString('utf8') ?? null,
        payload: m.value?.toString('utf8') ?? '',
        ts: Number(m.timestamp),
        source: { partition, offset: m.offset },
      };
      // One message per key and raw record (an OTLP batch of a service is one message, not one per log line):
      // fewer, larger messages are what the Kafka client spends its time on.
      const groups = new Map<string, Event[]>();
      const collect: Emitter<Event> = {
        emit: (ev) => {
          if (ev.ts > newest) newest = ev.ts;
          const k = keyOf(ev.service);
          const g = groups.get(k);
          if (g) g.push(ev);
          else groups.set(k, [ev]);
        },
      };
      const publish = (): void => {
        let i = 0;
        for (const [key, evs] of groups) {
          ctx.emit({ topic: topics.events, key, value: JSON.stringify(evs.length === 1 ? evs[0] : evs), headers: { [H_SOURCE]: `${topic}/${partition}/${m.offset}/${i++}` } });
        }
      };
      // Through the tap one event after another, so the events keep their order whatever the tap waits for (it
      // passes each on at once, and waits only on its writer's backpressure at the end of a minute).
      let chain: Promise<void> | null = null;
      const emitter: Emitter<Event> = tap
        ? {
            emit: (ev) => {
              if (chain) chain = chain.then(() => tap.process(ev, collect));
              else {
                const r = tap.process(ev, collect);
                if (isThenable(r)) chain = r;
              }
            },
          }
        : collect;
      dls.ctx = ctx;
      try {
        stage.process(raw, emitter);
      } finally {
        dls.ctx = null;
      }
      if (chain) return (chain as Promise<void>).then(publish);
      publish();
      return undefined;
    },
    dropped: () => stage.counters.snapshot().dropped,
  };
}

function looksLikeEvent(v: unknown): v is Event {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as { kind?: unknown; service?: unknown; ts?: unknown };
  return typeof e.kind === 'string' && typeof e.service === 'string' && typeof e.ts === 'number' && Number.isFinite(e.ts);
}

/** Sources whose high-water mark a perception partition remembers; beyond it the least recent is forgotten. */
const MAX_SOURCES = 4096;
const PERCEPTION_STATE_KIND = 'nightshift.kafka.perception/2';

/**
 * Events of one partition -> bundles keyed by incident id. One PerceptionStage per partition (its state is the
 * partition's services'), fed through an event-time aligner (pipeline/align.ts) so that the raw sources meet in
 * time order, plus the high-water mark per raw source partition: an event at or below it is a duplicate (ingest
 * re-read its raw record after a rebalance or a crash) and is dropped, so redeliveries do not count twice in
 * templates and detectors.
 */
export class PerceptionProcessor implements PartitionProcessor {
  readonly stage: PerceptionStage;
  private hwm = new Map<string, { offset: number; index: number }>();
  private readonly aligner: EventTimeAligner<Event>;
  duplicates = 0;
  heartbeats = 0;
  readonly stateDigest: string;

  /** The bundle tap's work for the record being processed, one bundle after another (so bundles keep their order). */
  private taps: Promise<void> | null = null;

  constructor(
    make: (deps: StageDeps) => PerceptionStage,
    deps: StageDeps,
    private readonly tap: Stage<IncidentBundle, IncidentBundle> | null,
    private readonly topics: KafkaTopics,
    private readonly topic: string,
    private readonly partition: number,
    align: Omit<AlignerOptions, 'maxSources'>,
  ) {
    this.stage = make(deps);
    this.aligner = new EventTimeAligner<Event>({ ...align, maxSources: MAX_SOURCES });
    this.stateDigest = stableId('cfg', perceptionConfigDigest(this.stage), align.idleMs, align.maxBuffered);
  }

  process(m: KafkaMessage, ctx: StageContext): void | Promise<void> {
    this.feed(m, ctx);
    const pending = this.taps;
    this.taps = null;
    return pending ?? undefined;
  }

  private feed(m: KafkaMessage, ctx: StageContext): void {
    const send: Emitter<IncidentBundle> = { emit: (b) => ctx.emit({ topic: this.topics.bundles, key: b.incident_id, value: JSON.stringify(b) }) };
    const tap = this.tap;
    const out: Emitter<IncidentBundle> = tap
      ? {
          emit: (b) => {
            if (this.taps) this.taps = this.taps.then(() => tap.process(b, send));
            else {
              const r = tap.process(b, send);
              if (isThenable(r)) this.taps = r;
            }
          },
        }
      : send;
    const hb = headerText(m, H_HEARTBEAT);
    if (hb !== undefined) {
      const cut = hb.lastIndexOf('/');
      const ts = Number(hb.slice(cut + 1));
      // `Infinity`: the source is caught up with nothing to deliver (pipeline/align.ts: idle until it delivers).
      if (cut > 0 && (Number.isFinite(ts) || ts === Number.POSITIVE_INFINITY)) {
        this.heartbeats++;
        const asOf = headerText(m, H_HEARTBEAT_AS_OF);
        this.aligner.advance(hb.slice(0, cut), ts, (e) => this.stage.process(e, out), asOf === undefined ? undefined : Number(asOf));
      }
      return;
    }
    const src = headerText(m, H_SOURCE);
    if (src !== undefined && this.isDuplicate(src)) {
      this.duplicates++;
      return;
    }
    const source = src === undefined ? '' : src.slice(0, src.lastIndexOf('/', src.lastIndexOf('/') - 1));
    let ev: unknown;
    try {
      ev = JSON.parse(m.value?.toString('utf8') ?? '');
    } catch (e) {
      ctx.deadLetter(badRecord('perception', 'INVALID_JSON', `event is not JSON: ${(e as Error).message}`, this.topic, this.partition, m));
      return;
    }
    // A message holds one event, or the events of one raw record for one key.
    const list = Array.isArray(ev) ? (ev as unknown[]) : [ev];
    if (list.length === 0 || !list.every(looksLikeEvent)) {
      ctx.deadLetter(badRecord('perception', 'SCHEMA_MISMATCH', 'an event (or each of a list of events) needs kind, service and a finite ts', this.topic, this.partition, m));
      return;
    }
    // The message's Kafka timestamp (ingest's producer sets it when it writes): after the raw record had landed.
    const wall = Number(m.timestamp);
    for (const e of list as Event[]) this.aligner.push(source, e.ts, e, (x) => this.stage.process(x, out), eventTie(e), wall);
  }

  private isDuplicate(src: string): boolean {
    const last = src.lastIndexOf('/');
    const prev = src.lastIndexOf('/', last - 1);
    if (last < 0 || prev < 0) return false;
    const key = src.slice(0, prev);
    const offset = Number(src.slice(prev + 1, last));
    const index = Number(src.slice(last + 1));
    if (!Number.isFinite(offset) || !Number.isFinite(index)) return false;
    const seen = this.hwm.get(key);
    if (seen && (offset < seen.offset || (offset === seen.offset && index <= seen.index))) return true;
    if (seen) {
      seen.offset = offset;
      seen.index = index;
    } else {
      this.hwm.set(key, { offset, index });
      if (this.hwm.size > MAX_SOURCES) this.hwm.delete(this.hwm.keys().next().value as string);
    }
    return false;
  }

  snapshot(): Buffer {
    return serialize({
      kind: PERCEPTION_STATE_KIND,
      hwm: [...this.hwm],
      duplicates: this.duplicates,
      aligner: this.aligner.state(),
      stage: snapshotPerception(this.stage),
    });
  }

  restore(state: Buffer): void {
    const s = deserialize(state) as {
      kind?: unknown;
      hwm?: Array<[string, { offset: number; index: number }]>;
      duplicates?: number;
      aligner?: ReturnType<EventTimeAligner<Event>['state']>;
      stage?: Buffer;
    };
    if (s.kind !== PERCEPTION_STATE_KIND || !Array.isArray(s.hwm) || !(s.stage instanceof Uint8Array) || !s.aligner || !Array.isArray(s.aligner.heap)) {
      throw new NightshiftError('SCHEMA_MISMATCH', `perception checkpoint is not ${PERCEPTION_STATE_KIND}`);
    }
    restorePerception(this.stage, Buffer.from(s.stage));
    this.hwm = new Map(s.hwm);
    this.duplicates = s.duplicates ?? 0;
    this.aligner.load(s.aligner);
  }

  describe(): Record<string, unknown> {
    return { ...learnedSummary(this.stage), duplicates: this.duplicates, aligning: this.aligner.size, late: this.aligner.late, forced: this.aligner.forced, heartbeats: this.heartbeats };
  }

  dropped(): Record<string, number> {
    return { ...this.stage.counters.snapshot().dropped, ...(this.duplicates > 0 ? { duplicate: this.duplicates } : {}) };
  }
}

const REASONING_STATE_KIND = 'nightshift.kafka.reasoning/2';
/** Incidents whose newest bundle a reasoning partition remembers (least recently updated forgotten first). */
const MAX_INCIDENTS = 50_000;

/**
 * Bundles of one partition -> root-cause results keyed by incident id, each with its deterministic id.
 * Bundles arrive at least once: after a failover perception re-emits a stretch of bundles it had already sent. A
 * bundle older than the newest one seen for its incident (or the same one again) is stale and skipped, so reasoning
 * sees each incident's bundles once, in order, and writes exactly the results an uninterrupted run would.
 */
export class ReasoningProcessor implements PartitionProcessor {
  readonly stage: ReasoningStage;
  private readonly registry = new ClassRegistry();
  readonly stateDigest: string;
  /** incident id -> newest bundle time and the digests of the bundles seen at that time. */
  private newest = new Map<string, { at: number; digests: string[] }>();
  stale = 0;

  /** What reasons: the ranker itself, or the LLM stage around it (inline: its answer belongs to this record). */
  private readonly reasoner: Stage<IncidentBundle, IncidentOutput>;

  constructor(
    node: ReasoningNode,
    private readonly topics: KafkaTopics,
    private readonly topic: string,
    private readonly partition: number,
  ) {
    // The checkpoint is the ranker's: the LLM stage holds only runs in flight (none between two records in inline
    // mode) and per-incident budgets, which a failover resets.
    this.stage = node.ranker;
    this.reasoner = node.stage;
    this.registry.discover(this.stage);
    this.registry.keep('ReasoningStage', ['cfg', 'counters']);
    this.stateDigest = stableId('cfg', JSON.stringify(node.config));
  }

  process(m: KafkaMessage, ctx: StageContext): void | Promise<void> {
    let b: IncidentBundle;
    try {
      b = JSON.parse(m.value?.toString('utf8') ?? '') as IncidentBundle;
    } catch (e) {
      ctx.deadLetter(badRecord('reasoning', 'INVALID_JSON', `bundle is not JSON: ${(e as Error).message}`, this.topic, this.partition, m));
      return;
    }
    if (typeof b !== 'object' || b === null || typeof b.incident_id !== 'string' || !Array.isArray(b.services) || !Array.isArray(b.signals) || typeof b.updated_at !== 'number') {
      ctx.deadLetter(badRecord('reasoning', 'SCHEMA_MISMATCH', 'bundle needs incident_id, updated_at, services and signals', this.topic, this.partition, m));
      return;
    }
    if (this.isStale(b.incident_id, b.updated_at, stableId('b', m.value!.toString('utf8')))) {
      this.stale++;
      return;
    }
    const r = this.reasoner.process(b, {
      emit: (o: IncidentOutput) => {
        const value = JSON.stringify(o);
        ctx.emit({ topic: this.topics.rca, key: o.incident_id, value, headers: { [H_OUTPUT_ID]: outputId(value) } });
      },
    });
    return isThenable(r) ? r.then(() => undefined) : undefined;
  }

  private isStale(id: string, at: number, digest: string): boolean {
    const n = this.newest.get(id);
    if (n && (at < n.at || (at === n.at && n.digests.includes(digest)))) return true;
    if (n && at === n.at) {
      // Several bundles of one incident at one watermark (an update and its resolution): all of them count.
      if (n.digests.length < 16) n.digests.push(digest);
    } else {
      this.newest.delete(id);
      this.newest.set(id, { at, digests: [digest] });
      if (this.newest.size > MAX_INCIDENTS) this.newest.delete(this.newest.keys().next().value as string);
    }
    return false;
  }

  snapshot(): Buffer {
    return serialize({ kind: REASONING_STATE_KIND, newest: [...this.newest], stale: this.stale, stage: encodeGraph(this.stage, this.registry) });
  }

  restore(state: Buffer): void {
    const s = deserialize(state) as { kind?: unknown; newest?: Array<[string, { at: number; digests: string[] }]>; stale?: number; stage?: Uint8Array };
    if (s.kind !== REASONING_STATE_KIND || !(s.stage instanceof Uint8Array) || !Array.isArray(s.newest)) {
      throw new NightshiftError('SCHEMA_MISMATCH', `reasoning checkpoint is not ${REASONING_STATE_KIND}`);
    }
    hydrateGraph(this.stage, Buffer.from(s.stage), this.registry);
    this.newest = new Map(s.newest);
    this.stale = s.stale ?? 0;
  }

  describe(): Record<string, unknown> {
    return { incidents: this.newest.size, stale: this.stale };
  }

  dropped(): Record<string, number> {
    return { ...this.stage.counters.snapshot().dropped, ...(this.stale > 0 ? { stale_bundle: this.stale } : {}) };
  }
}

/** Bounded set of recently seen ids (least recently seen forgotten first). */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): void {
    if (this.capacity <= 0) return;
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
  }
}

/** Limits of the sinks stage's end-to-end acknowledgement (from the kafka config). */
export interface SharedSinkLimits {
  /** Outputs accepted by the sink but not confirmed yet (all partitions of the process); full -> delivery waits. */
  readonly maxInFlight: number;
  /** An output unconfirmed for this long makes the stage blocked (`/readyz` not ready). */
  readonly unreadyAfterMs: number;
}

/**
 * The sinks stage: one sink (NDJSON, ticketing, analytics, or a fan-out of them) shared by all partitions of the
 * process, fed one output at a time (a sink is usually one file or one API), skipping outputs whose id it has
 * delivered recently.
 *
 * End-to-end acknowledgement: each output is handed to the sink's `accept` (sinks/delivery.ts), which resolves once
 * the sink took it (buffered; waiting for room when the sink is full), and the record's completion is deferred
 * (StageContext.defer) until the output is durable in every sink: the ClickHouse insert acknowledged by the server,
 * the ticket operation done or dead-lettered, the NDJSON line handed to the OS — and any dead letter a sink wrote
 * for it in the background acknowledged by Kafka. Meanwhile the next outputs are delivered (so they share one
 * insert), at most `maxInFlight` unconfirmed; past it delivery waits, the lanes fill up and their partitions pause.
 * The offset commits only over confirmed records, so a crash or a stop leaves the unconfirmed ones to be
 * redelivered (the output id and ClickHouse's ReplacingMergeTree make a redelivery harmless).
 */
export class SharedSink {
  readonly deadLetters: ContextDeadLetters;
  private readonly recent: RecentIds;
  private chain: Promise<void> = Promise.resolve();
  duplicates = 0;
  delivered = 0;
  /** Outputs accepted, not confirmed yet, by start time (insertion order: the first is the oldest). */
  private readonly unconfirmed = new Map<number, number>();
  private nextTicket = 0;
  /** Delivery waiting for the sink to accept an output, since when (performance.now), or null. */
  private acceptingSince: number | null = null;
  private roomWaiters: Array<() => void> = [];
  /** Background dead letters (not written inside a delivery) not acknowledged by Kafka yet. */
  private readonly looseInFlight = new Set<Promise<void>>();
  private abandoned = false;
  private readonly limits: SharedSinkLimits;

  private sink: Stage<IncidentOutput, never> | null = null;

  /**
   * @param loose where dead letters the sink writes outside a delivery go (not tied to an offset); `acked` is told
   *              when Kafka acknowledged one, so that the deliveries pending meanwhile commit only after it.
   */
  constructor(dedupIds: number, loose: (dl: DeadLetter, acked?: (err?: Error) => void) => void, limits: Partial<SharedSinkLimits> = {}) {
    this.recent = new RecentIds(dedupIds);
    this.limits = { maxInFlight: limits.maxInFlight ?? 5000, unreadyAfterMs: limits.unreadyAfterMs ?? 30_000 };
    this.deadLetters = new ContextDeadLetters((dl) => {
      let p: Promise<void> = Promise.resolve();
      p = new Promise<void>((resolve) => loose(dl, () => {
        this.looseInFlight.delete(p);
        resolve();
      }));
      this.looseInFlight.add(p);
    });
  }

  /** The sink is built after this object, with `deadLetters` as its dead-letter sink. */
  attach(sink: Stage<IncidentOutput, never>): void {
    this.sink = sink;
  }

  get stage(): Stage<IncidentOutput, never> {
    if (!this.sink) throw new NightshiftError('INTERNAL', 'SharedSink used before attach()');
    return this.sink;
  }

  /** Outputs accepted by the sink and not confirmed yet. */
  get pending(): number {
    return this.unconfirmed.size;
  }

  /**
   * Seconds the sink has been holding up delivery: the age of the oldest unconfirmed output, or how long the sink has
   * kept delivery waiting to accept one (0 when neither).
   */
  blockedSeconds(now: number = performance.now()): number {
    let since = this.acceptingSince ?? Infinity;
    for (const t of this.unconfirmed.values()) {
      since = Math.min(since, t);
      break;
    }
    return Number.isFinite(since) ? Math.max(0, now - since) / 1000 : 0;
  }

  /** False while the sink has been blocked for longer than `unreadyAfterMs` (an outage): for `/readyz`. */
  ready(now: number = performance.now()): boolean {
    return this.blockedSeconds(now) * 1000 <= this.limits.unreadyAfterMs;
  }

  processor(topic: string, partition: number): PartitionProcessor {
    return {
      process: (m, ctx) => this.enqueue(m, ctx, topic, partition),
      dropped: () => ({}),
    };
  }

  private enqueue(m: KafkaMessage, ctx: StageContext, topic: string, partition: number): Promise<void> {
    const run = this.chain.then(() => this.deliver(m, ctx, topic, partition));
    // The chain continues past a failure; the failing record's lane sees the rejection and dead-letters it.
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async deliver(m: KafkaMessage, ctx: StageContext, topic: string, partition: number): Promise<void> {
    const text = m.value?.toString('utf8') ?? '';
    const id = headerText(m, H_OUTPUT_ID) ?? outputId(text);
    if (this.recent.has(id)) {
      this.duplicates++;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      ctx.deadLetter(badRecord('sinks', 'INVALID_JSON', `result is not JSON: ${(e as Error).message}`, topic, partition, m));
      return;
    }
    const r = IncidentOutputSchema.safeParse(parsed);
    if (!r.success) {
      const i = r.error.issues[0];
      ctx.deadLetter(badRecord('sinks', 'SCHEMA_MISMATCH', `result is not an incident output: ${i ? `${i.path.join('.')}: ${i.message}` : 'invalid'}`, topic, partition, m));
      return;
    }
    const sink = this.stage;
    // What reasoning published, as it published it (validated above): zod's copy would reorder keys and drop fields a
    // newer writer added, so the sinks' NDJSON would differ from `replay`'s.
    const output = parsed as IncidentOutput;
    if (!ctx.defer) {
      // No deferral (a caller outside the Kafka lanes): wait for the confirmation here.
      this.deadLetters.ctx = ctx;
      try {
        sink.counters.received++;
        await (await acceptItem(sink, output)).durable;
      } finally {
        this.deadLetters.ctx = null;
      }
      this.delivered++;
      this.recent.add(id);
      return;
    }
    while (this.unconfirmed.size >= this.limits.maxInFlight && !this.abandoned) await new Promise<void>((res) => this.roomWaiters.push(res));
    const ticket = this.nextTicket++;
    this.deadLetters.ctx = ctx;
    this.acceptingSince = performance.now();
    let accepted;
    try {
      sink.counters.received++;
      accepted = await acceptItem(sink, output);
    } finally {
      this.deadLetters.ctx = null;
      this.acceptingSince = null;
    }
    this.unconfirmed.set(ticket, performance.now());
    const confirmed = accepted.durable
      .then(() => this.looseBarrier())
      .then(() => {
        this.delivered++;
        this.recent.add(id);
      })
      .finally(() => {
        this.unconfirmed.delete(ticket);
        for (const w of this.roomWaiters.splice(0)) w();
      });
    ctx.defer(confirmed);
  }

  /** Resolves once every background dead letter written so far is acknowledged. */
  private async looseBarrier(): Promise<void> {
    if (this.looseInFlight.size > 0) await Promise.all([...this.looseInFlight]);
  }

  /**
   * Waits for the deliveries in progress, then closes the sink. If outputs are still unconfirmed now (the runner has
   * already waited for them up to its shutdown timeout: a sink outage), the sink abandons them first: their offsets
   * were not committed, the next instance redelivers them, and the stop does not wait for the outage to end.
   */
  async close(): Promise<void> {
    if (this.unconfirmed.size > 0 || this.acceptingSince !== null) this.abandon();
    await this.chain;
    if (this.sink?.close) await this.sink.close();
  }

  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    if (this.sink) abandonSink(this.sink);
    for (const w of this.roomWaiters.splice(0)) w();
  }
}
