import type { Rng } from '../rng.js';
import type { MetricStyle } from '../shapes.js';
import type { SvcState } from '../state.js';
import type { ExportedPoint, MetricSnapshot } from './metrics.js';


/**
 * What a service exports from one scrape, by metric style (shapes.ts): the classic names, the percentage names
 * real estates use instead (`SuccessRate(%)`, `CpuUsageRate(%)`), or ratios beside the classic names; latency as
 * one p95 series or as a P50/P90/P95/P99 family of one measurement. Units are OTLP/UCUM (`%`, `1`, `s`, `ms`, `By`).
 */

const CLASSIC_UNITS: Record<keyof MetricSnapshot, string> = {
  cpu_utilization: '1',
  memory_used_bytes: 'By',
  request_rate: '{request}/s',
  error_rate: '1',
  latency_p95_ms: 'ms',
  connection_pool_utilization: '1',
};

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

/** Quantiles of the latency distribution relative to p95 at baseline (a log-normal-ish shape); faults add to every quantile. */
const Q_SHAPE = [
  ['50', 1 / 2.28],
  ['90', 1 / 1.25],
  ['95', 1],
  ['99', 1.6],
] as const;

/** Latency quantiles (ms) of one scrape: p95 as scraped, the others from the same state with their own noise. */
function latencyQuantiles(s: SvcState, m: MetricSnapshot, rng: Rng): [string, number][] {
  const added = Math.max(0, s.p95 - s.baseP95);
  return Q_SHAPE.map(([q, k]) => [q, k === 1 ? m.latency_p95_ms : Math.max(0.1, (s.baseP95 * k + added) * (1 + 0.06 * rng.normal()))]);
}

export function exportedPoints(s: SvcState, m: MetricSnapshot, style: MetricStyle, quantiles: boolean, rng: Rng): ExportedPoint[] {
  const out: ExportedPoint[] = [];
  const limit = s.svc.memLimitBytes;
  const lat = (prefix: string, suffix: string, unit: 's' | 'ms'): void => {
    const qs: [string, number][] = quantiles ? latencyQuantiles(s, m, rng) : [['95', m.latency_p95_ms]];
    for (const [q, ms] of qs) out.push({ name: `${prefix}${q}${suffix}`, unit, value: unit === 's' ? round(ms / 1000, 5) : round(ms, 2) });
  };
  if (style === 'percent') {
    out.push({ name: 'CpuUsageRate(%)', unit: '%', value: round(100 * m.cpu_utilization, 2) });
    out.push({ name: 'MemoryUsageRate(%)', unit: '%', value: round(Math.min(100, (100 * m.memory_used_bytes) / limit), 2) });
    out.push({ name: 'request_rate', unit: CLASSIC_UNITS.request_rate, value: m.request_rate });
    out.push({ name: 'SuccessRate(%)', unit: '%', value: round(100 * (1 - m.error_rate), 3) });
    lat('ServerLatencyP', '(s)', 's');
    if (m.connection_pool_utilization !== undefined) out.push({ name: 'ConnectionPoolUsage(%)', unit: '%', value: round(100 * m.connection_pool_utilization, 2) });
    return out;
  }
  for (const name of Object.keys(m) as (keyof MetricSnapshot)[]) {
    if (name === 'latency_p95_ms' && quantiles) lat('latency_p', '_ms', 'ms');
    else out.push({ name, unit: CLASSIC_UNITS[name], value: m[name] as number });
  }
  if (style === 'ratio') {
    out.push({ name: 'http_success_ratio', unit: '1', value: round(1 - m.error_rate, 5) });
    out.push({ name: 'container_cpu_usage_percent', unit: '%', value: round(100 * m.cpu_utilization, 2) });
    out.push({ name: 'container_memory_usage_percent', unit: '%', value: round(Math.min(100, (100 * m.memory_used_bytes) / limit), 2) });
  }
  return out;
}
