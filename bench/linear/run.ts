/**
 * bench:linear — does replay cost stay linear in the input? Simulates 6, 12, 24 and 48 h worlds (30 services, the
 * bench:replay world at other lengths, faults in proportion), replays each in its own process and reports CPU per
 * record and per event. A bounded index that is not O(1) at its bound shows here as cost per record growing with
 * the world. Pass: CPU per record within 20% across the worlds (max / min <= 1.2).
 *
 * With --reference DIR (a dist/ built from an earlier commit) each world is replayed by that build too, in the same
 * run, and the incident outputs must be byte-identical (exit 1 otherwise): before/after figures and the identity
 * check of an optimisation in one command.
 *
 * Bounds: at most 4 worlds (BENCH_HOURS, default 6,12,24,48); each replay is killed after 15 minutes; worlds are
 * skipped once the whole run passed BENCH_MAX_MINUTES (default 40). Each world file is deleted after use.
 *
 *   npm run bench:linear [-- --reference DIR [--reference-note TEXT]] [--out FILE]
 * (--reference-note says what DIR was built from, e.g. a commit, for the result file.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { simulateToFiles } from '../../sim/index.js';
import { round } from '../ceiling.js';

const run = promisify(execFile);
const WORLD_TIMEOUT_MS = 15 * 60_000;
const MAX_WORLDS = 4;

interface WorldRun {
  records: number;
  events: number;
  cpu_seconds: number;
  seconds: number;
  peak_rss_mib: number;
  incidents: number;
  dead_letters: number;
  output_sha256: string;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function replayIn(child: string, dist: string | undefined, world: { replay: string; topology: string }, out: string): Promise<WorldRun> {
  const args = ['--max-old-space-size=1024', child, '--in', world.replay, '--topology', world.topology, '--out', out];
  if (dist !== undefined) args.push('--dist', dist);
  const { stdout } = await run(process.execPath, args, { timeout: WORLD_TIMEOUT_MS, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as WorldRun;
}

function perUnit(r: WorldRun): { us_per_record: number; us_per_event: number } {
  return { us_per_record: round((r.cpu_seconds * 1e6) / r.records, 2), us_per_event: round((r.cpu_seconds * 1e6) / r.events, 2) };
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = path.join(here, 'run-world.js');
  const reference = argValue('--reference');
  const outFile = argValue('--out') ?? path.join('bench', 'results', 'linear.json');
  const hours = (process.env.BENCH_HOURS ?? '6,12,24,48').split(',').map(Number).filter((h) => h > 0).slice(0, MAX_WORLDS);
  const deadline = Date.now() + Number(process.env.BENCH_MAX_MINUTES ?? 40) * 60_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-linear-'));
  const worlds: Record<string, unknown>[] = [];
  let identical = true;
  try {
    for (const h of hours) {
      if (Date.now() > deadline) {
        worlds.push({ hours: h, skipped: 'time budget (BENCH_MAX_MINUTES) spent' });
        continue;
      }
      const world = { replay: path.join(dir, `w${h}.ndjson`), truth: path.join(dir, `w${h}.truth.ndjson`), topology: path.join(dir, `w${h}.topology.json`) };
      const faults = Math.max(2, Math.round(h / 3));
      await simulateToFiles({ seed: 42, services: 30, hours: h, faults }, world);
      const bytes = (await stat(world.replay)).size;
      const now = await replayIn(child, undefined, world, path.join(dir, `w${h}.out.ndjson`));
      const row: Record<string, unknown> = { hours: h, faults, bytes, records: now.records, events: now.events, ...perUnit(now), cpu_seconds: round(now.cpu_seconds, 2), seconds: round(now.seconds, 2), peak_rss_mib: now.peak_rss_mib, incidents: now.incidents, dead_letters: now.dead_letters, output_sha256: now.output_sha256 };
      if (reference !== undefined) {
        const ref = await replayIn(child, path.resolve(reference), world, path.join(dir, `w${h}.ref.ndjson`));
        const same = ref.output_sha256 === now.output_sha256;
        identical &&= same;
        row.reference = { ...perUnit(ref), cpu_seconds: round(ref.cpu_seconds, 2), peak_rss_mib: ref.peak_rss_mib, output_sha256: ref.output_sha256, identical: same };
      }
      process.stderr.write(`bench:linear ${JSON.stringify(row)}\n`);
      worlds.push(row);
      await rm(world.replay, { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const rates = worlds.map((w) => w.us_per_record).filter((x): x is number => typeof x === 'number');
  const spread = rates.length > 0 ? round(Math.max(...rates) / Math.min(...rates), 3) : null;
  const result = {
    command: `npm run bench:linear${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    ...(reference !== undefined ? { reference: { dist: reference, note: argValue('--reference-note') ?? null } } : {}),
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', mem_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, note: 'shared 2-core VM: other work runs beside it; CPU time, not wall time, is the figure' },
    world: { seed: 42, services: 30, faults: 'max(2, round(hours / 3))' },
    worlds,
    // Max over min of CPU per record across the worlds; the goal is <= 1.2 (flat within 20%).
    us_per_record_spread: spread,
    flat_within_20pct: spread !== null && spread <= 1.2,
    ...(reference !== undefined ? { output_identical_to_reference: identical } : {}),
  };
  const text = `${JSON.stringify(result, null, 2)}\n`;
  process.stdout.write(text);
  await writeFile(outFile, text);
  if (!identical) {
    process.stderr.write('bench:linear: incident output differs from the reference build\n');
    process.exitCode = 1;
  }
}

await main();
