import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { METRIC } from '../core/metrics.js';
import { createChdbClickHouse } from '../sinks/clickhouse/client.js';
import { ClickHouseSinkConfig } from '../sinks/clickhouse/config.js';
import { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { analyticsFixture, feedFixture, FIXTURE_START, normalizeRows } from './clickhouse-fixtures.js';

/**
 * The Grafana dashboards in deploy/grafana: the Prometheus one may only query metrics the pipeline exports
 * (core/metrics.ts METRIC), and every query of the ClickHouse one must run on the real schema (chdb, migrated by the
 * sink itself) and answer on the shared analytics fixture.
 */
const DIR = join(import.meta.dirname, '..', 'deploy', 'grafana');

interface Target {
  readonly refId: string;
  readonly expr?: string;
  readonly rawSql?: string;
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: ReadonlyArray<{ readonly name: string; readonly type: string; readonly query: unknown }> };
}

function load(file: string): Dashboard {
  return JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Dashboard;
}

function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

function queryPanels(d: Dashboard): Panel[] {
  return allPanels(d).filter((p) => p.type !== 'row');
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;
const EXPORTED = new Set<string>(Object.values(METRIC));

/** Metric families a PromQL expression reads; a histogram's _bucket/_sum/_count series map to their family. */
export function metricFamilies(expr: string): string[] {
  const out = new Set<string>();
  // Every identifier that starts with the project's prefix; label names and values never do.
  for (const m of expr.matchAll(/\bnightshift_[a-zA-Z0-9_:]*/g)) {
    let name = m[0];
    if (!EXPORTED.has(name)) {
      const suffix = HISTOGRAM_SUFFIXES.find((s) => name.endsWith(s));
      if (suffix) name = name.slice(0, -suffix.length);
    }
    out.add(name);
  }
  return [...out];
}

describe('dashboards: common shape', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

  it('ships the pipeline (Prometheus) and the analytics (ClickHouse) dashboards', () => {
    expect(files).toEqual(['nightshift-analytics-clickhouse.json', 'nightshift-pipeline.json']);
  });

  it.each(files.map((f) => [f]))('%s: unique panel ids, a datasource variable on every query, panels inside a 24-column grid', (file) => {
    const d = load(file);
    expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const panels = allPanels(d);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of queryPanels(d)) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    }
    expect(d.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
  });
});

describe('pipeline dashboard (Prometheus)', () => {
  const d = load('nightshift-pipeline.json');
  const exprs = queryPanels(d).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));
  const used = new Set(exprs.flatMap((e) => metricFamilies(e.expr)));

  it('every metric a panel queries is one the pipeline exports (core/metrics.ts METRIC)', () => {
    expect(exprs.length).toBeGreaterThan(10);
    const unknown = exprs.flatMap((e) => metricFamilies(e.expr).filter((m) => !EXPORTED.has(m)).map((m) => `${e.panel}: ${m}`));
    expect(unknown).toEqual([]);
    for (const e of exprs) expect(metricFamilies(e.expr).length, `${e.panel} queries no nightshift metric`).toBeGreaterThan(0);
  });

  it('covers lag, throughput, noise reduction, incidents, LLM latency and cost', () => {
    for (const m of [METRIC.consumerLag, METRIC.received, METRIC.sent, METRIC.alertsIn, METRIC.incidentsOpened, METRIC.incidentsOpen, METRIC.llmLatency, METRIC.llmCost]) {
      expect(used, m).toContain(m);
    }
  });

  it('reads histograms through their _bucket series only with histogram_quantile, and counters only through rate/increase', () => {
    for (const { panel, expr } of exprs) {
      if (/_bucket\b/.test(expr)) expect(expr, panel).toMatch(/histogram_quantile\(/);
      for (const m of expr.matchAll(/\b(nightshift_[a-z0-9_]+_total)\b/g)) {
        // A raw counter value depends on process restarts; only its rate or increase means anything.
        const before = expr.slice(0, m.index);
        expect(before, `${panel}: ${m[1]} outside rate()/increase()`).toMatch(/(rate|increase)\($/);
      }
    }
  });

  it('the metric-name check itself rejects a name the pipeline does not export', () => {
    expect(metricFamilies('sum(rate(nightshift_records_receved_total[5m]))').filter((m) => !EXPORTED.has(m))).toEqual(['nightshift_records_receved_total']);
    expect(metricFamilies('histogram_quantile(0.9, rate(nightshift_llm_latency_seconds_bucket[5m]))')).toEqual([METRIC.llmLatency]);
  });
});

