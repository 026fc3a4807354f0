/**
 * bench:replay — records, MB and events per second, CPU per record and peak memory of the embedded pipeline on a
 * simulated file of at least 1 million records, beside the read+parse ceiling of the same file measured in the same
 * run (bench/ceiling.ts), and the ratio of the two. Writes bench/results/replay-throughput.json with the machine.
 * Bounded: one file, one ceiling pass and one pipeline pass, each stopping at the end of the file.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildEmbedded } from '../pipeline/build.js';
import { defaultConfig } from '../pipeline/config.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { replayRecords } from '../core/replay.js';
import { loadTopologyFile } from '../ingest/topology.js';
import { simulateToFiles } from '../sim/index.js';
import { NdjsonSink } from '../sinks/index.js';
import { parseCeiling, round } from './ceiling.js';

const TARGET = Number(process.env.BENCH_RECORDS ?? 1_000_000);

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-bench-'));
  try {
    const replay = path.join(dir, 'replay.ndjson');
    const paths = { replay, truth: path.join(dir, 'truth.ndjson'), topology: path.join(dir, 'topology.json') };
    // Grow the simulated span until the file holds the target number of records.
    let hours = 24;
    let sim = await simulateToFiles({ seed: 42, services: 30, hours, faults: 8 }, paths);
    while (sim.records < TARGET && hours < 24 * 64) {
      hours = Math.ceil((hours * TARGET * 1.05) / Math.max(sim.records, 1));
      sim = await simulateToFiles({ seed: 42, services: 30, hours, faults: Math.max(8, Math.round(hours / 3)) }, paths);
    }
    const bytes = (await stat(replay)).size;
    // The file was just written, so both passes read it from the page cache: the ratio compares CPU work only.
    const ceiling = await parseCeiling(replay);
    const cfg = defaultConfig();
    // BENCH_PARSE_WORKER=1 or 0 overrides pipeline.parseWorker, to measure both on the same machine.
    const worker = process.env.BENCH_PARSE_WORKER !== undefined ? process.env.BENCH_PARSE_WORKER === '1' : cfg.pipeline.parseWorker;
    const dl = new MemoryDeadLetters(100);
    const topology = await loadTopologyFile(paths.topology);
    const out = path.join(dir, 'out.ndjson');
    const p = buildEmbedded(cfg, { log: silentLogger(), deadLetters: dl, topology }, new NdjsonSink({ path: out }));
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await p.run(replayRecords(replay, { maxLineBytes: cfg.pipeline.maxLineBytes, deadLetters: dl, worker }));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const s = p.stats();
    const events = p.ingest.counters.sent;
    const recordsPerSecond = Math.round(s.rawRecords / seconds);
    const result = {
      command: 'npm run bench:replay',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', mem_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, note: 'shared 2-core VM: other work may run beside it' },
      // V8 flags of this run (package.json): the heap cap, and a 32 MiB young generation semi-space (default 16).
      node_flags: process.execArgv,
      input: { records: s.rawRecords, bytes, simulated_hours: hours, services: 30 },
      // Read and parse in a worker thread (pipeline.parseWorker): cpu_seconds below then count both threads.
      parse_worker: worker,
      // The pipeline (field names as before this file had a ceiling: deploy/RUNBOOK.md cites them).
      seconds: round(seconds, 2),
      records_per_second: recordsPerSecond,
      mb_per_second: round(bytes / 2 ** 20 / seconds, 1),
      events,
      events_per_second: Math.round(events / seconds),
      cpu_seconds: round((cpu.user + cpu.system) / 1e6, 2),
      cpu_us_per_record: round((cpu.user + cpu.system) / s.rawRecords, 2),
      cpu_us_per_event: round((cpu.user + cpu.system) / events, 2),
      // Read, split on newlines, JSON.parse each line and its payload: nothing else, same file, same run.
      ceiling,
      ratio_to_ceiling: round(recordsPerSecond / ceiling.records_per_second, 3),
      peak_rss_mib: Math.round(peakRss / 2 ** 20),
      incidents: s.incidents,
      dead_letters: s.deadLetters.total,
      // The same file gives the same incidents: an optimisation must leave this unchanged.
      output_sha256: createHash('sha256').update(await readFile(out)).digest('hex'),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    await writeFile(path.join('bench', 'results', 'replay-throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
