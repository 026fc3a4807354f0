/**
 * `npm run bench:real`: the pipeline on real labelled recordings (../shared/data/nezha-ob by default, read in
 * place, never copied). Per fault: found = an incident opened within [start - 60 s, end + 10 min] that touches the
 * root or one of its callers; AC@1/AC@3 of the incident's state at the end of the fault window and of its final
 * state; kind accuracy; incidents per fault; false incidents per day; detection delay; per fault kind.
 * The first day is the one tuned on; the others are reported as held out.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../pipeline/config.js';
import { MemoryDeadLetters } from '../../core/deadletter.js';
import { replayRecords } from '../../core/replay.js';
import { summarize, type ScenarioReport, type Summary } from '../../eval/metrics.js';
import { formatReport } from '../../eval/report.js';
import { runAndScore } from '../../eval/run.js';
import { loadTopologyFile } from '../../ingest/topology.js';
import { GroundTruth } from '../../schemas/index.js';

const MATCH = { earlySlackMs: 60_000, lateSlackMs: 10 * 60_000 } as const;

interface DayResult {
  readonly day: string;
  readonly role: 'tuned' | 'held-out';
  readonly seconds: number;
  readonly summary: Summary;
  readonly report: ScenarioReport;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: path.resolve('..', 'shared', 'data', 'nezha-ob') },
      tune: { type: 'string', default: 'hipster-2022-08-22' },
      out: { type: 'string', default: 'bench/results/real-nezha' },
      config: { type: 'string' },
      'no-topology': { type: 'boolean', default: false },
    },
  });
  const data = values.data as string;
  if (!existsSync(data)) throw new Error(`no dataset at ${data} (bench:real reads ../shared/data/nezha-ob in place)`);
  const days = readdirSync(data, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(data, d.name, 'replay.ndjson.gz')))
    .map((d) => d.name)
    .sort();
  const cfg = await loadConfig(values.config);
  const results: DayResult[] = [];
  for (const day of days) {
    const dir = path.join(data, day);
    const truth = readFileSync(path.join(dir, 'truth.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => GroundTruth.parse(JSON.parse(l)));
    const topoFile = path.join(dir, 'topology.json');
    const topology = existsSync(topoFile) ? await loadTopologyFile(topoFile) : undefined;
    const dl = new MemoryDeadLetters(100);
    const started = process.hrtime.bigint();
    const recs = replayRecords(path.join(dir, 'replay.ndjson.gz'), { maxLineBytes: cfg.pipeline.maxLineBytes, deadLetters: dl });
    // Duration for "per day": the recording's span, from the first fault's start to the last one's end plus the match slack.
    const span = Math.max(...truth.map((t) => t.end)) + MATCH.lateSlackMs - (Math.min(...truth.map((t) => t.start)) - MATCH.earlySlackMs);
    const res = await runAndScore(day, cfg, recs, truth, topology, !values['no-topology'] && topology !== undefined, span, null, MATCH);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary = summarize([res.report]);
    results.push({ day, role: day === values.tune ? 'tuned' : 'held-out', seconds: Math.round(seconds), summary, report: res.report });
    process.stderr.write(`${day}: found ${res.report.detected}/${res.report.faults}, AC@1 at end ${(summary.ac_at_1_at_end * 100).toFixed(1)}%, ${res.report.incidents} incidents (${seconds.toFixed(0)} s)\n`);
  }
  const all = summarize(results.map((r) => r.report));
  const held = results.filter((r) => r.role === 'held-out');
  const heldSummary = held.length ? summarize(held.map((r) => r.report)) : null;
  const command = `npm run bench:real${values.config ? ` -- --config ${values.config}` : ''}${values['no-topology'] ? ' -- --no-topology' : ''}`;
  const machine = { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', mem_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}` };
  const text = [
    `# ${command}`,
    `# ${machine.cpus} x ${machine.cpu_model}, ${machine.mem_gib} GiB, Node ${machine.node}; data ${path.relative(process.cwd(), data)} (read in place)`,
    `# match: incident opened within [start - 60 s, end + 10 min], touching the root or a caller; one fault per incident`,
    ...results.map((r) => `\n## ${r.day} (${r.role}, ${r.seconds} s)\n${formatReport([r.report], r.summary)}${perFault(r.report)}`),
    heldSummary ? `\n## held out only\n${formatReport(held.map((r) => r.report), heldSummary)}` : '',
    `\n## all days\n${formatReport(results.map((r) => r.report), all)}`,
  ].join('\n');
  process.stdout.write(text);
  await writeFile(`${values.out}.txt`, text);
  await writeFile(`${values.out}.json`, `${JSON.stringify({ command, machine, match: MATCH, summary: all, held_out: heldSummary, days: results }, null, 2)}\n`);
}

function perFault(r: ScenarioReport): string {
  const rows = r.per_fault.map(
    (f) =>
      `  ${f.fault_id.padEnd(56)} ${f.detected ? 'found' : 'MISS '} end:${f.rank_at_end === null ? '-' : `#${f.rank_at_end}`} final:${f.rank === null ? '-' : `#${f.rank}`} top=${f.predicted_top ?? '-'} kind=${f.predicted_kind ?? '-'} delay=${f.delay_ms === null ? '-' : Math.round(f.delay_ms / 1000)}s incidents=${f.incidents}`,
  );
  return `\nper fault:\n${rows.join('\n')}\n`;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:real: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
