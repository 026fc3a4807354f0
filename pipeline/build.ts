import { scannerFor } from '../ingest/redact.js';
import type { IngestStage } from '../ingest/stage.js';
import type { PerceptionStage } from '../perception/stage.js';
import { LlmReasoningStage } from '../reasoning/llm/index.js';
import type { Event, IncidentBundle, IncidentOutput } from '../schemas/index.js';
import type { NightshiftConfig } from './config.js';
import { Counters, type CounterSnapshot } from '../core/counters.js';
import type { DeadLetterSink } from '../core/deadletter.js';
import { chain, runPipeline } from '../core/pipeline.js';
import type { RawRecord } from '../core/raw.js';
import type { Emitter, Stage } from '../core/stage.js';
import { EventAlignStage } from './align.js';
import { PipelineGraph, type GraphParts } from './graph.js';

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

/** The embedded (one-process) pipeline: the graph's nodes once each, joined by bounded queues. */
export function buildEmbedded(
  cfg: NightshiftConfig,
  deps: GraphParts & { readonly deadLetters: DeadLetterSink },
  sink: Stage<IncidentOutput, never> | readonly Stage<IncidentOutput, never>[],
): EmbeddedPipeline {
  const graph = new PipelineGraph(cfg, deps);
  const stageDeps = { log: deps.log, deadLetters: deps.deadLetters };
  const ingest = graph.ingest(stageDeps);
  const perception = graph.perception(stageDeps);
  const align = new EventAlignStage<Event>({ idleMs: cfg.pipeline.alignIdleMs, maxBuffered: cfg.pipeline.alignMaxEvents });
  const meter = new BundleMeter();
  const reasoning = graph.reasoning().stage;
  const out = graph.sink(Array.isArray(sink) ? sink : [sink as Stage<IncidentOutput, never>]);
  const c = graph.eventTap && graph.bundleTap
    ? chain<RawRecord, Event>(ingest).then(graph.eventTap).then(align).then(perception).then(meter).then(graph.bundleTap).then(reasoning).then(out)
    : chain<RawRecord, Event>(ingest).then(align).then(perception).then(meter).then(reasoning).then(out);
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
