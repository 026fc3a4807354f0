import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { loadConfig } from '../pipeline/config.js';
import { replayRecords } from '../core/replay.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { loadTopologyFile } from '../ingest/topology.js';
import { summarize, type ScenarioReport } from '../eval/metrics.js';
import { formatReport } from '../eval/report.js';
import { runAndScore, runScenario, scenarioSpecs } from '../eval/run.js';
import { GroundTruth } from '../schemas/index.js';
import { intOpt, numOpt, UsageError, type CliIo } from './io.js';
import { llmConfigFromEnv, type ReasoningRun } from '../reasoning/llm/index.js';
import { formatLlmColumns, llmEvalColumns } from '../eval/llm.js';
import { loadKnowledgeBase } from '../reasoning/rag/index.js';
import { createLogger } from '../core/log.js';
import { formatFeedbackEval } from '../eval/feedback.js';
import { evalFromFeedback } from './eval-feedback.js';

export const EVAL_HELP = `nightshift eval [--scenarios N] [--seed S] [--hours H] [--no-topology] [--json FILE] [--config FILE]
nightshift eval --replay FILE --truth FILE [--topology FILE] [--json FILE]
nightshift eval --feedback [--json FILE]

Runs the pipeline on seeded simulated scenarios (or on a replay file with its ground truth) and reports fault
recall, false incidents per day, AC@1 and AC@3, noise reduction, bundle size and detection delay.
  --scenarios N     simulated scenarios (default 20), seeds S..S+N-1, all fault kinds in rotation
  --seed S          first seed (default 1)
  --hours H         simulated hours per scenario (default 6)
  --no-topology     do not give the pipeline the CMDB: call edges are learned from traces only
  --json FILE       also write the full JSON report (summary, per scenario, per fault)
  --config FILE     configuration (YAML or JSON)
  --replay FILE     score this labelled replay file instead of simulated scenarios (needs --truth)
  --truth FILE      its ground truth (one fault per line, as \`nightshift simulate\` writes)
  --topology FILE   its CMDB file (YAML or JSON)
  --feedback        score the published root causes against responders' feedback in the analytics store
                    (NIGHTSHIFT_CLICKHOUSE_URL, or chdb at NIGHTSHIFT_CHDB_PATH): AC@1, AC@3, kind accuracy, and the
                    top-1 confidence's calibration (10-bin reliability table, ECE, Brier). The truth is each incident's
                    latest correct_root_cause (a confirmation is one naming the published cause); incidents with only
                    ack, resolve or comment are counted but not scored
  --quiet           no per-scenario progress on stderr`;

export const EVAL_OPTIONS = {
  scenarios: { type: 'string' },
  seed: { type: 'string' },
  hours: { type: 'string' },
  'no-topology': { type: 'boolean', default: false },
  json: { type: 'string' },
  config: { type: 'string' },
  replay: { type: 'string' },
  truth: { type: 'string' },
  topology: { type: 'string' },
  feedback: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const;

const NOT_WITH_FEEDBACK = ['scenarios', 'seed', 'hours', 'config', 'replay', 'truth', 'topology'] as const;

async function feedbackMode(json: string | undefined, io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { store, result } = await evalFromFeedback(env, createLogger());
  io.stdout.write(`feedback eval over ${store}\n${formatFeedbackEval(result)}`);
  if (json) await writeFile(json, `${JSON.stringify({ command: 'nightshift eval --feedback', store, ...result }, null, 2)}\n`);
  return 0;
}

export async function evalCommand(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args: argv, options: EVAL_OPTIONS, strict: true });
  if (values.feedback) {
    const stray = NOT_WITH_FEEDBACK.find((k) => values[k] !== undefined) ?? (values['no-topology'] ? 'no-topology' : undefined);
    if (stray) throw new UsageError(`--${stray} does not apply to eval --feedback (it scores the stored incidents)`);
    return feedbackMode(values.json, io, env);
  }
  const cfg = await loadConfig(values.config);
  const useTopology = !values['no-topology'];
  const reports: ScenarioReport[] = [];
  const rankerReports: ScenarioReport[] = [];
  const runs: ReasoningRun[] = [];
  const llm = llmConfigFromEnv(process.env, cfg.llm, { mode: 'inline' });
  const started = process.hrtime.bigint();
  let command: string;
  if (values.replay) {
    if (!values.truth) throw new UsageError('eval --replay needs --truth FILE');
    const truth = (await readFile(values.truth, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l, i) => {
        const r = GroundTruth.safeParse(JSON.parse(l));
        if (!r.success) throw new UsageError(`${values.truth}:${i + 1}: not a ground-truth line: ${r.error.issues[0]?.message ?? ''}`);
        return r.data;
      });
    const topology = values.topology ? await loadTopologyFile(values.topology) : undefined;
    const dl = new MemoryDeadLetters(100);
    const recs = replayRecords(values.replay, { maxLineBytes: cfg.pipeline.maxLineBytes, deadLetters: dl });
    const span = truth.length ? Math.max(...truth.map((t) => t.end)) - Math.min(...truth.map((t) => t.start)) : 0;
    const res = await runAndScore(values.replay, cfg, recs, truth, topology, useTopology && topology !== undefined, Math.max(span, 1), llm);
    reports.push(res.report);
    if (res.rankerReport) rankerReports.push(res.rankerReport);
    runs.push(...res.runs);
    command = `nightshift eval --replay ${values.replay} --truth ${values.truth}${values.topology ? ` --topology ${values.topology}` : ''}`;
  } else {
    const n = intOpt(values.scenarios, 'scenarios', 20, 1, 1000);
    const seed = intOpt(values.seed, 'seed', 1, 0, 2 ** 31 - 1);
    const hours = numOpt(values.hours, 'hours', 6);
    for (const spec of scenarioSpecs(n, seed, hours)) {
      const res = await runScenario(spec, cfg, useTopology, llm);
      reports.push(res.report);
      if (res.rankerReport) rankerReports.push(res.rankerReport);
      runs.push(...res.runs);
      if (!values.quiet) {
        const r = res.report;
        io.stderr.write(`${spec.name}: ${spec.services} services, ${r.raw_records} records, found ${r.detected}/${r.faults}, ${r.incidents} incidents\n`);
      }
    }
    command = `nightshift eval --scenarios ${n} --seed ${seed} --hours ${hours}${useTopology ? '' : ' --no-topology'}`;
  }
  const summary = summarize(reports);
  const llmCols = llm ? llmEvalColumns(reports, rankerReports, runs, loadKnowledgeBase(llm.knowledge)) : null;
  io.stdout.write(formatReport(reports, summary) + (llmCols ? `\n${formatLlmColumns(llmCols)}` : ''));
  if (llm) command = `NIGHTSHIFT_LLM_MODEL=${llm.model} ${command}`;
  if (values.json) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const machine = { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', mem_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}` };
    await writeFile(values.json, `${JSON.stringify({ command, machine, seconds: Math.round(seconds), summary, llm: llmCols, scenarios: reports }, null, 2)}\n`);
  }
  return 0;
}
