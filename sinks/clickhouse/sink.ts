import { Counters } from '../../core/counters.js';
import { NightshiftError } from '../../core/errors.js';
import type { Emitter, Stage, StageDeps } from '../../core/stage.js';
import type { EdgeFigures, Event, IncidentBundle, IncidentOutput, Signal } from '../../schemas/index.js';
import { backoffDelay, realSleep, seededRandom } from './backoff.js';
import { openClickHouse, type ClickHouseLike } from './client.js';
import type { ClickHouseSinkConfig } from './config.js';
import { migrate, type MigrationReport } from './migrate.js';
import { LruMap } from '../../core/lru.js';
import { firstSignalAt, incidentDetailsRow, incidentRow, incidentVersion, ReasoningRunRow, rootCauseRows, serviceOwnerRows, signalRow, templateRows, TicketRow } from './rows.js';
import { PipelineStatsRecorder } from './stats.js';
import { RowWriter, type RowWriterDeps } from './writer.js';
import type { Accepted, DurableSink } from '../delivery.js';

/** Positions in the incident and root-cause writers' sequences (see ClickHouseIncidentSink.lastToken). */
export interface AckToken {
  readonly incidents: number;
  readonly root_causes: number;
  readonly incident_details: number;
}

export const TABLES = ['incidents', 'root_causes', 'signals', 'log_templates', 'pipeline_stats', 'reasoning_runs', 'incident_details', 'tickets', 'service_owners'] as const;
export type TableName = (typeof TABLES)[number];

/**
 * One ClickHouse database as the pipeline's analytics store: the client, the migrations, one RowWriter per table,
 * and the stages that feed them:
 *   incidentSink  Stage<IncidentOutput, never>: incidents + root_causes + incident_details (the last stage, or one
 *                 sink of a fan-out)
 *   bundleTap     Stage<IncidentBundle, IncidentBundle>: signals + log_templates + first-symptom times and call-edge
 *                 figures for incident_details (between
 *                 perception and reasoning; passes bundles through)
 *   eventTap      Stage<Event, Event>: pipeline_stats records in per minute (between ingest and perception)
 *   onSignal      perception's signal observer: pipeline_stats signals per minute
 *   writeReasoningRun  reasoning_runs (the LLM reasoner's eval record)
 *   recordTicket  tickets (the ticketing sink's ticket recorder: each ticket it opens or finds)
 *   writeServiceOwners  service_owners (the topology file's owners, at start)
 * Only the incident sink is required; without the taps those tables stay empty and first_signal_at is null.
 */
