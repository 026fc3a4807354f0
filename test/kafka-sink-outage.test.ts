import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { groupId } from '../pipeline/kafka/cluster.js';
import { H_OUTPUT_ID, outputId } from '../pipeline/kafka/processors.js';
import type { IncidentOutput } from '../schemas/index.js';
import { createHttpClickHouse } from '../sinks/clickhouse/client.js';
import { incidentVersion } from '../sinks/clickhouse/rows.js';
import { normalizeRows } from './clickhouse-fixtures.js';
import { clickhouseAsync, clickhouseClean, clickhouseUp } from './clickhouse-server.js';
import { spawnRun, type Child } from './helpers/kafka-child.js';
import { readPartitions, testCluster, testKafka, testProducer, waitFor, type TestCluster } from './helpers/kafka.js';

/**
 * The Done-when test of end-to-end acknowledgement: a `nightshift run --stage sinks` child writes incident outputs
 * from the rca topic into a private ClickHouse 18.16 server; the server is stopped, more incident versions arrive,
 * the instance is killed (SIGKILL) or stopped (SIGTERM) during the outage; the server comes back and a new instance
 * starts. Every incident version the rca topic holds must be in ClickHouse exactly once after FINAL.
 */
const SERVER = 'sinkout';
const INCIDENTS = 40;
const dir = mkdtempSync(join(tmpdir(), 'nightshift-sink-outage-'));
const children: Child[] = [];
let admin: Admin | null = null;
let producer: Producer | null = null;

afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await producer?.disconnect().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  clickhouseClean(SERVER);
  rmSync(dir, { recursive: true, force: true });
});

/** Outputs `from..to-1`: incident i % INCIDENTS, each with a distinct updated_at (so its version is known). */
function outputs(from: number, to: number): IncidentOutput[] {
  const base = Date.UTC(2024, 4, 1);
  const out: IncidentOutput[] = [];
  for (let i = from; i < to; i++) {
    const inc = i % INCIDENTS;
    out.push({
      incident_id: `inc_${inc}`,
      opened_at: base + inc * 60_000,
      updated_at: base + inc * 60_000 + i * 1000,
      status: 'open',
      services: ['checkout', 'db'],
      counts: { events: i, alerts: 1, signals: 2 },
      root_causes: Array.from({ length: 1 + (i % 3) }, (_, r) => ({ rank: r + 1, service: `svc${(i + r) % 5}`, kind: 'latency' as const, summary: `output ${i}`, confidence: 0.3 - r * 0.1, evidence: [] })),
      reasoner: 'ranker',
    });
  }
  return out;
}

async function produce(tc: TestCluster, list: readonly IncidentOutput[]): Promise<void> {
  const messages = list.map((o) => {
    const value = JSON.stringify(o);
    return { key: o.incident_id, value, headers: { [H_OUTPUT_ID]: outputId(value) } };
  });
  await producer!.send({ topic: tc.kafka.topics.rca, acks: -1, messages });
}

