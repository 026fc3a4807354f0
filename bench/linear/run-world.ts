/**
 * One world of bench:linear, in its own process (so worlds do not share a heap or JIT state): replays FILE through
 * the embedded pipeline of the build at --dist (default: this build) and prints one JSON line with CPU, records,
 * events, peak RSS and the sha256 of the incident output. --dist lets the bench run a reference build (an earlier
 * commit's dist/) on the same file and check that the output is byte-identical.
 *
 *   node dist/bench/linear/run-world.js --in FILE --topology FILE --out FILE [--dist DIR]
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Build from '../../pipeline/build.js';
import type * as Config from '../../pipeline/config.js';
import type * as DeadLetter from '../../core/deadletter.js';
import type * as Log from '../../core/log.js';
import type * as Replay from '../../core/replay.js';
import type * as Topo from '../../ingest/topology.js';
import type * as Sinks from '../../sinks/index.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`run-world: ${name} is required`);
  return v;
}

/** The first of `mods` that the build has: a reference build from before a module moved keeps its old path. */
async function load<T>(dist: string, ...mods: string[]): Promise<T> {
  let last: unknown;
  for (const mod of mods) {
    try {
      return (await import(pathToFileURL(path.join(dist, mod)).href)) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
      last = e;
    }
  }
  throw last;
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dist = path.resolve(arg('--dist', path.join(here, '..', '..')));
  const input = arg('--in');
  const out = arg('--out');
  const build = await load<typeof Build>(dist, 'pipeline/build.js', 'core/build.js');
  const { defaultConfig } = await load<typeof Config>(dist, 'pipeline/config.js', 'core/config.js');
  const { MemoryDeadLetters } = await load<typeof DeadLetter>(dist, 'core/deadletter.js');
  const { silentLogger } = await load<typeof Log>(dist, 'core/log.js');
  const { replayRecords } = await load<typeof Replay>(dist, 'core/replay.js');
  const { loadTopologyFile } = await load<typeof Topo>(dist, 'ingest/topology.js');
  const { NdjsonSink } = await load<typeof Sinks>(dist, 'sinks/index.js');

  const cfg = defaultConfig();
  const dl = new MemoryDeadLetters(100);
  const topology = await loadTopologyFile(arg('--topology'));
  const p = build.buildEmbedded(cfg, { log: silentLogger(), deadLetters: dl, topology }, new NdjsonSink({ path: out }));
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await p.run(replayRecords(input, { maxLineBytes: cfg.pipeline.maxLineBytes, deadLetters: dl }));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  const s = p.stats();
  const digest = createHash('sha256').update(await readFile(out)).digest('hex');
  const result = {
    dist,
    records: s.rawRecords,
    events: p.ingest.counters.sent,
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    seconds,
    peak_rss_mib: Math.round(peakRss / 2 ** 20),
    incidents: s.incidents,
    dead_letters: s.deadLetters.total,
    output_sha256: digest,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
