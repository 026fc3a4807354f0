import type { Logger } from 'pino';
import { IngestStage } from '../ingest/stage.js';
import { createPerception, type PerceptionStage } from '../perception/stage.js';
import { ReasoningStage, type ReasoningConfig } from '../reasoning/stage.js';
import { createLlmStage, type ActiveLlmConfig, type LlmStageDeps, type RunObserver } from '../reasoning/llm/index.js';
import type { Event, IncidentBundle, IncidentOutput, TopologyFile } from '../schemas/index.js';
import type { Stage, StageDeps } from '../core/stage.js';
import { FanoutSink } from '../sinks/fanout.js';
import type { AnalyticsSink } from '../sinks/clickhouse/analytics.js';
import type { NightshiftConfig } from './config.js';

/** What the graph is made of beyond the configuration: the store, the model, the observers. */
export interface GraphParts {
  readonly log: Logger;
  readonly topology?: TopologyFile;
  /** Analytics (ClickHouse, chdb or NDJSON tables): taps on events and bundles, and a sink for incident outputs. */
  readonly analytics?: AnalyticsSink;
  /** The LLM reasoner (`llmConfigFromEnv`); without it the ranker alone reasons. */
  readonly llm?: ActiveLlmConfig | null;
  /** Past incidents with confirmed causes for the LLM's knowledge base (mcp/past-incidents.ts); none without it. */
  readonly pastIncidents?: LlmStageDeps['pastIncidents'];
  /** Every reasoning run (evals, the replay summary, the reasoning_runs table). */
  readonly onRun?: RunObserver;
  /** The ranker's outputs before any LLM update: "without the LLM" in evals. */
  readonly onRanked?: (o: IncidentOutput) => void;
}

/** The reasoning node: the deterministic ranker, and the stage that reasons (the ranker, or the LLM stage around it). */
export interface ReasoningNode {
  readonly config: ReasoningConfig;
  readonly ranker: ReasoningStage;
  readonly stage: Stage<IncidentBundle, IncidentOutput>;
}

/**
 * The pipeline graph, built once from the configuration: ingest -> [event tap] -> perception (signal observer) ->
 * [bundle tap] -> reasoning (ranker, with the LLM, its guard and budget when configured) -> sinks (+ the analytics
 * incident sink). Each transport instantiates the nodes where it runs them: the embedded transport once, joined by
 * bounded queues (pipeline/build.ts); the Kafka transport once per partition (ingest, perception, reasoning) and
 * once per process (the sinks), joined by topics (pipeline/kafka/cluster.ts). Nothing else wires stages.
 */
export class PipelineGraph {
  constructor(
    readonly config: NightshiftConfig,
    readonly parts: GraphParts,
  ) {}

  ingest(deps: StageDeps): IngestStage {
    return new IngestStage(this.config.ingest, deps);
  }

  perception(deps: StageDeps): PerceptionStage {
    return createPerception(this.config.perception, deps, this.parts.topology, this.parts.analytics?.onSignal);
  }

  reasoning(): ReasoningNode {
    const config = this.config.reasoning;
    const ranker = new ReasoningStage(config);
    const p = this.parts;
    if (!p.llm) return { config, ranker, stage: ranker };
    const stage = createLlmStage(p.llm, {
      ranker,
      log: p.log,
      ...(p.pastIncidents ? { pastIncidents: p.pastIncidents } : {}),
      ...(p.onRun ? { onRun: p.onRun } : {}),
      ...(p.onRanked ? { onRanked: p.onRanked } : {}),
    });
    return { config, ranker, stage };
  }

  /** Between ingest and perception: pipeline_stats records in, per minute. Null without analytics. */
  get eventTap(): Stage<Event, Event> | null {
    return this.parts.analytics?.eventTap ?? null;
  }

  /** Between perception and reasoning: signals, log templates and first-symptom times. Null without analytics. */
  get bundleTap(): Stage<IncidentBundle, IncidentBundle> | null {
    return this.parts.analytics?.bundleTap ?? null;
  }

  /** The given sinks and, after them, the analytics incident sink, as one stage. */
  sink(sinks: readonly Stage<IncidentOutput, never>[]): Stage<IncidentOutput, never> {
    const all = [...sinks, ...(this.parts.analytics ? [this.parts.analytics.incidentSink] : [])];
    return all.length === 1 ? all[0]! : new FanoutSink(all);
  }
}
