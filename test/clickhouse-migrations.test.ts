import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import type { IncidentOutput } from '../schemas/index.js';
import { createChdbClickHouse, createHttpClickHouse, type ClickHouseLike } from '../sinks/clickhouse/client.js';
import { ClickHouseSinkConfig, WriterConfig } from '../sinks/clickhouse/config.js';
import { migrate } from '../sinks/clickhouse/migrate.js';
import { MIGRATIONS } from '../sinks/clickhouse/schema.js';
import { createAnalyticsSink } from '../sinks/clickhouse/analytics.js';
import { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { RowWriter } from '../sinks/clickhouse/writer.js';
import { normalizeRows } from './clickhouse-fixtures.js';
import { clickhouseClean, clickhouseUp } from './clickhouse-server.js';

/** Migrations and bad data against the real engines: Debian's clickhouse-server 18.16 over HTTP, and chdb. */
const SERVER = 'migrations';
let url = '';
let http: ClickHouseLike;
let chdb: ClickHouseLike;
let chdbDir = '';

beforeAll(async () => {
  url = clickhouseUp(SERVER);
  http = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  chdbDir = mkdtempSync(join(tmpdir(), 'ns-chdb-m-'));
  chdb = await createChdbClickHouse(chdbDir);
});

afterAll(async () => {
  await http?.close();
  await chdb?.close();
  clickhouseClean(SERVER);
  if (chdbDir) rmSync(chdbDir, { recursive: true, force: true });
});

const engines = () => [
  ['18.16 over HTTP', http],
  ['chdb', chdb],
] as const;

describe.each(['old', 'modern'] as const)('migrations (%s engine)', (which) => {
  const ch = () => (which === 'old' ? http : chdb);
  const db = `ns_mig_${which}`;

  it('apply once, then a second run applies nothing and changes nothing', async () => {
    await ch().command(`DROP DATABASE IF EXISTS ${db}`);
    const first = await migrate(ch(), db);
    expect(first.alreadyApplied).toEqual([]);
    if (which === 'old') {
      expect(first.applied).toEqual([1, 2, 6, 7, 8]);
      expect(first.skipped).toEqual([3, 4, 5]);
    } else expect(first.applied).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const columns = async () => normalizeRows(await ch().query(`SELECT table, name, type FROM system.columns WHERE database = '${db}' ORDER BY table, name`));
    const before = await columns();
    const second = await migrate(ch(), db);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
    expect(await columns()).toEqual(before);
    const recorded = normalizeRows(await ch().query(`SELECT version, count() AS n FROM ${db}.schema_migrations FINAL GROUP BY version ORDER BY version`));
    expect(recorded).toEqual(first.applied.map((v) => ({ version: v, n: 1 })));
    // Gated improvements are where the engine supports them, and absent where it does not.
    const reasoner = before.find((c) => c.table === 'incidents' && c.name === 'reasoner');
    expect(reasoner?.type).toBe(which === 'old' ? 'String' : 'LowCardinality(String)');
    // Migration 7: a table of its own for the readable details (no column added to an existing table).
    expect(before.filter((c) => c.table === 'incident_details').map((c) => c.name)).toEqual(['edges', 'evidence', 'incident_id', 'severity', 'title', 'updated_at', 'version']);
  });

  it('re-running every statement (a start interrupted before its record) is safe', async () => {
    await ch().command(`DROP TABLE IF EXISTS ${db}.schema_migrations`);
    const again = await migrate(ch(), db);
    expect(again.applied).toEqual(which === 'old' ? [1, 2, 6, 7, 8] : [1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await migrate(ch(), db)).applied).toEqual([]);
  });

  it('refuses a migration whose text changed after it was applied', async () => {
    const edited = MIGRATIONS.map((m) => (m.version === 1 ? { ...m, statements: [...m.statements, `SELECT 1`] } : m));
    await expect(migrate(ch(), db, edited)).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH', message: expect.stringMatching(/never edit an applied migration/) });
  });
});

function output(id: string, over: Partial<IncidentOutput> = {}): IncidentOutput {
  return {
    incident_id: id,
    opened_at: 1_700_000_000_000,
    updated_at: 1_700_000_060_000,
    status: 'open',
    services: ['checkout'],
    counts: { events: 10, alerts: 2, signals: 3 },
    root_causes: [{ rank: 1, service: 'db', kind: 'saturation', summary: 'pool exhausted', confidence: 0.7, evidence: ['sig_1'] }],
    reasoner: 'ranker',
    ...over,
  };
}

describe('bad rows go to the dead-letter output', () => {
  it.each([['old'], ['modern']] as const)('%s engine: the incident sink inserts good outputs and dead-letters bad ones with the row and error', async (which) => {
    const ch = which === 'old' ? http : chdb;
    const db = `ns_bad_${which}`;
    await ch.command(`DROP DATABASE IF EXISTS ${db}`);
    const deadLetters = new MemoryDeadLetters();
    const cfg = ClickHouseSinkConfig.parse({ target: { kind: 'http', url: 'http://127.0.0.1:1' }, database: db, writer: { batchRows: 50, batchDelayMs: 5 } });
    const store = await ClickHouseAnalytics.open(cfg, { log: silentLogger(), deadLetters }, ch === http ? wrapNoClose(http) : wrapNoClose(chdb));
    const outputs: IncidentOutput[] = [];
    for (let i = 0; i < 20; i++) outputs.push(output(`inc_${i}`));
    // Outputs that passed validation upstream only by a cast: ClickHouse rejects the enum values.
    outputs[4] = output('inc_4', { status: 'exploded' as IncidentOutput['status'] });
    outputs[13] = output('inc_13', {
      root_causes: [
        { rank: 1, service: 'db', kind: 'latency', summary: 's', confidence: 0.5, evidence: [] },
        { rank: 2, service: 'db', kind: 'cosmic_rays' as 'latency', summary: 's', confidence: 0.2, evidence: [] },
      ],
    });
    for (const o of outputs) await store.incidentSink.process(o, { emit: () => undefined });
    await store.close();
    const ids = normalizeRows(await ch.query(`SELECT incident_id FROM ${db}.incidents FINAL ORDER BY incident_id`)).map((r) => r.incident_id);
    expect(ids).toHaveLength(19);
    expect(ids).not.toContain('inc_4');
    const rc = normalizeRows(await ch.query(`SELECT incident_id, rank FROM ${db}.root_causes FINAL`)).map((r) => `${r.incident_id}#${r.rank}`);
    // 20 outputs with one cause each, plus inc_13's second cause, which is the bad one.
    expect(rc).toHaveLength(20);
    expect(rc).toContain('inc_13#1');
    expect(rc).not.toContain('inc_13#2');
    expect(deadLetters.count).toBe(2);
    const byKey = new Map(deadLetters.items.map((d) => [d.key, d]));
    expect(byKey.get('inc_4')).toMatchObject({ code: 'SCHEMA_MISMATCH', stage: 'clickhouse.incidents', topic: `clickhouse:${db}.incidents` });
    expect(JSON.parse(byKey.get('inc_4')!.payload)).toMatchObject({ incident_id: 'inc_4', status: 'exploded' });
    expect(byKey.get('inc_4')!.error).toMatch(/exploded/);
    expect(byKey.get('inc_13')).toMatchObject({ code: 'SCHEMA_MISMATCH', stage: 'clickhouse.root_causes' });
    expect(byKey.get('inc_13')!.error).toMatch(/cosmic_rays/);
    expect(store.incidentSink.counters.snapshot()).toEqual({ received: 0, sent: 18, dropped: { 'dead_letter:SCHEMA_MISMATCH': 2 } });
  });

  it('a malformed value (text in an Int64 column) is bad data too, on the old server', async () => {
    const db = 'ns_bad_int';
    await http.command(`DROP DATABASE IF EXISTS ${db}`);
    await migrate(http, db);
    const deadLetters = new MemoryDeadLetters();
    const w = new RowWriter('clickhouse.log_templates', `${db}.log_templates`, http, WriterConfig.parse({ batchRows: 10 }), { log: silentLogger(), deadLetters });
    const good = (i: number) => ({ template_id: `t${i}`, service: 's', template: 'x <*>', level: 'error', count: i, first_seen: 1, version: i });
    for (let i = 0; i < 6; i++) await w.write(i === 2 ? { ...good(i), count: 'many' } : good(i), { key: `t${i}` });
    await w.flush();
    expect(normalizeRows(await http.query(`SELECT count() AS n FROM ${db}.log_templates`))).toEqual([{ n: 5 }]);
    expect(deadLetters.items.map((d) => [d.key, d.code])).toEqual([['t2', 'SCHEMA_MISMATCH']]);
    expect(deadLetters.items[0]!.error).toMatch(/ClickHouse code \d+/);
  });

  it('an unknown table is a configuration error: the writer fails loudly instead of retrying forever', async () => {
    const deadLetters = new MemoryDeadLetters();
    const w = new RowWriter('clickhouse.nope', 'ns_no_such_db.nope', http, WriterConfig.parse({ batchRows: 10 }), { log: silentLogger(), deadLetters });
    await w.write({ a: 1 });
    await expect(w.flush()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(deadLetters.items.map((d) => d.code)).toEqual(['CONFIG_INVALID']);
  });
});

/** The store closes its client; these tests share one client per engine across cases. */
function wrapNoClose(ch: ClickHouseLike): ClickHouseLike {
  return {
    engine: ch.engine,
    insertJsonRows: (t, r) => ch.insertJsonRows(t, r),
    command: (s) => ch.command(s),
    query: (s) => ch.query(s),
    close: async () => undefined,
  };
}

it('both engines answer', async () => {
  for (const [, ch] of engines()) expect((await ch.query<{ one: number }>('SELECT 1 AS one')).length).toBe(1);
});

it('NIGHTSHIFT_CLICKHOUSE_URL and NIGHTSHIFT_CLICKHOUSE_DATABASE switch the sink to the server', async () => {
  await http.command('DROP DATABASE IF EXISTS ns_env');
  const a = await createAnalyticsSink({ NIGHTSHIFT_CLICKHOUSE_URL: url, NIGHTSHIFT_CLICKHOUSE_DATABASE: 'ns_env' }, { log: silentLogger(), deadLetters: new MemoryDeadLetters() });
  expect(a.kind).toBe('clickhouse');
  expect(a.description).toBe(`ClickHouse 18.16.1 at ${url} (database ns_env)`);
  await a.incidentSink.process(output('env_1'), { emit: () => undefined });
  await a.close();
  expect(normalizeRows(await http.query('SELECT incident_id FROM ns_env.incidents'))).toEqual([{ incident_id: 'env_1' }]);
});