describe('analytics dashboard (ClickHouse) on the real schema', () => {
  const d = load('nightshift-analytics-clickhouse.json');
  const DB = 'ns_dash';
  let chdbDir = '';
  let store: ClickHouseAnalytics | undefined;

  // The grafana-clickhouse-datasource macros, expanded as the plugin does, over a range that holds the whole fixture.
  const FROM_S = Math.floor(FIXTURE_START / 1000) - 86_400;
  const TO_S = FROM_S + 60 * 86_400;
  function expand(sql: string): string {
    const out = sql
      .replaceAll('${database}', DB)
      .replace(/\$__timeFilter\(([a-z_]+)\)/g, `$1 >= toDateTime(${FROM_S}) AND $1 <= toDateTime(${TO_S})`)
      .replace(/\$__timeInterval\(([a-z_]+)\)/g, 'toStartOfInterval(toDateTime($1), INTERVAL 3600 second)');
    if (/\$__|\$\{/.test(out)) throw new Error(`unexpanded macro or variable in: ${out}`);
    return out;
  }

  beforeAll(async () => {
    chdbDir = mkdtempSync(join(tmpdir(), 'ns-dash-'));
    const deps = { log: silentLogger(), deadLetters: new MemoryDeadLetters() };
    const cfg = ClickHouseSinkConfig.parse({ target: { kind: 'chdb', path: chdbDir }, database: DB, writer: { batchRows: 500, batchDelayMs: 10 } });
    store = await ClickHouseAnalytics.open(cfg, deps, await createChdbClickHouse(chdbDir));
    await feedFixture(store, analyticsFixture(7, 30));
  });

  afterAll(async () => {
    await store?.close();
    if (chdbDir) rmSync(chdbDir, { recursive: true, force: true });
  });

  const sqlPanels = queryPanels(d).flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, type: p.type, sql: t.rawSql ?? '' })));

  it('reads only the tables and views the ClickHouse sink creates', () => {
    const tables = new Set(sqlPanels.flatMap((p) => [...p.sql.matchAll(/\$\{database\}\.([a-z_]+)/g)].map((m) => m[1])));
    expect([...tables].sort()).toEqual(['incidents', 'pipeline_stats', 'reasoning_runs', 'root_causes', 'signals', 'v_new_error_templates', 'v_value_by_service', 'v_value_by_team']);
  });

  it.each(sqlPanels.map((p) => [p.title, p]))('%s: runs and answers', async (_title, p) => {
    const rows = normalizeRows(await store!.client.query<Record<string, unknown>>(expand(p.sql)));
    expect(rows.length).toBeGreaterThan(0);
    if (p.type === 'timeseries') {
      // The plugin needs a time column: the first column of a time series query is the interval start.
      const first = Object.keys(rows[0]!)[0]!;
      expect(String(rows[0]![first])).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    }
  });

  it('the incident count matches the fixture, each incident counted once across its versions', async () => {
    const p = sqlPanels.find((x) => x.title === 'Incidents')!;
    const rows = normalizeRows(await store!.client.query<Record<string, unknown>>(expand(p.sql)));
    expect(rows[0]!.incidents).toBe(30);
  });

  it('a typo in a table name fails, so the check above is not vacuous', async () => {
    await expect(store!.client.query(expand('SELECT count() FROM ${database}.incident'))).rejects.toThrow();
  });
});
