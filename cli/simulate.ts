import { parseArgs } from 'node:util';
import { simulateToFiles, type SimulationResult } from '../sim/index.js';
import { intOpt, numOpt, Progress, UsageError, type CliIo } from './io.js';

export const SIMULATE_HELP = `nightshift simulate --out FILE [--truth FILE] [--topology FILE] [--seed N] [--services N] [--hours H] [--faults N] [--quiet]

Writes a seeded microservice world as a replay file, its ground truth (one fault per line) and its topology.
  --out FILE        replay file (NDJSON, kcat -J shape)
  --truth FILE      ground truth (default: <out without .ndjson>.truth.ndjson)
  --topology FILE   topology (default: <out without .ndjson>.topology.json)
  --seed N          seed (default 1); the same seed gives byte-identical files
  --services N      10 to 40 (default 20)
  --hours H         simulated hours (default 6)
  --faults N        injected faults (default 3)
  --quiet           no progress or summary`;

export const SIMULATE_OPTIONS = {
  out: { type: 'string' },
  truth: { type: 'string' },
  topology: { type: 'string' },
  seed: { type: 'string' },
  services: { type: 'string' },
  hours: { type: 'string' },
  faults: { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

export function siblingPaths(out: string): { truth: string; topology: string } {
  const base = out.replace(/\.ndjson$|\.jsonl$/i, '');
  return { truth: `${base}.truth.ndjson`, topology: `${base}.topology.json` };
}

export async function simulateCommand(argv: string[], io: CliIo): Promise<SimulationResult> {
  const { values } = parseArgs({ args: argv, options: SIMULATE_OPTIONS, strict: true });
  if (!values.out) throw new UsageError('simulate needs --out FILE');
  const sib = siblingPaths(values.out);
  const paths = { replay: values.out, truth: values.truth ?? sib.truth, topology: values.topology ?? sib.topology };
  const progress = new Progress(io, 'simulate', 100_000, values.quiet);
  const res = await simulateToFiles(
    {
      seed: intOpt(values.seed, 'seed', 1, 0, 2 ** 31 - 1),
      services: intOpt(values.services, 'services', 20, 10, 40),
      hours: numOpt(values.hours, 'hours', 6),
      faults: intOpt(values.faults, 'faults', 3, 0, 1000),
    },
    paths,
    (p) => progress.tick(p.records),
  );
  progress.done();
  if (!values.quiet) {
    io.stderr.write(
      `simulated ${res.records} records (${Object.entries(res.byTopic).map(([t, n]) => `${t} ${n}`).join(', ')}), ` +
        `${res.rawAlerts} alert notifications, ${res.faults.length} faults\n` +
        `replay: ${paths.replay}\ntruth: ${paths.truth}\ntopology: ${paths.topology}\n`,
    );
  }
  return res;
}