/** Records of the rca topic the sinks group has not committed. */
async function uncommitted(tc: TestCluster): Promise<number> {
  const topic = tc.kafka.topics.rca;
  const committed = await admin!.fetchOffsets({ groupId: groupId(tc.kafka, 'sinks'), topics: [topic] });
  let n = 0;
  for (const e of await admin!.fetchTopicOffsets(topic)) {
    const off = Number(committed[0]?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
    n += Number(e.high) - Math.max(off, Number(e.low));
  }
  return n;
}

function opsUrl(c: Child): string | null {
  for (const l of c.text) {
    const m = /ops (https?) on ([^\s:]+):(\d+)/.exec(l);
    if (m) return `${m[1]}://${m[2]}:${m[3]}`;
  }
  return null;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: r.status, body: await r.text() };
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** What ClickHouse must hold for these outputs: every (incident, version, rank) once, and each incident's latest. */
function expected(all: readonly IncidentOutput[]) {
  const rc = new Set<string>();
  const latest = new Map<string, number>();
  for (const o of all) {
    const v = incidentVersion(o.updated_at, 0);
    for (const c of o.root_causes) rc.add(`${o.incident_id}|${v}|${c.rank}`);
    latest.set(o.incident_id, Math.max(latest.get(o.incident_id) ?? 0, v));
  }
  return { rc, latest };
}

async function checkClickHouse(url: string, db: string, all: readonly IncidentOutput[]): Promise<void> {
  const ch = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  try {
    const want = expected(all);
    const rc = normalizeRows(await ch.query<Record<string, unknown>>(`SELECT incident_id, version, rank FROM ${db}.root_causes FINAL`));
    const keys = rc.map((r) => `${r.incident_id}|${r.version}|${r.rank}`);
    // Nothing doubled after FINAL, nothing missing.
    expect(keys.length).toBe(new Set(keys).size);
    expect(new Set(keys)).toEqual(want.rc);
    const inc = normalizeRows(await ch.query<Record<string, unknown>>(`SELECT incident_id, version FROM ${db}.incidents FINAL`));
    expect(inc).toHaveLength(INCIDENTS);
    for (const r of inc) expect(Number(r.version)).toBe(want.latest.get(String(r.incident_id)));
  } finally {
    await ch.close();
  }
}

function spawnSinks(name: string, tc: TestCluster, url: string, db: string, configFile: string, retryForMs = 600_000): Child {
  const c = spawnRun(name, ['--stage', 'sinks', '--config', configFile, '--out', join(dir, `${name}.ndjson`), '--ops-port', '0'], {
    NIGHTSHIFT_KAFKA_BROKERS: tc.brokers,
    NIGHTSHIFT_CLICKHOUSE_URL: url,
    NIGHTSHIFT_CLICKHOUSE_DATABASE: db,
    // Longer than the test: nothing may be dead-lettered, the outage must end in redelivery.
    NIGHTSHIFT_CLICKHOUSE_RETRY_FOR_MS: String(retryForMs),
    POD_NAME: name,
  });
  children.push(c);
  return c;
}

async function clients(tc: TestCluster): Promise<void> {
  if (!admin) {
    admin = testKafka(tc.brokers).admin();
    await admin.connect();
  }
  producer ??= await testProducer(tc.brokers);
}

async function outageCase(kind: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const name = kind === 'SIGKILL' ? 'kill' : 'term';
  const db = `ns_sinkout_${name}`;
  const tc = testCluster(`sinkout-${name}`, { shutdownTimeoutMs: 3000, sinkUnreadyAfterMs: 2000, commitIntervalMs: 200 });
  const url = clickhouseUp(SERVER);
  const ch = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  await ch.command(`DROP DATABASE IF EXISTS ${db}`);
  await ch.close();
  const configFile = join(dir, `config-${name}.json`);
  writeFileSync(configFile, JSON.stringify({ kafka: tc.kafka }));
  await clients(tc);

  const first = spawnSinks(`${name}-a`, tc, url, db, configFile);
  // Topics are created by the instance; wait for it to serve its ops port (it joined and opened ClickHouse).
  await waitFor(`${first.name} to start`, () => opsUrl(first) !== null, 90_000, 200);
  const ops = opsUrl(first)!;
  const before = outputs(0, 200);
  await produce(tc, before);
  await waitFor('the first outputs delivered and committed', async () => (await uncommitted(tc)) === 0, 60_000, 300);
  expect((await get(`${ops}/readyz`)).status).toBe(200);

  // Outage: ClickHouse stops, more incident versions arrive.
  await clickhouseAsync('down', SERVER);
  const during = outputs(200, 500);
  await produce(tc, during);
  // The sink is blocked: not ready, the metric says for how long, and the offsets of the new outputs stay uncommitted.
  await waitFor('/readyz to report the blocked sink', async () => (await get(`${ops}/readyz`).catch(() => ({ status: 0, body: '' }))).status === 503, 30_000, 300);
  const m = (await get(`${ops}/metrics`)).body;
  expect(metric(m, 'nightshift_sink_blocked_seconds')).toBeGreaterThan(2);
  expect(metric(m, 'nightshift_sink_unconfirmed_outputs')).toBeGreaterThan(0);
  // Let commit rounds run during the outage: they must not pass the unconfirmed outputs.
  await new Promise((r) => setTimeout(r, 1500));
  expect(await uncommitted(tc)).toBeGreaterThan(0);

  if (kind === 'SIGKILL') {
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBeNull();
  } else {
    const t0 = Date.now();
    first.proc.kill('SIGTERM');
    const code = await Promise.race([first.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 25_000))]);
    // shutdownTimeoutMs 3 s (+ leaving the group): well within the bound of shutdownTimeoutMs + 10 s.
    expect(code, first.text.join('\n')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(13_000);
    // Nothing it could not confirm was committed.
    expect(await uncommitted(tc)).toBeGreaterThan(0);
  }
  const deadLettersBefore = (await admin.fetchTopicOffsets(tc.kafka.topics.deadLetters)).reduce((n, e) => n + Number(e.high), 0);
  const dl = deadLettersBefore > 0 ? [...(await readPartitions(tc.brokers, tc.kafka.topics.deadLetters, 20_000)).values()].flat().slice(0, 2).map((x) => x.value!.toString().slice(0, 600)) : [];
  expect(deadLettersBefore, dl.join('\n')).toBe(0);

  // Recovery: ClickHouse back, a new instance takes over the partitions and redelivers what was not committed.
  await clickhouseAsync('up', SERVER);
  spawnSinks(`${name}-b`, tc, url, db, configFile);
  await waitFor('the new instance to deliver and commit everything', async () => (await uncommitted(tc)) === 0, 150_000, 500);
  const deadLetters = (await admin.fetchTopicOffsets(tc.kafka.topics.deadLetters)).reduce((n, e) => n + Number(e.high), 0);
  expect(deadLetters).toBe(0);
  await checkClickHouse(url, db, [...before, ...during]);
}