export class ClickHouseAnalytics {
  readonly writers: Readonly<Record<TableName, RowWriter>>;
  readonly stats: PipelineStatsRecorder;
  readonly incidentSink: ClickHouseIncidentSink;
  readonly bundleTap: ClickHouseBundleTap;
  readonly eventTap: EventStatsTap;
  /** Earliest first-symptom time per incident, from bundles (bounded LRU). */
  readonly firstSignal: LruMap<string, number>;
  /** Call edges among each incident's services with their figures, from its latest bundle (bounded LRU). */
  readonly edges: LruMap<string, readonly EdgeFigures[]>;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly config: ClickHouseSinkConfig,
    readonly client: ClickHouseLike,
    readonly migration: MigrationReport,
    deps: RowWriterDeps,
  ) {
    const db = config.database;
    const mk = (t: TableName): RowWriter => new RowWriter(`clickhouse.${t}`, `${db}.${t}`, client, config.writer, deps, config.jitterSeed);
    this.writers = {
      incidents: mk('incidents'),
      root_causes: mk('root_causes'),
      signals: mk('signals'),
      log_templates: mk('log_templates'),
      pipeline_stats: mk('pipeline_stats'),
      reasoning_runs: mk('reasoning_runs'),
      incident_details: mk('incident_details'),
      tickets: mk('tickets'),
      service_owners: mk('service_owners'),
    };
    this.firstSignal = new LruMap(config.maxTrackedIncidents);
    this.edges = new LruMap(config.maxTrackedIncidents);
    this.stats = new PipelineStatsRecorder(config.pipeline, this.writers.pipeline_stats, config.maxOpenMinutes);
    this.incidentSink = new ClickHouseIncidentSink(this);
    this.bundleTap = new ClickHouseBundleTap(this);
    this.eventTap = new EventStatsTap(this);
  }

  /**
   * Connects, applies the migrations, and returns the store. A client may be injected (tests, the NDJSON fallback).
   * A server that does not answer yet (retriable error) is retried for `startTimeoutMs`; then the error is thrown.
   */
  static async open(
    config: ClickHouseSinkConfig,
    deps: StageDeps & Partial<RowWriterDeps>,
    client?: ClickHouseLike,
    startTimeoutMs = 60_000,
  ): Promise<ClickHouseAnalytics> {
    const ch = client ?? (await openClickHouse(config.target, { requestTimeoutMs: config.writer.requestTimeoutMs }));
    const sleep = deps.sleep ?? realSleep;
    const now = deps.now ?? Date.now;
    const random = seededRandom(config.jitterSeed);
    const started = now();
    let report: MigrationReport = { server: 'ndjson', applied: [], alreadyApplied: [], skipped: [] };
    for (let attempt = 1; ch.engine !== 'ndjson'; attempt++) {
      try {
        report = await migrate(ch, config.database);
        break;
      } catch (e) {
        const retriable = e instanceof NightshiftError && e.retriable;
        if (!retriable || now() - started >= startTimeoutMs) {
          if (!client) await ch.close().catch(() => undefined);
          throw e;
        }
        const delay = backoffDelay(attempt, config.writer.backoffMinMs, config.writer.backoffMaxMs, false, random);
        deps.log.warn({ attempt, delayMs: delay, err: (e as Error).message }, 'clickhouse not ready, retrying');
        await sleep(delay);
      }
    }
    deps.log.info({ engine: ch.engine, database: config.database, ...report }, 'clickhouse schema ready');
    return new ClickHouseAnalytics(config, ch, report, deps);
  }

  /** Perception's signal observer (synchronous: it only counts). */
  readonly onSignal = (s: Signal): void => {
    this.stats.countSignal(s.ts);
  };

  /** Writes one LLM run (validated first: a bad record is a SCHEMA_MISMATCH error to the caller, not a dead letter). */
  async writeReasoningRun(run: ReasoningRunRow): Promise<number> {
    const r = ReasoningRunRow.safeParse(run);
    if (!r.success) throw new NightshiftError('SCHEMA_MISMATCH', `reasoning run: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return this.writers.reasoning_runs.write(r.data, { key: r.data.incident_id });
  }

  /**
   * Records one ticket the ticketing sink opened or found (validated first, like a reasoning run). Pass it to the
   * ticketing sink as its ticket recorder; returns once the row is buffered (backpressure like every writer).
   */
  readonly recordTicket = async (t: TicketRow): Promise<void> => {
    const r = TicketRow.safeParse(t);
    if (!r.success) throw new NightshiftError('SCHEMA_MISMATCH', `ticket: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    await this.writers.tickets.write(r.data, { key: r.data.incident_id });
  };

  /** Writes the topology's owner of every service it lists (the latest write wins: version = `now`). */
  async writeServiceOwners(services: readonly { name: string; owner?: string | undefined }[], now: number = Date.now()): Promise<number> {
    const rows = serviceOwnerRows(services, now);
    for (const row of rows) await this.writers.service_owners.write(row, { key: row.service });
    return rows.length;
  }

  /** All counters, by writer and stage. */
  counterSnapshot(): Record<string, ReturnType<Counters['snapshot']>> {
    const out: Record<string, ReturnType<Counters['snapshot']>> = {};
    for (const t of TABLES) out[`clickhouse.${t}`] = this.writers[t].counters.snapshot();
    out['clickhouse.stats'] = this.stats.counters.snapshot();
    return out;
  }

  /** Sends everything held in every table and waits for ClickHouse to acknowledge it. */
  async flush(): Promise<void> {
    await this.stats.writeDirty();
    const results = await Promise.allSettled(TABLES.map((t) => this.writers[t].flush()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Gives up every writer's held rows now (a stop during an outage; see RowWriter.abandon). */
  private abandoned = false;
  abandon(): void {
    this.abandoned = true;
    for (const t of TABLES) this.writers[t].abandon();
  }

  /** Final stats, flush, close the client. Idempotent: every stage's close() calls it, the first one does the work. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        // After abandon (a stop during an outage) there is nothing to flush: what was held is left to redelivery.
        if (!this.abandoned) await this.flush();
      } finally {
        await Promise.allSettled(TABLES.map((t) => this.writers[t].close()));
        await this.client.close();
      }
    })();
    return this.closing;
  }
}

/**
 * Stage<IncidentOutput, never>: each output becomes one `incidents` row, one `root_causes` row per ranked cause and
 * one `incident_details` row (title, severity, evidence and call-edge JSON), all with the same version (see incidentVersion). With ack `batch`, `process` returns once the rows are buffered
 * (waiting while the buffer is full); `lastToken`/`isAcked`/`whenAcked` tell when they are durable. With ack `each`, it
 * returns after ClickHouse acknowledged them. The stage counts an output as sent once all its rows are inserted,
 * or as dropped `dead_letter:<CODE>` if one was dead-lettered.
 */
export class ClickHouseIncidentSink implements DurableSink<IncidentOutput> {
  readonly name = 'sink-clickhouse';
  readonly counters = new Counters();
  /** Per incident: last updated_at and how many outputs had it (bounded LRU). */
  private readonly versions: LruMap<string, { updatedAt: number; seq: number }>;

  constructor(private readonly store: ClickHouseAnalytics) {
    this.versions = new LruMap(store.config.maxTrackedIncidents);
  }

  /**
   * Where the rows of the latest processed output sit in the two writers' sequences. Every output processed up to
   * then is durable once `isAcked(token)` (or `whenAcked(token)` resolves): in cluster mode, take the token after
   * `process` of the last output derived from a source offset and commit the offset once it is acknowledged.
   */
  get lastToken(): AckToken {
    const w = this.store.writers;
    return { incidents: w.incidents.accepted, root_causes: w.root_causes.accepted, incident_details: w.incident_details.accepted };
  }

  isAcked(t: AckToken): boolean {
    const w = this.store.writers;
    return w.incidents.acked >= t.incidents && w.root_causes.acked >= t.root_causes && w.incident_details.acked >= t.incident_details;
  }

  async whenAcked(t: AckToken): Promise<void> {
    const w = this.store.writers;
    await Promise.all([w.incidents.whenAcked(t.incidents), w.root_causes.whenAcked(t.root_causes), w.incident_details.whenAcked(t.incident_details)]);
  }

  async process(o: IncidentOutput, _out?: Emitter<never>): Promise<void> {
    const { durable } = await this.accept(o);
    if (this.store.config.writer.ack === 'each') await durable;
  }

  /**
   * End to end (sinks/delivery.ts; what cluster mode uses, whatever `writer.ack` says): resolves once the output's
   * rows are buffered, with `durable` resolving once ClickHouse acknowledged all of them (or they were dead-lettered:
   * after `writer.retryForMs` of failures, or as bad data). Outputs accepted meanwhile share the next insert, so the
   * commit waits for the ack without one round trip per output. `durable` rejects if the writer fails (a
   * configuration error) or is abandoned (a stop during an outage: the offset stays uncommitted).
   */
  async accept(o: IncidentOutput): Promise<Accepted> {
    const prev = this.versions.get(o.incident_id);
    const seq = prev && prev.updatedAt === o.updated_at ? prev.seq + 1 : 0;
    this.versions.set(o.incident_id, { updatedAt: o.updated_at, seq });
    const version = incidentVersion(o.updated_at, seq);
    const first = this.store.firstSignal.get(o.incident_id) ?? null;
    const rows = [incidentRow(o, version, first), ...rootCauseRows(o, version)];
    const details = incidentDetailsRow(o, version, this.store.edges.get(o.incident_id) ?? []);
    let remaining = rows.length + 1;
    let failedCode: string | null = null;
    const done = (r: { ok: boolean; code?: string }): void => {
      if (!r.ok && failedCode === null) failedCode = r.code ?? 'INTERNAL';
      if (--remaining > 0) return;
      if (failedCode === null) this.counters.sent++;
      else this.counters.drop(`dead_letter:${failedCode}`);
    };
    const w = this.store.writers;
    const incSeq = await w.incidents.write(rows[0]!, { key: o.incident_id, onDone: done });
    let rcSeq = 0;
    for (const r of rows.slice(1)) rcSeq = await w.root_causes.write(r, { key: o.incident_id, onDone: done });
    const detSeq = await w.incident_details.write(details, { key: o.incident_id, onDone: done });
    const urgent = this.store.config.writer.ack === 'each';
    const durable = Promise.all([
      w.incidents.whenAcked(incSeq, urgent),
      rcSeq > 0 ? w.root_causes.whenAcked(rcSeq, urgent) : Promise.resolve(),
      w.incident_details.whenAcked(detSeq, urgent),
    ]).then(() => undefined);
    durable.catch(() => undefined);
    return { durable };
  }

  /** A stop during an outage: every writer of the store gives up what it holds (see RowWriter.abandon). */
  abandon(): void {
    this.store.abandon();
  }

  async flush(): Promise<void> {
    const w = this.store.writers;
    await Promise.all([w.incidents.flush(), w.root_causes.flush(), w.incident_details.flush()]);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * Stage<IncidentBundle, IncidentBundle>: records the bundle's signals (once per incident and signal) and log
 * templates (when their count changed), remembers the incident's first symptom time for its `incidents` rows, counts
 * bundles and new incidents per minute, and passes the bundle on unchanged.
 */
export class ClickHouseBundleTap implements Stage<IncidentBundle, IncidentBundle> {
  readonly name = 'tap-clickhouse';
  readonly counters = new Counters();
  private readonly seenSignals: LruMap<string, true>;
  private readonly templateCounts: LruMap<string, number>;
  private readonly openedSeen: LruMap<string, true>;

  constructor(private readonly store: ClickHouseAnalytics) {
    const n = store.config.maxTrackedIncidents;
    this.seenSignals = new LruMap(n * 8);
    this.templateCounts = new LruMap(n);
    this.openedSeen = new LruMap(n);
  }

  async process(b: IncidentBundle, out: Emitter<IncidentBundle>): Promise<void> {
    const first = firstSignalAt(b);
    if (first !== null) this.store.firstSignal.set(b.incident_id, first);
    if (b.details?.edges) this.store.edges.set(b.incident_id, b.details.edges);
    if (!this.openedSeen.has(b.incident_id)) {
      this.openedSeen.set(b.incident_id, true);
      this.store.stats.countIncidentOpened(b.opened_at);
    }
    this.store.stats.countBundle(b.updated_at);
    const w = this.store.writers;
    for (const s of b.signals) {
      const k = `${b.incident_id}\u0000${s.id}`;
      if (this.seenSignals.has(k)) continue;
      this.seenSignals.set(k, true);
      await w.signals.write(signalRow(b.incident_id, s), { key: b.incident_id });
    }
    for (const t of templateRows(b)) {
      if (this.templateCounts.get(t.template_id) === t.count) continue;
      this.templateCounts.set(t.template_id, t.count);
      await w.log_templates.write(t, { key: t.template_id });
    }
    out.emit(b);
  }

  async flush(): Promise<void> {
    await Promise.all([this.store.writers.signals.flush(), this.store.writers.log_templates.flush()]);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Stage<Event, Event>: counts events per event-time minute for `pipeline_stats` and passes them on. */
export class EventStatsTap implements Stage<Event, Event> {
  readonly name = 'tap-clickhouse-stats';
  readonly counters = new Counters();

  constructor(private readonly store: ClickHouseAnalytics) {}

  async process(ev: Event, out: Emitter<Event>): Promise<void> {
    if (this.store.stats.countRecord(ev.ts, ev.kind === 'alert')) await this.store.stats.writeDirty();
    out.emit(ev);
  }

  async flush(): Promise<void> {
    await this.store.stats.writeDirty();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
