import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain, runPipeline } from '../core/pipeline.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import type { IncidentBundle, IncidentOutput, RootCause } from '../schemas/index.js';
import { createChdbClickHouse, createHttpClickHouse } from '../sinks/clickhouse/client.js';
import { ClickHouseSinkConfig } from '../sinks/clickhouse/config.js';
import { analystQuery, analystSql } from '../sinks/clickhouse/queries.js';
import { MIGRATIONS } from '../sinks/clickhouse/schema.js';
import { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { DEFAULT_VALUE_MODEL, valueReport, type ServiceValueRow, type TeamValueRow } from '../sinks/clickhouse/value.js';
import { createTicketingSink, parseTicketingConfig } from '../sinks/ticketing/index.js';
import { normalizeRows } from './clickhouse-fixtures.js';
import { capture } from './helpers/cli.js';
import { main } from '../cli/main.js';
import { valueCommand } from '../cli/value.js';
import { replayCommand } from '../cli/replay.js';
import { simulateCommand } from '../cli/simulate.js';
import { readFileSync } from 'node:fs';
import { clickhouseClean, clickhouseUp } from './clickhouse-server.js';
import { FAST_HTTP, JIRA_EMAIL, JIRA_TOKEN } from './fakes/all.js';
import { FakeJira } from './fakes/jira.js';
import { lifecycle } from './fakes/incidents.js';

/**
 * Value accounting on a small world whose every figure is known by hand: five incidents, tickets created and found
 * (one recorded twice, as after a restart), responder feedback before and after the root cause, a correction, an
 * incident that never named a cause, and a topology with owners. Same answers on 18.16 and on chdb.
 */
const DB = 'ns_value';
const SERVER = 'value';
const T = Date.UTC(2024, 2, 4, 10, 0, 0);
const s = (x: number): number => T + x * 1000;

const cause = (service: string): RootCause => ({ rank: 1, service, kind: 'latency', summary: `latency on ${service}`, confidence: 0.6, evidence: ['sig_x'] });

function out(id: string, opened: number, updated: number, alerts: number, top: string | null, services: string[]): IncidentOutput {
  return { incident_id: id, opened_at: opened, updated_at: updated, status: 'open', services, counts: { events: 10, alerts, signals: 2 }, root_causes: top ? [cause(top)] : [], reasoner: 'ranker' };
}

function bundle(id: string, opened: number, firstSeen: Record<string, number>): IncidentBundle {
  return {
    incident_id: id,
    opened_at: opened,
    updated_at: opened,
    status: 'open',
    services: Object.keys(firstSeen),
    counts: { events: 10, alerts: 0, signals: 0 },
    signals: [],
    templates: [],
    series: [],
    changes: [],
    edges: [],
    first_seen: firstSeen,
    truncated: { signals: 0, templates: 0 },
  };
}

const BUNDLES = [bundle('inc_a', s(60), { checkout: s(0) }), bundle('inc_b', s(1030), { checkout: s(1000) }), bundle('inc_e', s(3010), { payments: s(3000) })];
const OUTPUTS = [
  // a: checkout, root cause with the first version (60 s after the first symptom), 9 alerts at the end, no feedback.
  out('inc_a', s(60), s(60), 5, 'checkout', ['checkout']),
  out('inc_a', s(60), s(300), 9, 'checkout', ['checkout']),
  // b: checkout, no cause at first; the cause comes at 150 s, after a responder's ack at 100 s: not credited.
  out('inc_b', s(1030), s(1030), 1, null, ['checkout']),
  out('inc_b', s(1030), s(1150), 3, 'checkout', ['checkout']),
  // c: payments, no bundle (start = opened), 0 alerts; a responder later corrects the cause to db: not credited.
  out('inc_c', s(2000), s(2000), 0, 'payments', ['payments']),
  // d: never a cause (service ''), 4 alerts.
  out('inc_d', s(2500), s(2500), 2, null, ['search']),
  out('inc_d', s(2500), s(2600), 4, null, ['search']),
  // e: first named db (its service), later payments; a comment after the cause: credited. 20 s to the cause.
  out('inc_e', s(3010), s(3020), 2, 'db', ['db', 'payments']),
  out('inc_e', s(3010), s(3200), 2, 'payments', ['db', 'payments']),
];
const TICKETS = [
  { incident_id: 'inc_a', integration: 'jira', ticket_key: 'OPS-1', url: 'https://jira/browse/OPS-1', opened_at: s(60), service: 'checkout', created: 1 },
  { incident_id: 'inc_b', integration: 'jira', ticket_key: 'OPS-2', url: 'https://jira/browse/OPS-2', opened_at: s(1150), service: 'checkout', created: 0 },
  { incident_id: 'inc_b', integration: 'pagerduty', ticket_key: 'inc_b', url: '', opened_at: s(1150), service: 'checkout', created: 1 },
  // c's ticket recorded as created, then found again after a restart: still one ticket created.
  { incident_id: 'inc_c', integration: 'jira', ticket_key: 'OPS-3', url: 'https://jira/browse/OPS-3', opened_at: s(2000), service: 'payments', created: 1 },
  { incident_id: 'inc_c', integration: 'jira', ticket_key: 'OPS-3', url: 'https://jira/browse/OPS-3', opened_at: s(2400), service: 'payments', created: 0 },
] as const;
const FEEDBACK = [
  { feedback_id: 'f1', incident_id: 'inc_b', at: s(1100), kind: 'ack', service: null, root_kind: null, note: null, actor: 'alice', source: 'mcp' },
  { feedback_id: 'f2', incident_id: 'inc_c', at: s(2100), kind: 'correct_root_cause', service: 'db', root_kind: 'saturation', note: null, actor: 'bob', source: 'http' },
  { feedback_id: 'f3', incident_id: 'inc_e', at: s(3100), kind: 'comment', service: null, root_kind: null, note: 'looking', actor: 'carol', source: 'mcp' },
  // a confirmation of a's own cause, after it: still credited.
  { feedback_id: 'f4', incident_id: 'inc_a', at: s(400), kind: 'correct_root_cause', service: 'checkout', root_kind: 'latency', note: null, actor: 'dan', source: 'mcp' },
];
const TOPOLOGY = [{ name: 'checkout', owner: 'shop' }, { name: 'search', owner: 'shop' }, { name: 'payments', owner: 'pay' }, { name: 'db' }];

const fig = (incidents: number, alerts: number, absorbed: number, tickets: number, withRc: number, credited: number, median: number | null, minutes: number) => ({
  incidents,
  alerts,
  alerts_absorbed: absorbed,
  tickets_opened: tickets,
  incidents_with_root_cause: withRc,
  root_causes_credited: credited,
  median_seconds_to_root_cause: median,
  minutes_saved: minutes,
});
// Default model: absorbed × 2 + credited × 30 × 0.5 + tickets × 5.
const EXPECTED_SERVICES: ServiceValueRow[] = [
  { service: 'checkout', team: 'shop', ...fig(2, 12, 10, 2, 2, 1, 105, 45) },
  { service: 'db', team: '', ...fig(1, 2, 1, 0, 1, 1, 20, 17) },
  { service: '', team: '', ...fig(1, 4, 3, 0, 0, 0, null, 6) },
  { service: 'payments', team: 'pay', ...fig(1, 0, 0, 1, 1, 0, 0, 5) },
];
const EXPECTED_TEAMS: TeamValueRow[] = [
  { team: 'shop', ...fig(2, 12, 10, 2, 2, 1, 105, 45) },
  { team: '', ...fig(2, 6, 4, 0, 1, 1, 20, 23) },
  { team: 'pay', ...fig(1, 0, 0, 1, 1, 0, 0, 5) },
];

const stores: { old?: ClickHouseAnalytics; modern?: ClickHouseAnalytics } = {};
const deadLetters = new MemoryDeadLetters();
let chdbDir = '';
const none = { emit: () => undefined };

async function feed(store: ClickHouseAnalytics): Promise<void> {
  for (const b of BUNDLES) await store.bundleTap.process(b, none);
  for (const o of OUTPUTS) await store.incidentSink.process(o);
  for (const t of TICKETS) await store.recordTicket({ ...t });
  await store.writeServiceOwners([{ name: 'checkout', owner: 'old-team' }], 1);
  await store.writeServiceOwners(TOPOLOGY, 2);
  await store.client.insertJsonRows(`${DB}.feedback`, FEEDBACK.map((f) => JSON.stringify(f)));
  await store.flush();
}

let serverUrl = '';
beforeAll(async () => {
  const url = clickhouseUp(SERVER);
  serverUrl = url;
  const deps = { log: silentLogger(), deadLetters };
  const cfg = (target: unknown) => ClickHouseSinkConfig.parse({ target, database: DB, writer: { batchRows: 100, batchDelayMs: 10 } });
  const http = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  await http.command(`DROP DATABASE IF EXISTS ${DB}`);
  stores.old = await ClickHouseAnalytics.open(cfg({ kind: 'http', url }), deps, http);
  chdbDir = mkdtempSync(join(tmpdir(), 'ns-chdb-value-'));
  stores.modern = await ClickHouseAnalytics.open(cfg({ kind: 'chdb', path: chdbDir }), deps, await createChdbClickHouse(chdbDir));
  await feed(stores.old);
  await feed(stores.modern);
}, 120_000);

afterAll(async () => {
  await stores.old?.close();
  await stores.modern?.close();
  clickhouseClean(SERVER);
  if (chdbDir) rmSync(chdbDir, { recursive: true, force: true });
});

describe.each([['18.16 server', 'old'], ['chdb', 'modern']] as const)('value accounting on %s', (_name, which) => {
  const store = () => stores[which]!;

  it('migration 8 created the tickets and service_owners tables and the value views', () => {
    expect(store().migration.applied).toContain(8);
    expect(deadLetters.count).toBe(0);
  });

  it('valueReport gives exactly the hand-computed figures per service and per team', async () => {
    const r = await valueReport(store().client, DB);
    expect(r.model).toEqual(DEFAULT_VALUE_MODEL);
    expect(r.services).toEqual(EXPECTED_SERVICES);
    expect(r.teams).toEqual(EXPECTED_TEAMS);
    expect(r.totals).toEqual({ ...fig(5, 18, 14, 3, 4, 2, null, 73) });
  });

  it('the saved queries and their views give the same rows (default model)', async () => {
    for (const [name, view, want] of [
      ['value_by_service', 'v_value_by_service', EXPECTED_SERVICES],
      ['value_by_team', 'v_value_by_team', EXPECTED_TEAMS],
    ] as const) {
      const rows = normalizeRows(await store().client.query(analystSql(analystQuery(name)!, DB)));
      expect(rows).toEqual(want);
      const viewRows = normalizeRows(await store().client.query(`SELECT * FROM ${DB}.${view}`));
      expect(viewRows.map((x) => JSON.stringify(x)).sort()).toEqual(want.map((x) => JSON.stringify(x)).sort());
    }
  });

  it('applies another model passed in (per run)', async () => {
    const r = await valueReport(store().client, DB, { minutesPerAlertTriage: 1, minutesPerInvestigation: 60, investigationShare: 1, minutesPerTicket: 0 }, { by: 'service' });
    expect(r.teams).toEqual([]);
    // checkout 10 + 60, db 1 + 60, '' 3, payments 0.
    expect(r.services.map((x) => [x.service, x.minutes_saved])).toEqual([
      ['checkout', 70],
      ['db', 61],
      ['', 3],
      ['payments', 0],
    ]);
  });
});

describe('the same answers on both engines', () => {
  it('value_by_service and value_by_team', async () => {
    for (const name of ['value_by_service', 'value_by_team']) {
      const q = analystSql(analystQuery(name)!, DB);
      expect(normalizeRows(await stores.modern!.client.query(q))).toEqual(normalizeRows(await stores.old!.client.query(q)));
    }
  });
});

describe('the ticketing sink records its tickets through the recorder', () => {
  let jira: FakeJira;
  beforeAll(async () => {
    jira = await new FakeJira(JIRA_EMAIL, JIRA_TOKEN).start();
  });
  afterAll(async () => {
    await jira.http.close();
  });

  async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
    for (const x of items) yield x;
  }

  it('a created Jira ticket (created = 1), and after a restart the same ticket found (created = 0): one ticket opened automatically', async () => {
    const store = stores.modern!;
    await store.client.command(`TRUNCATE TABLE ${DB}.tickets`);
    const cfg = parseTicketingConfig({ http: FAST_HTTP, jira: { url: jira.url, email: JIRA_EMAIL, token: JIRA_TOKEN, project: 'OPS' } });
    const [v1, v2, , v4] = lifecycle('inc_tk').map((o) => ({ ...o, counts: { ...o.counts, alerts: 6 }, services: ['api', 'db', 'web'] }));
    // What the sink told the recorder, in order: the rows ClickHouse may merge (ReplacingMergeTree(created) keeps the
    // created one), so the calls are checked here and the table after FINAL below.
    const calls: Array<Parameters<typeof store.recordTicket>> = [];
    const recorder: typeof store.recordTicket = (...a) => {
      calls.push(a);
      return store.recordTicket(...a);
    };
    const run = async (outputs: IncidentOutput[]) => {
      const sink = createTicketingSink(cfg, { log: silentLogger(), deadLetters, recorder });
      await runPipeline(from(outputs), chain<IncidentOutput, never>(sink), { queueBatches: 2, batchSize: 2 });
    };
    await run([v1!, v2!]);
    await run([v4!]);
    await store.flush();
    expect(jira.issues.size).toBe(1);
    const key = [...jira.issues.values()][0]!.key;
    expect(calls.map(([t]) => [t.ticket_key, t.created, t.opened_at, t.service])).toEqual([
      [key, 1, v1!.updated_at, 'payments'],
      [key, 0, v4!.updated_at, 'db'],
    ]);
    const rows = normalizeRows(await store.client.query(`SELECT incident_id, integration, ticket_key, url, opened_at, service, created FROM ${DB}.tickets FINAL`));
    // Merged: one row per ticket, and a ticket nightshift created stays created when a restarted pipeline finds it.
    expect(rows).toEqual([{ incident_id: 'inc_tk', integration: 'jira', ticket_key: key, url: `${jira.url}/browse/${key}`, opened_at: v1!.updated_at, service: 'payments', created: 1 }]);
    const counted = normalizeRows(
      await store.client.query(`SELECT countIf(c = 1) AS created FROM (SELECT ticket_key, max(created) AS c FROM ${DB}.tickets GROUP BY incident_id, integration, ticket_key)`),
    );
    expect(counted).toEqual([{ created: 1 }]);
  });

  it('a recorder that fails costs the ticket nothing', async () => {
    const cfg = parseTicketingConfig({ http: FAST_HTTP, jira: { url: jira.url, email: JIRA_EMAIL, token: JIRA_TOKEN, project: 'OPS' } });
    const [v1] = lifecycle('inc_tk2').map((o) => ({ ...o, counts: { ...o.counts, alerts: 6 }, services: ['api', 'db', 'web'] }));
    const sink = createTicketingSink(cfg, {
      log: silentLogger(),
      deadLetters,
      recorder: () => {
        throw new Error('store down');
      },
    });
    await runPipeline(from([v1!]), chain<IncidentOutput, never>(sink), { queueBatches: 2, batchSize: 2 });
    expect(jira.withLabel('nightshift-inc_tk2')).toHaveLength(1);
    expect(sink.counters.snapshot().sent).toBe(1);
  });
});

