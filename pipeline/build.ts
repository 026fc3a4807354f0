import type { Logger } from 'pino';
import { scannerFor } from '../ingest/redact.js';
import { IngestStage } from '../ingest/stage.js';
import { createPerception, type PerceptionStage } from '../perception/stage.js';
import { ReasoningStage } from '../reasoning/stage.js';
import { createLlmStage, LlmReasoningStage, type ActiveLlmConfig, type RunObserver } from '../reasoning/llm/index.js';
import type { LlmStageDeps } from '../reasoning/llm/create.js';
import type { Event, IncidentBundle, IncidentOutput, TopologyFile } from '../schemas/index.js';
import type { NightshiftConfig } from './config.js';
import { Counters, type CounterSnapshot } from '../core/counters.js';
import type { DeadLetterSink } from '../core/deadletter.js';
import { chain, runPipeline } from '../core/pipeline.js';
import type { RawRecord } from '../core/raw.js';
import type { Emitter, Stage } from '../core/stage.js';
import { FanoutSink } from '../sinks/fanout.js';
import type { AnalyticsSink } from '../sinks/clickhouse/analytics.js';

/**
 * Passes bundles through and measures them: size is what reasoning (and an LLM's token bill) pays for, so the display
 * `details` beside the budget (never read by reasoning) are not counted.
 */
export class BundleMeter implements Stage<IncidentBundle, IncidentBundle> {
  readonly name = 'bundle-meter';
  readonly counters = new Counters();
  bytesTotal = 0;
  bytesMax = 0;
  readonly incidents = new Set<string>();
  process(b: IncidentBundle, out: Emitter<IncidentBundle>): void {
    const { details: _details, ...read } = b;
    const bytes = Buffer.byteLength(JSON.stringify(read), 'utf8');
    this.bytesTotal += bytes;
    if (bytes > this.bytesMax) this.bytesMax = bytes;
    this.incidents.add(b.incident_id);
    out.emit(b);
  }
}

export interface PipelineStats {
  readonly stages: Readonly<Record<string, CounterSnapshot>>;
  readonly deadLetters: { readonly total: number; readonly byCode: Readonly<Record<string, number>> };
  readonly rawRecords: number;
  readonly rawAlerts: number;
  /** Secrets redacted at ingest (and in dead letters), by rule. */
  readonly redacted: Readonly<Record<string, number>>;
  readonly signals: number;
  readonly bundles: { readonly emitted: number; readonly bytesTotal: number; readonly bytesMax: number };
  readonly incidents: number;
  /** LLM run outcomes by kind, or null when the ranker alone reasons. */
  readonly llm: Readonly<Record<string, number>> | null;
}

export interface EmbeddedPipeline {
  readonly ingest: IngestStage;
  readonly perception: PerceptionStage;
  readonly meter: BundleMeter;
  readonly reasoning: Stage<IncidentBundle, IncidentOutput>;
  run(source: AsyncIterable<RawRecord>): Promise<void>;
  stats(): PipelineStats;
}

/** The embedded (one-process) pipeline: ingest -> perception -> reasoning -> sink, joined by bounded queues. */
export function buildEmbedded(
  cfg: NightshiftConfig,
  deps: {
    readonly log: Logger;
    readonly deadLetters: DeadLetterSink;
    readonly topology?: TopologyFile;
    /** Analytics (ClickHouse, chdb or NDJSON tables): taps on events and bundles, and a sink for incident outputs. */
    readonly analytics?: AnalyticsSink;
    /** The LLM reasoner (`llmConfigFromEnv`); without it the ranker alone reasons. */
    readonly llm?: ActiveLlmConfig | null;
    /** Past incidents with confirmed causes for the LLM's knowledge base (mcp/past-incidents.ts); none without it. */
    readonly pastIncidents?: LlmStageDeps['pastIncidents'];
    /** Every reasoning run (evals, the replay summary). */
    readonly onRun?: RunObserver;
    /** The ranker's outputs before any LLM update: "without the LLM" in evals. */
    readonly onRanked?: (o: IncidentOutput) => void;
  },
  sink: Stage<IncidentOutput, never> | readonly Stage<IncidentOutput, never>[],
): EmbeddedPipeline {
  const stageDeps = { log: deps.log, deadLetters: deps.deadLetters };
  const a = deps.analytics;
  const ingest = new IngestStage(cfg.ingest, stageDeps);
  const perception = createPerception(cfg.perception, stageDeps, deps.topology, a?.onSignal);
  const meter = new BundleMeter();
  const ranker = new ReasoningStage(cfg.reasoning);
  const reasoning: Stage<IncidentBundle, IncidentOutput> = deps.llm
    ? createLlmStage(deps.llm, {
        ranker,
        log: deps.log,
        ...(deps.pastIncidents ? { pastIncidents: deps.pastIncidents } : {}),
        ...(deps.onRun ? { onRun: deps.onRun } : {}),
        ...(deps.onRanked ? { onRanked: deps.onRanked } : {}),
      })
    : ranker;
  const sinks = [...(Array.isArray(sink) ? sink : [sink as Stage<IncidentOutput, never>]), ...(a ? [a.incidentSink] : [])];
  const out = sinks.length === 1 ? sinks[0]! : new FanoutSink(sinks);
  const c = a
    ? chain<RawRecord, Event>(ingest).then(a.eventTap).then(perception).then(meter).then(a.bundleTap).then(reasoning).then(out)
    : chain<RawRecord, Event>(ingest).then(perception).then(meter).then(reasoning).then(out);
  return {
    ingest,
    perception,
    meter,
    reasoning,
    run: (source) => runPipeline(source, c, { queueBatches: cfg.pipeline.queueBatches, batchSize: cfg.pipeline.batchSize }),
    stats: () => {
      const p = perception.stats();
      return {
        stages: Object.fromEntries(c.stages.map((s) => [s.name, s.counters.snapshot()])),
        deadLetters: { total: deps.deadLetters.count, byCode: deps.deadLetters.byCode() },
        rawRecords: ingest.counters.received,
        rawAlerts: p.rawAlerts,
        redacted: Object.fromEntries([...scannerFor(cfg.ingest).counts.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1))),
        signals: p.signals,
        bundles: { emitted: meter.counters.received, bytesTotal: meter.bytesTotal, bytesMax: meter.bytesMax },
        incidents: meter.incidents.size,
        llm: reasoning instanceof LlmReasoningStage ? reasoning.runCounts() : null,
      };
    },
  };
}
