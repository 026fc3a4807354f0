import { buildEmbedded } from '../pipeline/build.js';
import type { NightshiftConfig } from '../pipeline/config.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import type { RawRecord } from '../core/raw.js';
import type { GroundTruth, IncidentOutput, ReplayRecord, TopologyFile } from '../schemas/index.js';
import { simulate } from '../sim/index.js';
import { MemorySink } from '../sinks/index.js';
import { DEFAULT_MATCH, scoreScenario, type MatchOptions, type ScenarioReport } from './metrics.js';
import { RunLog, type ActiveLlmConfig, type ReasoningRun } from '../reasoning/llm/index.js';

export interface ScenarioSpec {
  readonly name: string;
  readonly seed: number;
  readonly services: number;
  readonly hours: number;
  readonly faults: number;
}

/** Fault kinds rotate across scenarios so that every kind is covered whatever the count. */
export function scenarioSpecs(count: number, baseSeed: number, hours: number): ScenarioSpec[] {
  const specs: ScenarioSpec[] = [];
  for (let i = 0; i < count; i++) {
    const seed = baseSeed + i;
    // 12 to 36 services: small and large worlds alternate.
    const services = 12 + ((i * 7) % 25);
    specs.push({ name: `sim-${seed}`, seed, services, hours, faults: 3 });
  }
  return specs;
}

/** Simulator records as raw records, numbered as the lines of the replay file they would be. */
export async function* asRaw(records: Iterable<ReplayRecord> | AsyncIterable<ReplayRecord>): AsyncGenerator<RawRecord> {
  let line = 0;
  for await (const r of records) {
    line++;
    yield { topic: r.topic, key: r.key ?? null, payload: r.payload, ...(r.ts !== undefined ? { ts: r.ts } : {}), source: { line } };
  }
}

export interface RunResult {
  readonly report: ScenarioReport;
  readonly outputs: readonly IncidentOutput[];
  readonly deadLetters: number;
  /** With an LLM: the same scenario scored on the ranker's outputs alone, and every reasoning run. */
  readonly rankerReport: ScenarioReport | null;
  readonly runs: readonly ReasoningRun[];
}

/** Runs the embedded pipeline over records and scores the outputs against the ground truth. */
export async function runAndScore(
  name: string,
  cfg: NightshiftConfig,
  records: AsyncIterable<RawRecord>,
  truth: readonly GroundTruth[],
  topology: TopologyFile | undefined,
  useTopology: boolean,
  durationMs: number,
  llm: ActiveLlmConfig | null = null,
  match: MatchOptions = DEFAULT_MATCH,
): Promise<RunResult> {
  const sink = new MemorySink<IncidentOutput>();
  const deadLetters = new MemoryDeadLetters(100);
  const runs = new RunLog();
  const ranked: IncidentOutput[] = [];
  const p = buildEmbedded(
    cfg,
    {
      log: silentLogger(),
      deadLetters,
      ...(useTopology && topology ? { topology } : {}),
      ...(llm ? { llm, onRun: runs.add, onRanked: (o: IncidentOutput) => ranked.push(o) } : {}),
    },
    sink,
  );
  await p.run(records);
  const s = p.stats();
  const base = {
    name,
    truth,
    ...(topology ? { topology } : {}),
    rawRecords: s.rawRecords,
    rawAlerts: s.rawAlerts,
    bundles: s.bundles,
    durationMs,
  };
  const report = scoreScenario({ ...base, outputs: sink.items }, match);
  const rankerReport = llm ? scoreScenario({ ...base, outputs: ranked }, match) : null;
  return { report, outputs: sink.items, deadLetters: deadLetters.count, rankerReport, runs: runs.runs };
}

export async function runScenario(spec: ScenarioSpec, cfg: NightshiftConfig, useTopology: boolean, llm: ActiveLlmConfig | null = null): Promise<RunResult> {
  const sim = simulate({ seed: spec.seed, services: spec.services, hours: spec.hours, faults: spec.faults });
  // Faults, topology and the time span are planned before generation; the record counts are final after it.
  const plan = sim.result();
  const res = await runAndScore(spec.name, cfg, asRaw(sim.records), plan.faults, plan.topology, useTopology, plan.endMs - plan.startMs, llm);
  return res;
}