describe('migrations', () => {
  it('migration 2 still creates exactly the six original views (its text, hence its checksum, never changes)', () => {
    const m2 = MIGRATIONS.find((m) => m.version === 2)!;
    expect(m2.statements.map((x) => /\{db\}\.(v_[a-z_]+) AS/.exec(x)?.[1])).toEqual([
      'v_incidents_per_service_week',
      'v_top_root_causes',
      'v_mean_time_to_detect',
      'v_noise_reduction',
      'v_llm_cost_quality',
      'v_new_error_templates',
    ]);
    const m8 = MIGRATIONS.find((m) => m.version === 8)!;
    expect(m8.name).toBe('tickets');
    expect(m8.statements.filter((x) => x.startsWith('CREATE VIEW')).map((x) => /\{db\}\.(v_[a-z_]+) AS/.exec(x)?.[1])).toEqual(['v_value_by_service', 'v_value_by_team']);
  });
});

describe('nightshift value', () => {
  const env = () => ({ ...process.env, NIGHTSHIFT_CLICKHOUSE_URL: serverUrl, NIGHTSHIFT_CLICKHOUSE_DATABASE: DB });

  it('prints a table per service with the totals and the model', async () => {
    const c = capture();
    expect(await valueCommand([], c.io, env())).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^service\s+team\s+incidents\s+alerts\s+absorbed\s+tickets\s+with cause\s+credited\s+median s to cause\s+minutes saved$/);
    expect(lines[1]!.split(/\s{2,}/)).toEqual(['checkout', 'shop', '2', '12', '10', '2', '2', '1', '105', '45']);
    expect(lines[3]!.split(/\s{2,}/)).toEqual(['(no root cause)', '(no owner)', '1', '4', '3', '0', '0', '0', '-', '6']);
    expect(lines[5]!.split(/\s{2,}/)).toEqual(['total', '5', '18', '14', '3', '4', '2', '-', '73']);
    expect(lines[6]).toBe('model: 2 min per alert absorbed, 30 min per investigation x 0.5 per root cause credited, 5 min per ticket opened automatically');
  });

  it('--by team, and flags override the model for one run', async () => {
    const c = capture();
    expect(await valueCommand(['--by', 'team', '--minutes-per-ticket', '0', '--investigation-share', '1'], c.io, env())).toBe(0);
    const rows = c.out().trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    // shop: 10 x 2 + 1 x 30; (no owner): 4 x 2 + 1 x 30; pay: 0.
    expect(rows.slice(1, 4).map((r) => [r[0], r[8]])).toEqual([
      ['shop', '50'],
      ['(no owner)', '38'],
      ['pay', '0'],
    ]);
  });

  it('--json gives the report valueReport returns', async () => {
    const c = capture();
    expect(await valueCommand(['--json'], c.io, env())).toBe(0);
    const r = JSON.parse(c.out()) as { services: unknown; teams: unknown; model: unknown };
    expect(r.services).toEqual(EXPECTED_SERVICES);
    expect(r.teams).toEqual(EXPECTED_TEAMS);
    expect(r.model).toEqual(DEFAULT_VALUE_MODEL);
  });

  it('a bad grouping or model value is a usage error (exit 2)', async () => {
    for (const argv of [['value', '--by', 'region'], ['value', '--minutes-per-alert', 'lots']]) {
      const c = capture();
      expect(await main(argv, c.io), argv.join(' ')).toBe(2);
      expect(c.err()).toMatch(/--by must be service or team|--minutes-per-alert must be a number/);
    }
  });
});

