/**
 * bench:replay — records per second and peak memory of `nightshift replay` on a simulated file of at least
 * 1 million records. Writes bench/results/replay-throughput.json with the machine it ran on.
 * Bounded: one file, one run, stops at the end of the file.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildEmbedded } from '../core/build.js';
import { defaultConfig } from '../core/config.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { replayRecords } from '../core/replay.js';
import { loadTopologyFile } from '../ingest/topology.js';
import { simulateToFiles } from '../sim/index.js';
import { NdjsonSink } from '../sinks/index.js';

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
    const cfg = defaultConfig();
    const dl = new MemoryDeadLetters(100);
    const topology = await loadTopologyFile(paths.topology);
    const p = buildEmbedded(cfg, { log: silentLogger(), deadLetters: dl, topology }, new NdjsonSink({ path: path.join(dir, 'out.ndjson') }));
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const t0 = process.hrtime.bigint();
    await p.run(replayRecords(replay, { maxLineBytes: cfg.pipeline.maxLineBytes, deadLetters: dl }));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const s = p.stats();
    const result = {
      command: 'npm run bench:replay',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', mem_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      input: { records: s.rawRecords, bytes, simulated_hours: hours, services: 30 },
      seconds: Math.round(seconds * 100) / 100,
      records_per_second: Math.round(s.rawRecords / seconds),
      mb_per_second: Math.round((bytes / 2 ** 20 / seconds) * 10) / 10,
      peak_rss_mib: Math.round(peakRss / 2 ** 20),
      incidents: s.incidents,
      dead_letters: s.deadLetters.total,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    await writeFile(path.join('bench', 'results', 'replay-throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
