import { describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import type { IncidentOutput } from '../schemas/index.js';
import { analyticsChoiceFromEnv, clickhouseConfigFromEnv, ClickHouseSinkConfig, DEFAULT_CHDB_PATH, WriterConfig } from '../sinks/clickhouse/config.js';
import { LruMap } from '../core/lru.js';
import { incidentVersion } from '../sinks/clickhouse/rows.js';
import { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { PipelineStatsRecorder } from '../sinks/clickhouse/stats.js';
import { RowWriter } from '../sinks/clickhouse/writer.js';
import { FakeClickHouse, gate } from './clickhouse-fake.js';

describe('configuration from the environment', () => {
  it('is off without NIGHTSHIFT_CLICKHOUSE_URL, on with it, database defaulting to nightshift', () => {
    expect(clickhouseConfigFromEnv({})).toBeNull();
    const c = clickhouseConfigFromEnv({ NIGHTSHIFT_CLICKHOUSE_URL: 'http://127.0.0.1:8123' })!;
    expect(c.target).toEqual({ kind: 'http', url: 'http://127.0.0.1:8123', username: 'default', password: '' });
    expect(c.database).toBe('nightshift');
    expect(clickhouseConfigFromEnv({ NIGHTSHIFT_CLICKHOUSE_URL: 'http://h:8123', NIGHTSHIFT_CLICKHOUSE_DATABASE: 'aiops', NIGHTSHIFT_CLICKHOUSE_USER: 'u' })).toMatchObject({
      database: 'aiops',
      target: { username: 'u' },
    });
  });

  it('rejects a bad URL or database name with CONFIG_INVALID naming the field', () => {
    expect(() => clickhouseConfigFromEnv({ NIGHTSHIFT_CLICKHOUSE_URL: 'ftp://x' })).toThrow(/target\.url/);
    expect(() => clickhouseConfigFromEnv({ NIGHTSHIFT_CLICKHOUSE_URL: 'http://x:1', NIGHTSHIFT_CLICKHOUSE_DATABASE: 'a; DROP' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/database/) }),
    );
  });

  it('chooses the server, else chdb at the default path, else nothing when switched off', () => {
    expect(analyticsChoiceFromEnv({ NIGHTSHIFT_CLICKHOUSE_URL: 'http://h:1' }).kind).toBe('clickhouse');
    const d = analyticsChoiceFromEnv({});
    expect(d.kind === 'chdb' && d.config.target).toEqual({ kind: 'chdb', path: DEFAULT_CHDB_PATH });
    expect(analyticsChoiceFromEnv({ NIGHTSHIFT_CHDB_PATH: '/x/y' })).toMatchObject({ config: { target: { path: '/x/y' } } });
    expect(analyticsChoiceFromEnv({ NIGHTSHIFT_ANALYTICS: 'off' }).kind).toBe('none');
  });
});

describe('bounded memory', () => {
  it('LruMap keeps at most capacity entries, evicting the least recently used', () => {
    const m = new LruMap<string, number>(3);
    for (const k of ['a', 'b', 'c']) m.set(k, 1);
    m.get('a');
    m.set('d', 1);
    expect([m.has('a'), m.has('b'), m.has('c'), m.has('d')]).toEqual([true, false, true, true]);
    for (let i = 0; i < 100; i++) m.set(`k${i}`, i);
    expect(m.size).toBe(3);
    expect(m.evictions).toBe(101);
  });

  it('pipeline stats keep at most maxMinutes minutes open; closed minutes are not rewritten from zero', async () => {
    const ch = new FakeClickHouse();
    const w = new RowWriter('clickhouse.pipeline_stats', 'db.pipeline_stats', ch, WriterConfig.parse({ batchRows: 1000 }), { log: silentLogger(), deadLetters: new MemoryDeadLetters() });
    const rec = new PipelineStatsRecorder('p', w, 5);
    for (let m = 0; m < 20; m++) {
      if (rec.countRecord(m * 60_000 + 1, m % 2 === 0)) await rec.writeDirty();
      expect(rec.openMinutes).toBeLessThanOrEqual(6);
    }
    rec.countSignal(0); // minute 0 was closed long ago
    expect(rec.counters.snapshot().dropped).toEqual({ stats_minute_closed: 1 });
    // Out-of-order events opening old minutes also trigger a write at the bound.
    await rec.writeDirty();
    await w.flush();
    const rows = ch.rows('db.pipeline_stats').map((r) => JSON.parse(r) as { minute_ms: number; version: number; records_in: number });
    const latest = new Map<number, { version: number; records_in: number }>();
    for (const r of rows) if ((latest.get(r.minute_ms)?.version ?? -1) < r.version) latest.set(r.minute_ms, r);
    expect(latest.size).toBe(20);
    for (const r of latest.values()) expect(r.records_in).toBe(1);
    // Versions grow with event time, so a later run's rows replace an earlier run's.
    const versions = rows.map((r) => r.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });
});

function output(id: string, updatedAt: number, events: number): IncidentOutput {
  return {
    incident_id: id,
    opened_at: 1000,
    updated_at: updatedAt,
    status: 'open',
    services: ['a'],
    counts: { events, alerts: 0, signals: 0 },
    root_causes: [{ rank: 1, service: 'a', kind: 'errors', summary: 's', confidence: 0.5, evidence: [] }],
    reasoner: 'ranker',
  };
}

async function store(ch: FakeClickHouse, writer: Partial<WriterConfig> = {}) {
  const cfg = ClickHouseSinkConfig.parse({ target: { kind: 'chdb', path: '/unused' }, writer: { batchRows: 100, batchDelayMs: 60_000, ...writer } });
  return ClickHouseAnalytics.open(cfg, { log: silentLogger(), deadLetters: new MemoryDeadLetters() }, ch);
}

describe('incident sink', () => {
  it('versions outputs so that a later one wins, also with an equal updated_at', async () => {
    const ch = new FakeClickHouse();
    const s = await store(ch);
    for (const [u, e] of [
      [5000, 1],
      [5000, 2],
      [5000, 3],
      [7000, 4],
      [7000, 5],
    ] as const) {
      await s.incidentSink.process(output('i1', u, e));
    }
    await s.incidentSink.flush();
    const rows = ch.rows('nightshift.incidents').map((r) => JSON.parse(r) as { version: number; events: number });
    expect(rows.map((r) => r.version)).toEqual([incidentVersion(5000, 0), incidentVersion(5000, 1), incidentVersion(5000, 2), incidentVersion(7000, 0), incidentVersion(7000, 1)]);
    expect(rows.map((r) => r.version)).toEqual([...rows.map((r) => r.version)].sort((a, b) => a - b));
    const rc = ch.rows('nightshift.root_causes').map((r) => JSON.parse(r) as { version: number });
    expect(rc.map((r) => r.version)).toEqual(rows.map((r) => r.version));
  });

  it('ack batch: process returns once buffered; the token tells when the rows are durable', async () => {
    const ch = new FakeClickHouse();
    const s = await store(ch);
    const g = gate();
    ch.gate = g.promise;
    await s.incidentSink.process(output('i1', 1, 1));
    const token = s.incidentSink.lastToken;
    expect(s.incidentSink.isAcked(token)).toBe(false);
    const acked = s.incidentSink.whenAcked(token);
    void s.incidentSink.flush();
    g.open();
    await acked;
    expect(s.incidentSink.isAcked(token)).toBe(true);
    expect(s.incidentSink.counters.sent).toBe(1);
  });

  it('ack each: process returns only after ClickHouse acknowledged the rows', async () => {
    const ch = new FakeClickHouse();
    const s = await store(ch, { ack: 'each' });
    const g = gate();
    ch.gate = g.promise;
    let done = false;
    const p = s.incidentSink.process(output('i1', 1, 1)).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    g.open();
    await p;
    expect(ch.rows('nightshift.incidents')).toHaveLength(1);
    expect(ch.rows('nightshift.root_causes')).toHaveLength(1);
    expect(ch.rows('nightshift.incident_details')).toHaveLength(1);
  });

  it('writes one incident_details row per version: title, severity, evidence JSON and the bundle tap\'s call edges', async () => {
    const ch = new FakeClickHouse();
    const s = await store(ch);
    const edges = [{ caller: 'a', callee: 'db', side: 'server' as const, observed_ms: 1292, baseline_ms: 44, error_ratio: 0.2, baseline_error_ratio: 0.01 }];
    const bundle = {
      incident_id: 'i1', opened_at: 1000, updated_at: 5000, status: 'open' as const, services: ['a', 'db'], counts: { events: 1, alerts: 0, signals: 0 },
      signals: [], templates: [], series: [], changes: [], edges: [['a', 'db'] as [string, string]], first_seen: {}, truncated: { signals: 0, templates: 0 },
      details: { edges },
    };
    await s.bundleTap.process(bundle, { emit: () => undefined });
    const evidence = [{ type: 'log_template' as const, id: 'tpl_1', service: 'a', text: 'Connection refused', level: 'error', count: 815, first_seen: 900, before: 3, during: 812, since: 1000 }];
    await s.incidentSink.process({ ...output('i1', 5000, 1), title: 'errors in a (2 services)', severity: 'high', evidence });
    await s.incidentSink.process(output('i0', 5000, 1)); // a 0.2 output: no title, severity or evidence
    await s.incidentSink.flush();
    const rows = ch.rows('nightshift.incident_details').map((r) => JSON.parse(r) as Record<string, unknown>);
    const inc = ch.rows('nightshift.incidents').map((r) => JSON.parse(r) as { version: number });
    expect(rows.map((r) => r.version)).toEqual(inc.map((r) => r.version));
    expect(rows[0]).toMatchObject({ incident_id: 'i1', updated_at: 5000, title: 'errors in a (2 services)', severity: 'high' });
    expect(JSON.parse(rows[0]!.evidence as string)).toEqual(evidence);
    expect(JSON.parse(rows[0]!.edges as string)).toEqual(edges);
    expect(rows[1]).toMatchObject({ incident_id: 'i0', title: 'errors in a', severity: 'low', evidence: '[]', edges: '[]' });
  });
});