describe('replay wires the ticketing sink to the analytics store', () => {
  it('a simulated world replayed with Jira on: one tickets row per Jira issue, the topology owners, and the value report counts them', async () => {
    const jira = await new FakeJira(JIRA_EMAIL, JIRA_TOKEN).start();
    const dir = mkdtempSync(join(tmpdir(), 'ns-value-e2e-'));
    const db = 'ns_value_e2e';
    const keys = ['NIGHTSHIFT_CLICKHOUSE_URL', 'NIGHTSHIFT_CLICKHOUSE_DATABASE', 'NIGHTSHIFT_JIRA_URL', 'NIGHTSHIFT_JIRA_EMAIL', 'NIGHTSHIFT_JIRA_TOKEN', 'NIGHTSHIFT_JIRA_PROJECT'] as const;
    const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    try {
      const http = createHttpClickHouse({ kind: 'http', url: serverUrl, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
      await http.command(`DROP DATABASE IF EXISTS ${db}`);
      const sim = capture();
      await simulateCommand(['--out', join(dir, 'w.ndjson'), '--seed', '4', '--services', '12', '--hours', '3', '--faults', '2', '--quiet'], sim.io);
      Object.assign(process.env, {
        NIGHTSHIFT_CLICKHOUSE_URL: serverUrl,
        NIGHTSHIFT_CLICKHOUSE_DATABASE: db,
        NIGHTSHIFT_JIRA_URL: jira.url,
        NIGHTSHIFT_JIRA_EMAIL: JIRA_EMAIL,
        NIGHTSHIFT_JIRA_TOKEN: JIRA_TOKEN,
        NIGHTSHIFT_JIRA_PROJECT: 'OPS',
      });
      const c = capture();
      await replayCommand(['--in', join(dir, 'w.ndjson'), '--topology', join(dir, 'w.topology.json'), '--out', join(dir, 'out.ndjson'), '--quiet'], c.io);
      expect(jira.issues.size).toBeGreaterThan(0);
      const tickets = normalizeRows(await http.query(`SELECT incident_id, ticket_key, url, created FROM ${db}.tickets FINAL ORDER BY ticket_key`));
      const issues = [...jira.issues.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
      expect(tickets).toEqual(
        issues.map((i) => ({ incident_id: i.labels.find((l) => l.startsWith('nightshift-'))!.slice('nightshift-'.length), ticket_key: i.key, url: `${jira.url}/browse/${i.key}`, created: 1 })),
      );
      const topo = JSON.parse(readFileSync(join(dir, 'w.topology.json'), 'utf8')) as { services: { name: string; owner?: string }[] };
      const owners = normalizeRows(await http.query(`SELECT service, argMax(owner, version) AS owner FROM ${db}.service_owners GROUP BY service ORDER BY service`));
      expect(owners).toEqual(topo.services.map((x) => ({ service: x.name, owner: x.owner ?? '' })).sort((a, b) => (a.service < b.service ? -1 : 1)));
      const r = await valueReport(http, db);
      const outputs = readFileSync(join(dir, 'out.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as IncidentOutput);
      expect(r.totals.incidents).toBe(new Set(outputs.map((o) => o.incident_id)).size);
      expect(r.totals.tickets_opened).toBe(jira.issues.size);
      expect(r.teams.reduce((a, t) => a + t.incidents, 0)).toBe(r.totals.incidents);
      await http.close();
    } finally {
      for (const k of keys) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      await jira.http.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
