import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { createChdbClickHouse, createHttpClickHouse } from '../sinks/clickhouse/client.js';
import { ClickHouseSinkConfig } from '../sinks/clickhouse/config.js';
import { ANALYST_QUERIES, analystQuery, analystSql } from '../sinks/clickhouse/queries.js';
import { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { analyticsFixture, feedFixture, normalizeRows, utcMonday, type AnalyticsFixture } from './clickhouse-fixtures.js';
import { clickhouseClean, clickhouseUp } from './clickhouse-server.js';

/**
 * The analyst queries on Debian's old server (18.16, HTTP) and on the modern engine (chdb, in-process) with the
 * same fixture, fed through the same stages: same answers, and answers that match a computation in JS.
 */
const DB = 'ns_queries';
const SERVER = 'queries';
let fx: AnalyticsFixture;
const stores: { old?: ClickHouseAnalytics; modern?: ClickHouseAnalytics } = {};
const deadLetters = new MemoryDeadLetters();
let chdbDir = '';

async function run(store: ClickHouseAnalytics, sql: string): Promise<Record<string, unknown>[]> {
  return normalizeRows(await store.client.query<Record<string, unknown>>(sql));
}

beforeAll(async () => {
  fx = analyticsFixture(42, 40);
  const url = clickhouseUp(SERVER);
  const deps = { log: silentLogger(), deadLetters };
  const cfg = (target: unknown) => ClickHouseSinkConfig.parse({ target, database: DB, writer: { batchRows: 200, batchDelayMs: 10 } });
  const http = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  await http.command(`DROP DATABASE IF EXISTS ${DB}`);
  stores.old = await ClickHouseAnalytics.open(cfg({ kind: 'http', url }), deps, http);
  chdbDir = mkdtempSync(join(tmpdir(), 'ns-chdb-q-'));
  const chdb = await createChdbClickHouse(chdbDir);
  stores.modern = await ClickHouseAnalytics.open(cfg({ kind: 'chdb', path: chdbDir }), deps, chdb);
  await feedFixture(stores.old, fx);
  await feedFixture(stores.modern, fx);
});

afterAll(async () => {
  await stores.old?.close();
  await stores.modern?.close();
  clickhouseClean(SERVER);
  if (chdbDir) rmSync(chdbDir, { recursive: true, force: true });
});

describe('analyst queries on both engines', () => {
  it('applied the gated migrations only on the modern engine', () => {
    expect(stores.old!.migration.server).toMatch(/^18\.16\./);
    expect(stores.old!.migration.skipped).toEqual([3, 4, 5]);
    expect(stores.modern!.migration.skipped).toEqual([]);
    expect(deadLetters.count).toBe(0);
  });

  it.each(ANALYST_QUERIES.map((q) => [q.name]))('%s gives the same, non-empty answer', async (name) => {
    const q = analystQuery(name)!;
    const old = await run(stores.old!, analystSql(q, DB));
    const modern = await run(stores.modern!, analystSql(q, DB));
    expect(old.length).toBeGreaterThan(0);
    expect(modern).toEqual(old);
    // The view gives the same rows (a view does not promise an order).
    const sorted = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();
    expect(sorted(await run(stores.old!, `SELECT * FROM ${DB}.${q.view}`))).toEqual(sorted(old));
    expect(sorted(await run(stores.modern!, `SELECT * FROM ${DB}.${q.view}`))).toEqual(sorted(old));
  });

  it('deploy/clickhouse/*.sql are the saved queries', () => {
    for (const q of ANALYST_QUERIES) {
      const file = readFileSync(new URL(`../deploy/clickhouse/${q.name}.sql`, import.meta.url), 'utf8');
      expect(file).toContain(analystSql(q, 'nightshift'));
    }
  });
});

/** The latest output per incident in stream order (what ClickHouse must hold after deduplication). */
function latestOutputs() {
  const m = new Map<string, AnalyticsFixture['outputs'][number]>();
  for (const o of fx.outputs) m.set(o.incident_id, o);
  return m;
}

describe('answers match the fixture', () => {
  it('incidents per service per week', async () => {
    const expected = new Map<string, number>();
    for (const o of latestOutputs().values()) for (const s of o.services) expected.set(`${utcMonday(o.opened_at)}|${s}`, (expected.get(`${utcMonday(o.opened_at)}|${s}`) ?? 0) + 1);
    const rows = await run(stores.modern!, analystSql(analystQuery('incidents_per_service_week')!, DB));
    expect(new Map(rows.map((r) => [`${r.week}|${r.service}`, r.incidents]))).toEqual(expected);
  });

  it('top root causes use the latest version, even when two versions share updated_at', async () => {
    const expected = new Map<string, number>();
    for (const o of latestOutputs().values()) {
      const top = o.root_causes.find((c) => c.rank === 1)!;
      expected.set(`${top.service}|${top.kind}`, (expected.get(`${top.service}|${top.kind}`) ?? 0) + 1);
    }
    const rows = await run(stores.old!, analystSql(analystQuery('top_root_causes')!, DB));
    expect(new Map(rows.map((r) => [`${r.service}|${r.kind}`, r.incidents]))).toEqual(expected);
    const latest = await run(stores.old!, `SELECT incident_id, argMax(status, version) AS s, argMax(top_confidence, version) AS c FROM ${DB}.incidents GROUP BY incident_id`);
    const want = latestOutputs();
    expect(latest).toHaveLength(want.size);
    for (const r of latest) {
      const o = want.get(String(r.incident_id))!;
      expect([r.s, r.c]).toEqual([o.status, o.root_causes.find((c) => c.rank === 1)!.confidence]);
    }
  });

  it('mean time to detect', async () => {
    const lastBundle = new Map<string, AnalyticsFixture['bundles'][number]>();
    for (const b of fx.bundles) lastBundle.set(b.incident_id, b);
    const byWeek = new Map<string, number[]>();
    for (const b of lastBundle.values()) {
      const first = Math.min(...Object.values(b.first_seen));
      const w = utcMonday(b.opened_at);
      byWeek.set(w, [...(byWeek.get(w) ?? []), b.opened_at - first]);
    }
    const rows = await run(stores.old!, analystSql(analystQuery('mean_time_to_detect')!, DB));
    expect(rows.map((r) => [r.week, r.incidents, r.mean_seconds])).toEqual(
      [...byWeek.entries()].sort().map(([w, xs]) => [w, xs.length, Math.floor(xs.reduce((a, b) => a + b, 0) / xs.length) / 1000]),
    );
  });

  it('noise reduction totals and LLM runs', async () => {
    const noise = await run(stores.modern!, analystSql(analystQuery('noise_reduction')!, DB));
    const sum = (k: string) => noise.reduce((a, r) => a + Number(r[k]), 0);
    expect(sum('records')).toBe(fx.events.length);
    expect(sum('alert_notifications')).toBe(fx.events.filter((e) => e.kind === 'alert').length);
    expect(sum('signal_count')).toBe(fx.signals.length);
    expect(sum('incidents')).toBe(latestOutputs().size);
    const llm = await run(stores.old!, analystSql(analystQuery('llm_cost_quality')!, DB));
    expect(llm.reduce((a, r) => a + Number(r.runs), 0)).toBe(fx.runs.length);
    const rejected = fx.runs.filter((r) => r.guard_result === 'rejected').length;
    expect(llm.reduce((a, r) => a + Number(r.hallucination_rate) * Number(r.runs), 0)).toBeCloseTo(rejected, 0);
  });

  it('new error templates: only warn/error/fatal templates that raised template_new', async () => {
    const rows = await run(stores.modern!, analystSql(analystQuery('new_error_templates')!, DB));
    const levels = new Map(fx.bundles.flatMap((b) => b.templates.map((t) => [t.id, t.level] as const)));
    const expectedIds = [...new Set(fx.signals.filter((s) => s.type === 'template_new').map((s) => s.ref))].filter((id) => ['warn', 'error', 'fatal'].includes(levels.get(id)!));
    expect(rows.map((r) => r.template_id).sort()).toEqual(expectedIds.sort());
    for (let i = 1; i < rows.length; i++) expect(Number(rows[i - 1]!.occurrences)).toBeGreaterThanOrEqual(Number(rows[i]!.occurrences));
  });
});
