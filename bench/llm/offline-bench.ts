import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultConfig } from '../../pipeline/config.js';
import { MemoryDeadLetters } from '../../core/deadletter.js';
import { silentLogger } from '../../core/log.js';
import { chain, runPipeline } from '../../core/pipeline.js';
import type { RawRecord } from '../../core/raw.js';
import { scoreScenario, type ScenarioReport } from '../../eval/metrics.js';
import { scenarioSpecs } from '../../eval/run.js';
import { IngestStage } from '../../ingest/stage.js';
import { createPerception } from '../../perception/stage.js';
import type { Event, IncidentOutput } from '../../schemas/index.js';
import { simulate } from '../../sim/index.js';
import { MemorySink } from '../../sinks/index.js';
import { KnowledgeConfig, loadKnowledgeBase } from '../../reasoning/rag/kb.js';
import { ReasoningConfig, ReasoningStage } from '../../reasoning/stage.js';
import { LlmConfig } from '../../reasoning/llm/config.js';
import { createLlmStage } from '../../reasoning/llm/create.js';
import { DRY_RUN_MODEL } from '../../reasoning/llm/dryrun.js';
import { formatLlmColumns, llmEvalColumns } from '../../eval/llm.js';
import type { ReasoningRun } from '../../reasoning/llm/run.js';

/**
 * The LLM path without a model, on simulated scenarios: prompt sizes under the budget, retrieval hits against the
 * ground truth, the guard's verdicts, and the stage's own overhead per run (retrieval, redaction, prompt, guard).
 * Accuracy "with the LLM" equals the ranker's by construction (the dry-run model echoes it).
 *   node dist/bench/llm/offline-bench.js --scenarios 8 --seed 1 --hours 3 --out bench/results/llm-dryrun.json
 */
function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? null;
}

export async function offlineBench(n: number, seed: number, hours: number): Promise<Record<string, unknown>> {
  const cfg = defaultConfig();
  const llm = { ...LlmConfig.parse({ mode: 'inline' }), model: DRY_RUN_MODEL };
  const kb = loadKnowledgeBase(KnowledgeConfig.parse({}));
  const withLlm: ScenarioReport[] = [];
  const withoutLlm: ScenarioReport[] = [];
  const runs: ReasoningRun[] = [];
  for (const spec of scenarioSpecs(n, seed, hours)) {
    const sim = simulate({ seed: spec.seed, services: spec.services, hours: spec.hours, faults: spec.faults });
    const plan = sim.result();
    const deps = { log: silentLogger(), deadLetters: new MemoryDeadLetters(100) };
    const sink = new MemorySink<IncidentOutput>();
    const ranked: IncidentOutput[] = [];
    const stage = createLlmStage(llm, { ranker: new ReasoningStage(ReasoningConfig.parse({})), knowledge: kb, onRun: (r) => runs.push(r), onRanked: (o) => ranked.push(o) });
    const c = chain<RawRecord, Event>(new IngestStage(cfg.ingest, deps)).then(createPerception(cfg.perception, deps, plan.topology)).then(stage).then(sink);
    async function* raw(): AsyncGenerator<RawRecord> {
      let line = 0;
      for (const r of sim.records) yield { topic: r.topic, key: r.key ?? null, payload: r.payload, ...(r.ts !== undefined ? { ts: r.ts } : {}), source: { line: ++line } };
    }
    await runPipeline(raw(), c, { queueBatches: cfg.pipeline.queueBatches, batchSize: cfg.pipeline.batchSize });
    const base = { name: spec.name, truth: plan.faults, topology: plan.topology, rawRecords: 0, rawAlerts: 0, bundles: { emitted: 0, bytesTotal: 0, bytesMax: 0 }, durationMs: plan.endMs - plan.startMs };
    withLlm.push(scoreScenario({ ...base, outputs: sink.items }));
    withoutLlm.push(scoreScenario({ ...base, outputs: ranked }));
    process.stderr.write(`${spec.name}: ${sink.items.length} lines, ${runs.length} run records so far\n`);
  }
  const cols = llmEvalColumns(withLlm, withoutLlm, runs, kb);
  const called = runs.filter((r) => r.attempts > 0);
  const prompt = called.map((r) => r.prompt_tokens_estimated);
  const overhead = called.map((r) => r.latency_ms);
  process.stdout.write(formatLlmColumns(cols));
  return {
    command: `node dist/bench/llm/offline-bench.js --scenarios ${n} --seed ${seed} --hours ${hours}`,
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', mem_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}` },
    config: { maxInputTokens: llm.maxInputTokens, maxOutputTokens: llm.maxOutputTokens, maxRunsPerIncident: llm.maxRunsPerIncident, tokenBudget: llm.tokenBudget, topK: llm.knowledge.topK, knowledge_docs: kb.docs.length },
    columns: cols,
    prompt_tokens_estimated: { p50: quantile(prompt, 0.5), p95: quantile(prompt, 0.95), max: prompt.length ? Math.max(...prompt) : null },
    stage_overhead_ms: { p50: quantile(overhead, 0.5), p95: quantile(overhead, 0.95) },
    omitted_runs: called.filter((r) => r.omitted && Object.values(r.omitted).some((v) => v > 0)).length,
    redactions_per_run: called.length ? called.reduce((a, r) => a + r.redactions, 0) / called.length : 0,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scenarios: { type: 'string', default: '8' }, seed: { type: 'string', default: '1' }, hours: { type: 'string', default: '3' }, out: { type: 'string' } } });
  const res = await offlineBench(Number(values.scenarios), Number(values.seed), Number(values.hours));
  if (values.out) writeFileSync(values.out, `${JSON.stringify(res, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
