import { Histogram, METRIC, type MetricsRegistry, type Sample } from '../../core/metrics.js';
import type { ReasoningRun } from '../../reasoning/llm/index.js';
import { PerceptionProcessor } from './processors.js';
import type { StageRunner } from './runner.js';

/**
 * What perception and reasoning report beyond the transport counters: alert notifications, signals and incidents,
 * summed over this process's perception lanes (a lane's figures leave with its partition on a rebalance, which
 * Prometheus reads as a counter reset), and the LLM figures.
 */
export function registerPipelineMetrics(reg: MetricsRegistry, runners: () => readonly StageRunner[], runs?: LlmRunTally): void {
  const perception = (): PerceptionProcessor[] =>
    runners().flatMap((r) => r.laneList().map((l) => l.processor).filter((p): p is PerceptionProcessor => p instanceof PerceptionProcessor));
  const sum = (f: (p: PerceptionProcessor) => number): Sample[] => [{ labels: {}, value: perception().reduce((a, p) => a + f(p), 0) }];
  reg.register(METRIC.alertsIn, 'Raw alert notifications perception received (duplicates and repeats included).', 'counter', () =>
    sum((p) => p.stage.stats().rawAlerts),
  );
  reg.register(METRIC.signals, 'Signals perception produced, by type.', 'counter', () => {
    const by = new Map<string, number>();
    for (const p of perception()) for (const [t, n] of Object.entries(p.stage.stats().signalsByType)) by.set(t, (by.get(t) ?? 0) + n);
    return [...by.entries()].sort().map(([type, value]) => ({ labels: { type }, value }));
  });
  reg.register(METRIC.incidentsOpened, 'Incidents perception opened.', 'counter', () => sum((p) => p.stage.stats().incidentsOpened));
  reg.register(METRIC.incidentsOpen, 'Incidents open now in this process.', 'gauge', () => sum((p) => p.stage.stats().correlator.open));
  const llm = runs ?? new LlmRunTally();
  reg.register(METRIC.llmLatency, 'LLM request latency.', 'histogram', () => llm.latency.samples());
  reg.register(METRIC.llmCost, 'Estimated LLM cost in US dollars (runs of models with a known price).', 'counter', () => [{ labels: {}, value: llm.costUsd }]);
  reg.register(METRIC.llmTokens, 'LLM tokens, by direction.', 'counter', () => [
    { labels: { direction: 'in' }, value: llm.tokensIn },
    { labels: { direction: 'out' }, value: llm.tokensOut },
  ]);
  reg.register(METRIC.llmFallbacks, 'LLM runs that fell back to the ranker.', 'counter', () => [{ labels: {}, value: llm.fallbacks }]);
}

/**
 * The LLM figures of this process's reasoning lanes, fed by the LLM stage's run observer. Without an LLM configured
 * they stay at zero, and the series still exist, so dashboards and alerts read the same names in every deployment.
 */
export class LlmRunTally {
  readonly latency = new Histogram([0.1, 0.5, 1, 2, 5, 10, 30, 60, 120]);
  costUsd = 0;
  tokensIn = 0;
  tokensOut = 0;
  fallbacks = 0;
  runs = 0;

  observe(r: ReasoningRun): void {
    if (r.outcome === 'skipped') return;
    this.runs++;
    this.latency.observe(r.latency_ms / 1000);
    this.tokensIn += r.tokens_in;
    this.tokensOut += r.tokens_out;
    if (r.cost_usd !== null) this.costUsd += r.cost_usd;
    if (r.outcome === 'fallback') this.fallbacks++;
  }
}
