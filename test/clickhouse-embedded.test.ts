import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { BundleMeter } from '../pipeline/build.js';
import { defaultConfig } from '../pipeline/config.js';
import { Counters } from '../core/counters.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { chain, runPipeline } from '../core/pipeline.js';
import type { RawRecord } from '../core/raw.js';
import { replayRecords } from '../core/replay.js';
import type { Emitter, Stage } from '../core/stage.js';
import { IngestStage } from '../ingest/stage.js';
import { loadTopologyFile } from '../ingest/topology.js';
import { createPerception } from '../perception/stage.js';
import { ReasoningStage } from '../reasoning/stage.js';
import type { Event, IncidentOutput } from '../schemas/index.js';
import { createAnalyticsSink, querySavedAnalytics } from '../sinks/clickhouse/analytics.js';
import { createChdbClickHouse } from '../sinks/clickhouse/client.js';
import { ClickHouseSinkConfig } from '../sinks/clickhouse/config.js';
import { NdjsonTableStore } from '../sinks/clickhouse/ndjson-store.js';
import { ANALYST_QUERIES, analystSql } from '../sinks/clickhouse/queries.js';
import { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { analyticsFixture, feedFixture, normalizeRows } from './clickhouse-fixtures.js';

/**
 * The embedded default: no server configured, so the analytics go to chdb; wired into the real pipeline the way
 * pipeline/build.ts should wire it (event tap after ingest, signal observer in perception, bundle tap before reasoning,
 * incident sink last). Plus the NDJSON fallback and the "off" switch.
 */
let dir = '';
let replay = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ns-ch-embedded-'));
  replay = join(dir, 'world.ndjson');
  const io = { stdout: new PassThrough(), stderr: new PassThrough(), tty: false };
  expect(await main(['simulate', '--out', replay, '--seed', '3', '--services', '12', '--hours', '3', '--faults', '2', '--quiet'], io)).toBe(0);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

class Tee<T> implements Stage<T, T> {
  readonly name = 'tee';
  readonly counters = new Counters();
  readonly items: T[] = [];
  process(x: T, out: Emitter<T>): void {
    this.items.push(x);
    out.emit(x);
  }
}

describe('embedded default: chdb', () => {
  it('stores a replay in chdb through the pipeline, and the tables agree with the pipeline counts', async () => {
    const chdbPath = join(dir, 'chdb');
    const deadLetters = new MemoryDeadLetters();
    const deps = { log: silentLogger(), deadLetters };
    const analytics = await createAnalyticsSink({ NIGHTSHIFT_CHDB_PATH: chdbPath }, deps);
    expect(analytics.kind).toBe('chdb');
    expect(analytics.description).toMatch(/^chdb \d+\.\d+.* at .*chdb \(database nightshift\)$/);

    const cfg = defaultConfig();
    const topology = await loadTopologyFile(join(dir, 'world.topology.json'));
    const ingest = new IngestStage(cfg.ingest, deps);
    const perception = createPerception(cfg.perception, deps, topology, analytics.onSignal);
    const meter = new BundleMeter();
    const reasoning = new ReasoningStage(cfg.reasoning);
    const tee = new Tee<IncidentOutput>();
    const c = chain<RawRecord, Event>(ingest)
      .then(analytics.eventTap)
      .then(perception)
      .then(meter)
      .then(analytics.bundleTap)
      .then(reasoning)
      .then(tee)
      .then(analytics.incidentSink);
    await runPipeline(replayRecords(replay, { maxLineBytes: cfg.pipeline.maxLineBytes, deadLetters }), c, { queueBatches: 8, batchSize: 256 });

    const ch = await createChdbClickHouse(chdbPath);
    try {
      const q = async (sql: string) => normalizeRows(await ch.query<Record<string, unknown>>(sql));
      const ids = new Set(tee.items.map((o) => o.incident_id));
      expect(ids.size).toBeGreaterThan(0);
      const latest = new Map(tee.items.map((o) => [o.incident_id, o]));
      const rows = await q(`SELECT incident_id, status, events FROM nightshift.incidents FINAL ORDER BY incident_id`);
      expect(rows).toHaveLength(ids.size);
      for (const r of rows) expect([r.status, r.events]).toEqual([latest.get(String(r.incident_id))!.status, latest.get(String(r.incident_id))!.counts.events]);
      const p = perception.stats();
      const [totals] = await q(
        `SELECT sum(records_in) AS records, sum(alerts_in) AS alerts, sum(signals) AS signals, sum(incidents_opened) AS opened, sum(bundles) AS bundles FROM nightshift.pipeline_stats FINAL`,
      );
      expect(totals).toEqual({ records: ingest.counters.sent, alerts: p.events.alert, signals: p.signals, opened: meter.incidents.size, bundles: meter.counters.received });
      const mttd = await q(`SELECT count() AS n FROM nightshift.incidents FINAL WHERE isNull(first_signal_at)`);
      expect(mttd).toEqual([{ n: 0 }]);
      for (const aq of ANALYST_QUERIES) await q(analystSql(aq, 'nightshift'));
      expect(deadLetters.byCode()).not.toHaveProperty('SCHEMA_MISMATCH');
    } finally {
      await ch.close();
    }
    // The saved queries through the environment's store, as a `nightshift query` command would run them.
    const top = await querySavedAnalytics({ NIGHTSHIFT_CHDB_PATH: chdbPath }, 'top_root_causes');
    const lastOf = new Map(tee.items.map((o) => [o.incident_id, o]));
    expect(top.reduce((a, r) => a + Number(r.incidents), 0)).toBe([...lastOf.values()].filter((o) => o.root_causes.some((c) => c.rank === 1)).length);
    await expect(querySavedAnalytics({ NIGHTSHIFT_CHDB_PATH: chdbPath }, 'nope')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  }, 180_000);
});

describe('fallbacks', () => {
  it('NIGHTSHIFT_ANALYTICS=off gives pass-through stages that store nothing', async () => {
    const a = await createAnalyticsSink({ NIGHTSHIFT_ANALYTICS: 'off' }, { log: silentLogger(), deadLetters: new MemoryDeadLetters() });
    expect(a.kind).toBe('none');
    const seen: unknown[] = [];
    a.eventTap.process({ kind: 'log', id: 'e', ts: 1, service: 's', level: 'info', message: 'm' }, { emit: (x) => seen.push(x) });
    expect(seen).toHaveLength(1);
    await a.close();
  });

  it('the NDJSON store writes the same rows the tables would get, one file per table', async () => {
    const out = join(dir, 'ndjson');
    const cfg = ClickHouseSinkConfig.parse({ target: { kind: 'chdb', path: out }, writer: { batchRows: 100 } });
    const deadLetters = new MemoryDeadLetters();
    const store = await ClickHouseAnalytics.open(cfg, { log: silentLogger(), deadLetters }, new NdjsonTableStore(out));
    const fx = analyticsFixture(7, 10);
    await feedFixture(store, fx);
    await store.close();
    const lines = (t: string) => (existsSync(join(out, `${t}.ndjson`)) ? readFileSync(join(out, `${t}.ndjson`), 'utf8').trim().split('\n') : []);
    expect(lines('incidents')).toHaveLength(fx.outputs.length);
    expect(lines('root_causes')).toHaveLength(fx.outputs.reduce((a, o) => a + o.root_causes.length, 0));
    expect(lines('reasoning_runs')).toHaveLength(fx.runs.length);
    expect(lines('incident_details')).toHaveLength(fx.outputs.length);
    expect(JSON.parse(lines('incident_details')[0]!)).toMatchObject({ incident_id: fx.outputs[0]!.incident_id, severity: expect.any(String), evidence: expect.any(String) });
    expect(JSON.parse(lines('incidents')[0]!)).toHaveProperty('version');
    expect(deadLetters.count).toBe(0);
  });
});