/** Past the writer's retry budget, the outputs go to the dead-letter topic with their reason, and then commit. */
async function deadlineCase(): Promise<void> {
  const db = 'ns_sinkout_deadline';
  const tc = testCluster('sinkout-deadline', { shutdownTimeoutMs: 3000, sinkUnreadyAfterMs: 2000, commitIntervalMs: 200 });
  const url = clickhouseUp(SERVER);
  const ch = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  await ch.command(`DROP DATABASE IF EXISTS ${db}`);
  await ch.close();
  await clients(tc);
  const configFile = join(dir, 'config-deadline.json');
  writeFileSync(configFile, JSON.stringify({ kafka: tc.kafka }));
  const c = spawnSinks('deadline-a', tc, url, db, configFile, 4000);
  await waitFor(`${c.name} to start`, () => opsUrl(c) !== null, 90_000, 200);
  await produce(tc, outputs(0, 50));
  await waitFor('the first outputs delivered and committed', async () => (await uncommitted(tc)) === 0, 60_000, 300);
  await clickhouseAsync('down', SERVER);
  try {
    const during = outputs(50, 150);
    await produce(tc, during);
    // Still down: after retryForMs (4 s) every row is dead-lettered with its reason, and the offsets commit.
    await waitFor('the outputs dead-lettered and committed during the outage', async () => (await uncommitted(tc)) === 0, 60_000, 300);
    const dls = [...(await readPartitions(tc.brokers, tc.kafka.topics.deadLetters, 20_000)).values()].flat().map((m) => JSON.parse(m.value!.toString()) as { stage: string; code: string; error: string; topic: string; key: string });
    const rows = during.reduce((n, o) => n + 2 + o.root_causes.length, 0);
    expect(dls.length).toBe(rows);
    for (const d of dls) {
      expect(d.code).toBe('IO_ERROR');
      expect(d.stage).toMatch(/^clickhouse\.(incidents|root_causes|incident_details)$/);
      expect(d.error).toMatch(/retried for \d+ ms/);
    }
    expect(new Set(dls.filter((d) => d.stage === 'clickhouse.incidents').map((d) => d.key)).size).toBe(INCIDENTS);
    c.proc.kill('SIGTERM');
    expect(await c.exited).toBe(0);
  } finally {
    await clickhouseAsync('up', SERVER);
  }
}

describe('sinks stage during a ClickHouse outage, on a real broker and ClickHouse 18.16', () => {
  it('past writer.retryForMs the outputs go to the dead-letter topic with their reason, then their offsets commit', async () => {
    await deadlineCase();
  }, 300_000);

  it('an instance SIGKILLed during the outage loses no incident version: the next one delivers all, none doubled after FINAL', async () => {
    await outageCase('SIGKILL');
  }, 400_000);

  it('SIGTERM during the outage stops within the bound, leaves the undelivered uncommitted, the next instance delivers them', async () => {
    await outageCase('SIGTERM');
  }, 400_000);
});
