import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { finalStates, scoreScenario } from '../eval/metrics.js';
import { IncidentOutput } from '../schemas/index.js';
import { intOpt, type CliIo } from './io.js';
import { replayCommand } from './replay.js';
import { simulateCommand } from './simulate.js';

export const DEMO_HELP = `nightshift demo [--seed N] [--dir DIR]

The quick start: simulates a seeded scenario (20 services, 6 hours, 3 faults), runs it through the embedded pipeline
and prints the incidents with their top-3 root causes, the noise figures and how they compare with the ground truth.`;

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { seed: { type: 'string' }, dir: { type: 'string' } }, strict: true });
  const seed = intOpt(values.seed, 'seed', 7, 0, 2 ** 31 - 1);
  const dir = values.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'nightshift-demo-')));
  await mkdir(dir, { recursive: true });
  const replay = path.join(dir, 'replay.ndjson');
  const out = path.join(dir, 'incidents.ndjson');
  io.stderr.write(`1/3 simulating seed ${seed} into ${dir}\n`);
  const sim = await simulateCommand(['--out', replay, '--seed', String(seed), '--services', '20', '--hours', '6', '--faults', '3'], io);
  io.stderr.write(`2/3 running the pipeline\n`);
  const { stats } = await replayCommand(['--in', replay, '--topology', path.join(dir, 'replay.topology.json'), '--out', out], io);
  io.stderr.write(`3/3 incidents\n`);
  const lines = (await readFile(out, 'utf8')).split('\n').filter((l) => l !== '');
  const outputs = lines.map((l) => IncidentOutput.parse(JSON.parse(l)));
  const time = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
  for (const inc of finalStates(outputs).sort((a, b) => a.opened_at - b.opened_at)) {
    io.stdout.write(
      `\n${inc.incident_id} ${inc.status} ${time(inc.opened_at)}-${time(inc.updated_at)} UTC  ${inc.services.length} services, ` +
        `${inc.counts.alerts} alerts, ${inc.counts.signals} signals\n`,
    );
    for (const rc of inc.root_causes) io.stdout.write(`  #${rc.rank} ${rc.service} [${rc.kind}] ${(rc.confidence * 100).toFixed(0)}%  ${rc.summary}\n`);
  }
  const report = scoreScenario({
    name: `seed ${seed}`,
    outputs,
    truth: sim.faults,
    topology: sim.topology,
    rawRecords: stats.rawRecords,
    rawAlerts: stats.rawAlerts,
    bundles: stats.bundles,
    durationMs: sim.endMs - sim.startMs,
  });
  io.stdout.write('\nground truth:\n');
  for (const f of report.per_fault) {
    io.stdout.write(`  ${f.fault_id} ${f.kind} at ${f.service}: ${f.detected ? `found, root ranked ${f.rank === null ? '>3' : `#${f.rank}`}, after ${Math.round((f.delay_ms ?? 0) / 1000)} s` : 'MISSED'}\n`);
  }
  const nr = stats.rawAlerts ? 1 - stats.incidents / stats.rawAlerts : 0;
  io.stdout.write(
    `\n${stats.rawRecords} records, ${stats.rawAlerts} alert notifications -> ${stats.signals} signals -> ${stats.incidents} incidents ` +
      `(${(nr * 100).toFixed(1)}% fewer pages than alerts; ${report.false_incidents} not matching a fault)\n` +
      `output: ${out}\n`,
  );
  return 0;
}
