/**
 * bench:clickhouse — rows per second into ClickHouse through the sink's writer, on this machine, for both engines:
 * Debian's clickhouse-server 18.16 over HTTP (a private instance started with scripts/clickhouse.sh) and chdb
 * in-process. Two workloads: incident outputs through the incident sink (1 incidents row + 1..3 root_causes rows
 * each) and signal rows through a RowWriter. Each case is bounded by a row count and a time budget, then flushed and
 * verified with count() (every row acknowledged is in the table). Writes bench/results/clickhouse.json.
 *   BENCH_CH_ROWS     rows per signal case (default 200000); incident cases use a quarter of it in outputs
 *   BENCH_CH_SECONDS  time budget per case (default 30)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryDeadLetters } from '../../core/deadletter.js';
import { silentLogger } from '../../core/log.js';
import type { IncidentOutput, Signal } from '../../schemas/index.js';
import { createChdbClickHouse, createHttpClickHouse, type ClickHouseLike } from '../../sinks/clickhouse/client.js';
import { ClickHouseSinkConfig } from '../../sinks/clickhouse/config.js';
import { signalRow } from '../../sinks/clickhouse/rows.js';
import { ClickHouseAnalytics } from '../../sinks/clickhouse/sink.js';

const ROWS = Number(process.env.BENCH_CH_ROWS ?? 200_000);
const SECONDS = Number(process.env.BENCH_CH_SECONDS ?? 30);
const SERVER_DIR = process.env.NIGHTSHIFT_CH_DIR ?? path.join(os.tmpdir(), 'nightshift-ch-bench');
const DB = 'ns_bench';
const KINDS = ['latency', 'errors', 'saturation', 'deploy', 'resource', 'dependency'] as const;
const TYPES = ['metric_anomaly', 'red_latency', 'red_errors', 'alert', 'template_burst'] as const;

interface CaseResult {
  engine: string;
  server_version: string;
  workload: 'incident_outputs' | 'signal_rows';
  batch_rows: number;
  inputs: number;
  rows: number;
  seconds: number;
  rows_per_second: number;
  mib_per_second: number;
  inserts: number;
  expected_rows_after_dedup: number;
  verified_rows: number;
  dead_letters: number;
  stopped_by: 'count' | 'time';
}

function signal(i: number): Signal {
  return {
    id: `sig_${i}`,
    ts: 1_704_067_200_000 + i * 50,
    service: `svc${i % 40}`,
    type: TYPES[i % TYPES.length]!,
    score: (i % 100) / 100,
    hint: KINDS[i % KINDS.length]!,
    summary: `latency of svc${i % 40} -> svc${(i + 7) % 40} at ${(i % 900) + 100} ms vs baseline 80 ms`,
    ref: `series_${i % 5000}`,
  };
}

function output(i: number): IncidentOutput {
  const n = 1 + (i % 3);
  return {
    incident_id: `inc_${Math.floor(i / 4)}`,
    opened_at: 1_704_067_200_000 + Math.floor(i / 4) * 60_000,
    updated_at: 1_704_067_200_000 + Math.floor(i / 4) * 60_000 + (i % 4) * 30_000,
    status: i % 4 === 3 ? 'resolved' : 'open',
    services: [`svc${i % 40}`, `svc${(i + 3) % 40}`],
    counts: { events: 100 + i, alerts: i % 20, signals: 5 },
    root_causes: Array.from({ length: n }, (_, r) => ({
      rank: r + 1,
      service: `svc${(i + r) % 40}`,
      kind: KINDS[(i + r) % KINDS.length]!,
      summary: `svc${(i + r) % 40} ${KINDS[(i + r) % KINDS.length]} since the deploy`,
      confidence: 0.5 - r * 0.15,
      evidence: [`sig_${i}`, `sig_${i + 1}`],
    })),
    reasoner: 'ranker',
  };
}

async function runCase(engine: string, client: ClickHouseLike, workload: CaseResult['workload'], batchRows: number): Promise<CaseResult> {
  await client.command(`DROP DATABASE IF EXISTS ${DB}`);
  const deadLetters = new MemoryDeadLetters(100);
  const cfg = ClickHouseSinkConfig.parse({ target: { kind: 'chdb', path: '/unused' }, database: DB, writer: { batchRows, batchDelayMs: 200, bufferRows: batchRows * 4 } });
  // The store must not close the shared client between cases.
  const shared: ClickHouseLike = { engine: client.engine, insertJsonRows: (t, r) => client.insertJsonRows(t, r), command: (s) => client.command(s), query: (s) => client.query(s), close: async () => undefined };
  const store = await ClickHouseAnalytics.open(cfg, { log: silentLogger(), deadLetters }, shared);
  const limit = workload === 'signal_rows' ? ROWS : Math.floor(ROWS / 4);
  const deadline = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  let inputs = 0;
  let stoppedBy: CaseResult['stopped_by'] = 'count';
  for (; inputs < limit; inputs++) {
    if ((inputs & 1023) === 0 && Date.now() > deadline) {
      stoppedBy = 'time';
      break;
    }
    if (workload === 'signal_rows') await store.writers.signals.write(signalRow(`inc_${inputs >> 6}`, signal(inputs)));
    else await store.incidentSink.process(output(inputs));
  }
  await store.flush();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const writers = workload === 'signal_rows' ? [store.writers.signals] : [store.writers.incidents, store.writers.root_causes];
  const rows = writers.reduce((a, w) => a + w.counters.sent, 0);
  // After deduplication: every signal row is distinct; incidents keep one row per incident (the latest version),
  // root_causes one per (incident, version, rank). count() FINAL must equal that exactly: nothing lost, nothing doubled.
  let expectedAfterDedup = 0;
  if (workload === 'signal_rows') expectedAfterDedup = inputs;
  else {
    expectedAfterDedup = Math.ceil(inputs / 4);
    for (let i = 0; i < inputs; i++) expectedAfterDedup += 1 + (i % 3);
  }
  let verified = 0;
  for (const t of workload === 'signal_rows' ? ['signals'] : ['incidents', 'root_causes']) {
    const r = await client.query<{ n: string | number }>(`SELECT count() AS n FROM ${DB}.${t} FINAL`);
    verified += Number(r[0]?.n ?? 0);
  }
  const jsonBytes = workload === 'signal_rows' ? Buffer.byteLength(JSON.stringify(signalRow('inc_0', signal(1)))) * rows : 0;
  const version = (await client.query<{ v: string }>('SELECT version() AS v'))[0]?.v ?? '?';
  await store.close();
  return {
    engine,
    server_version: version,
    workload,
    batch_rows: batchRows,
    inputs,
    rows,
    seconds: Math.round(seconds * 100) / 100,
    rows_per_second: Math.round(rows / seconds),
    mib_per_second: jsonBytes ? Math.round((jsonBytes / 2 ** 20 / seconds) * 10) / 10 : 0,
    inserts: writers.reduce((a, w) => a + w.stats.inserts, 0),
    expected_rows_after_dedup: expectedAfterDedup,
    verified_rows: verified,
    dead_letters: deadLetters.count,
    stopped_by: stoppedBy,
  };
}

async function main(): Promise<void> {
  const script = path.join('scripts', 'clickhouse.sh');
  const url = execFileSync('bash', [script, 'up'], { env: { ...process.env, NIGHTSHIFT_CH_DIR: SERVER_DIR }, encoding: 'utf8' }).trim();
  const chdbDir = mkdtempSync(path.join(os.tmpdir(), 'nightshift-chdb-bench-'));
  const results: CaseResult[] = [];
  try {
    const http = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 60_000 });
    const chdb = await createChdbClickHouse(chdbDir);
    for (const [engine, client] of [
      ['clickhouse-server (HTTP)', http],
      ['chdb (in-process)', chdb],
    ] as const) {
      for (const workload of ['signal_rows', 'incident_outputs'] as const) {
        for (const batchRows of [1000, 10_000]) {
          const r = await runCase(engine, client, workload, batchRows);
          process.stderr.write(`${engine} ${workload} batch ${batchRows}: ${r.rows} rows in ${r.seconds} s = ${r.rows_per_second} rows/s\n`);
          if (r.verified_rows !== r.expected_rows_after_dedup || r.dead_letters > 0) {
            throw new Error(`${engine} ${workload}: ${r.verified_rows} rows after deduplication, expected ${r.expected_rows_after_dedup} (${r.dead_letters} dead letters)`);
          }
          results.push(r);
        }
      }
    }
    await http.close();
    await chdb.close();
  } finally {
    execFileSync('bash', [script, 'down'], { env: { ...process.env, NIGHTSHIFT_CH_DIR: SERVER_DIR } });
    rmSync(chdbDir, { recursive: true, force: true });
  }
  const cpus = os.cpus();
  const out = {
    command: 'npm run bench:clickhouse',
    date: new Date().toISOString(),
    machine: { cpus: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', mem_gib: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`, node: process.version },
    bounds: { rows_per_signal_case: ROWS, outputs_per_incident_case: Math.floor(ROWS / 4), seconds_per_case: SECONDS },
    notes:
      'rows = rows acknowledged by ClickHouse (incident_outputs: incidents + root_causes rows, 4 versions per incident); ' +
      'verified_rows = count() FINAL afterwards, which must equal expected_rows_after_dedup. ' +
      'Single writer, one insert in flight per table, JSONEachRow. The server runs on the same machine as the bench.',
    results,
  };
  writeFileSync(path.join('bench', 'results', 'clickhouse.json'), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:clickhouse failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
