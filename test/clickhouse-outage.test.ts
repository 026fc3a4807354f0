import { afterAll, expect, it } from 'vitest';
import { Counters } from '../core/counters.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { chain, runPipeline } from '../core/pipeline.js';
import type { Emitter, Stage } from '../core/stage.js';
import type { IncidentOutput } from '../schemas/index.js';
import { seededRandom } from '../sinks/clickhouse/backoff.js';
import { createHttpClickHouse } from '../sinks/clickhouse/client.js';
import { ClickHouseSinkConfig } from '../sinks/clickhouse/config.js';
import { incidentVersion } from '../sinks/clickhouse/rows.js';
import { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { normalizeRows } from './clickhouse-fixtures.js';
import { clickhouseAsync, clickhouseClean, clickhouseUp } from './clickhouse-server.js';

/**
 * The Done-when test: the real server (Debian's 18.16) is stopped for 30 seconds while incidents stream into it
 * through the pipeline transport, then started again. After deduplication no row is missing and none is doubled.
 */
const SERVER = 'outage';
const DB = 'ns_outage';
const OUTAGE_MS = 30_000;
const OUTPUTS = 3000;
const INCIDENTS = 400;

afterAll(() => clickhouseClean(SERVER));

function outputs(): IncidentOutput[] {
  const rnd = seededRandom(5);
  const base = Date.UTC(2024, 2, 1);
  const updated = new Map<string, number>();
  const out: IncidentOutput[] = [];
  for (let i = 0; i < OUTPUTS; i++) {
    const id = `inc_${i % INCIDENTS}`;
    const prev = updated.get(id);
    // A quarter of the updates keep the previous updated_at: the version sequence must still order them.
    const u = prev === undefined ? base + (i % INCIDENTS) * 60_000 : rnd() < 0.25 ? prev : prev + 1000 + Math.floor(rnd() * 60_000);
    updated.set(id, u);
    const n = 1 + (i % 3);
    out.push({
      incident_id: id,
      opened_at: base + (i % INCIDENTS) * 60_000,
      updated_at: u,
      status: 'open',
      services: ['checkout', 'db'],
      counts: { events: i, alerts: 1, signals: 2 },
      root_causes: Array.from({ length: n }, (_, r) => ({ rank: r + 1, service: `svc${(i + r) % 7}`, kind: 'latency' as const, summary: `output ${i}`, confidence: 0.3 - r * 0.1, evidence: [] })),
      reasoner: 'ranker',
    });
  }
  return out;
}

/** What ClickHouse must hold: the last version per incident, and every (incident, version, rank) once. */
function expected(all: IncidentOutput[]) {
  const last = new Map<string, { updatedAt: number; seq: number; output: IncidentOutput }>();
  const rc = new Set<string>();
  for (const o of all) {
    const p = last.get(o.incident_id);
    const seq = p && p.updatedAt === o.updated_at ? p.seq + 1 : 0;
    last.set(o.incident_id, { updatedAt: o.updated_at, seq, output: o });
    for (const c of o.root_causes) rc.add(`${o.incident_id}|${incidentVersion(o.updated_at, seq)}|${c.rank}`);
  }
  return { latest: new Map([...last].map(([id, v]) => [id, { version: incidentVersion(v.updatedAt, v.seq), events: v.output.counts.events }])), rc };
}

class Identity<T> implements Stage<T, T> {
  readonly name = 'source';
  readonly counters = new Counters();
  process(x: T, out: Emitter<T>): void {
    out.emit(x);
  }
}

it(
  'a 30 s outage mid-stream loses no row and doubles none after deduplication',
  async () => {
    const url = clickhouseUp(SERVER);
    const admin = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
    await admin.command(`DROP DATABASE IF EXISTS ${DB}`);
    const deadLetters = new MemoryDeadLetters();
    const cfg = ClickHouseSinkConfig.parse({
      target: { kind: 'http', url },
      database: DB,
      writer: { batchRows: 100, batchDelayMs: 50, bufferRows: 400, backoffMinMs: 100, backoffMaxMs: 2000, retryForMs: 0, requestTimeoutMs: 5000 },
    });
    const store = await ClickHouseAnalytics.open(cfg, { log: silentLogger(), deadLetters });
    const all = outputs();
    const sink = store.incidentSink;
    const w = store.writers;

    let yielded = 0;
    const timeline: { outageStart?: number; outageEnd?: number; processedAtStop?: number; processedBeforeRestart?: number; yieldedBeforeRestart?: number } = {};
    let outage: Promise<void> = Promise.resolve();
    async function* source(): AsyncGenerator<IncidentOutput> {
      for (const o of all) {
        if (yielded === 1000) {
          // Mid-stream: stop the server, keep streaming into it, start it again 30 s later.
          await clickhouseAsync('down', SERVER);
          timeline.outageStart = Date.now();
          timeline.processedAtStop = w.incidents.counters.received;
          outage = (async () => {
            await new Promise((r) => setTimeout(r, OUTAGE_MS));
            timeline.processedBeforeRestart = w.incidents.counters.received;
            timeline.yieldedBeforeRestart = yielded;
            await clickhouseAsync('up', SERVER);
            timeline.outageEnd = Date.now();
          })();
        }
        yielded++;
        // A steady stream (about 1000 outputs/s), not one burst.
        if (yielded % 10 === 0) await new Promise((r) => setTimeout(r, 10));
        yield o;
      }
    }

    await runPipeline(source(), chain<IncidentOutput, IncidentOutput>(new Identity()).then(sink), { queueBatches: 4, batchSize: 16 });
    await outage;

    // The outage really happened, lasted 30 s, and the writer saw it.
    expect(timeline.outageEnd! - timeline.outageStart!).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect(w.incidents.stats.insertFailures).toBeGreaterThan(0);
    expect(w.incidents.stats.retries).toBeGreaterThan(0);
    // Backpressure: while ClickHouse was down, the sink took at most its buffer's worth and the source stalled.
    expect(timeline.processedBeforeRestart! - timeline.processedAtStop!).toBeLessThanOrEqual(cfg.writer.bufferRows);
    expect(timeline.yieldedBeforeRestart!).toBeLessThan(OUTPUTS);
    expect(w.incidents.stats.maxHeldRows).toBeLessThanOrEqual(cfg.writer.bufferRows);
    expect(w.root_causes.stats.maxHeldRows).toBeLessThanOrEqual(cfg.writer.bufferRows);

    expect(deadLetters.count).toBe(0);
    expect(sink.counters.snapshot()).toEqual({ received: OUTPUTS, sent: OUTPUTS, dropped: {} });
    expect(w.incidents.counters.sent).toBe(OUTPUTS);

    const want = expected(all);
    const q = async (sql: string) => normalizeRows(await admin.query<Record<string, unknown>>(sql));
    // Incidents: exactly one row per incident after deduplication, and it is the last version sent.
    const latest = await q(`SELECT incident_id, version, events FROM ${DB}.incidents FINAL ORDER BY incident_id`);
    expect(latest).toHaveLength(INCIDENTS);
    for (const r of latest) expect({ version: r.version, events: r.events }).toEqual(want.latest.get(String(r.incident_id)));
    const argmax = await q(`SELECT count() AS n, uniqExact(incident_id) AS u FROM (SELECT incident_id, max(version) AS v FROM ${DB}.incidents GROUP BY incident_id)`);
    expect(argmax).toEqual([{ n: INCIDENTS, u: INCIDENTS }]);
    // Root causes: every (incident, version, rank) is there, once after deduplication.
    const rc = await q(`SELECT incident_id, version, rank FROM ${DB}.root_causes FINAL`);
    const got = new Set(rc.map((r) => `${r.incident_id}|${r.version}|${r.rank}`));
    expect(rc).toHaveLength(want.rc.size);
    expect(got).toEqual(want.rc);
    const raw = await q(`SELECT count() AS n FROM ${DB}.root_causes`);
    // Raw rows may exceed the deduplicated count if an insert was applied but its response was lost (then retried).
    expect(Number(raw[0]!.n)).toBeGreaterThanOrEqual(want.rc.size);
    await admin.close();
  },
  240_000,
);
