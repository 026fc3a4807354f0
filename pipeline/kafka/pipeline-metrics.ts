import { Histogram, METRIC, type MetricsRegistry, type Sample } from '../../core/metrics.js';
import { PerceptionProcessor } from './processors.js';
import type { StageRunner } from './runner.js';

/**
 * What perception and reasoning report beyond the transport counters: alert notifications, signals and incidents,
 * summed over this process's perception lanes (a lane's figures leave with its partition on a rebalance, which
 * Prometheus reads as a counter reset), and the LLM figures.
 */
export function registerPipelineMetrics(reg: MetricsRegistry, runners: () => readonly StageRunner[]): void {
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
  // Cluster mode reasons with the ranker alone (the LLM runs in `nightshift replay`); the LLM series exist, at zero,
  // so dashboards and alerts read the same names in every deployment.
  const llmLatency = new Histogram([0.1, 0.5, 1, 2, 5, 10, 30, 60, 120]);
  reg.register(METRIC.llmLatency, 'LLM request latency.', 'histogram', () => llmLatency.samples());
  reg.register(METRIC.llmCost, 'Estimated LLM cost in US dollars.', 'counter', () => [{ labels: {}, value: 0 }]);
  reg.register(METRIC.llmTokens, 'LLM tokens, by direction.', 'counter', () => [
    { labels: { direction: 'in' }, value: 0 },
    { labels: { direction: 'out' }, value: 0 },
  ]);
  reg.register(METRIC.llmFallbacks, 'LLM runs that fell back to the ranker.', 'counter', () => [{ labels: {}, value: 0 }]);
}
