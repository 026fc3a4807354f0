import type { SimConfig } from './config.js';
import type { Rng } from './rng.js';
import type { SimService, World } from './world.js';

/**
 * The shapes of real recordings a scenario carries beside the classic ones (README "Real shapes"). Each is on in a
 * share of scenarios (cfg.shapes), drawn from the scenario's own `shapes` stream, so turning one on or off does not
 * move the world, the faults' kinds or the noise.
 */
export type MetricStyle =
  /** cpu_utilization, memory_used_bytes, request_rate, error_rate, latency_p95_ms (the classic names). */
  | 'classic'
  /** Instead of them: SuccessRate(%), CpuUsageRate(%), MemoryUsageRate(%) (0-100), latency in seconds. */
  | 'percent'
  /** Beside them: http_success_ratio (0-1), container_cpu_usage_percent, container_memory_usage_percent. */
  | 'ratio';

export type CloseFaults = 'none' | 'sequential' | 'concurrent';

/** One scrape of a service's p95 latency multiplied: the shape of a noise blip (noise.ts Blip), kept here so shapes need no fault types. */
export interface Spike {
  readonly ts: number;
  readonly service: string;
  readonly metric: 'latency_p95_ms';
  readonly factor: number;
}

export interface ShapePlan {
  readonly percentMetrics: boolean;
  readonly warningOnly: boolean;
  readonly closeFaults: CloseFaults;
  readonly quantiles: boolean;
  readonly perPod: boolean;
  /** A healthy neighbour of a root has habitual latency spikes (`spikes`, planned with the faults: spikes.ts). */
  readonly spiky: boolean;
  readonly spikes: readonly Spike[];
  /** Per service (world index): how its metrics are named. */
  readonly style: readonly MetricStyle[];
  /** Per service (world index): its metrics are exported once per pod (services with 2-3 pods). */
  readonly podSeries: readonly boolean[];
}

export const CLASSIC_SHAPES = (world: World): ShapePlan => ({
  percentMetrics: false,
  warningOnly: false,
  closeFaults: 'none',
  quantiles: false,
  perPod: false,
  spiky: false,
  spikes: [],
  style: world.services.map(() => 'classic'),
  podSeries: world.services.map(() => false),
});

/** Pods of a service that can carry per-pod series: an application with 2 or 3 instances. */
export function hasPodSeries(s: SimService): boolean {
  return s.tier !== 'datastore' && s.instances.length >= 2 && s.instances.length <= 3;
}

export function planShapes(cfg: SimConfig, world: World, rng: Rng): ShapePlan {
  const p = cfg.shapes;
  // One draw per shape, always in this order, so the draw of one shape never depends on another's probability.
  const percentMetrics = rng.next() < p.percentMetrics;
  const warningOnly = rng.next() < p.warningOnly;
  const close = rng.next() < p.closeFaults && cfg.faults >= 2;
  const concurrent = rng.next() < 0.5;
  const quantiles = rng.next() < p.quantiles;
  const perPod = rng.next() < p.perPod;
  const spiky = rng.next() < p.spiky;
  const styleRng = rng.fork('style');
  const style = world.services.map((): MetricStyle => (percentMetrics ? styleRng.weighted([['percent', 5], ['ratio', 3], ['classic', 2]] as const) : 'classic'));
  return {
    percentMetrics,
    warningOnly,
    closeFaults: close ? (concurrent ? 'concurrent' : 'sequential') : 'none',
    quantiles,
    perPod,
    spiky,
    spikes: [],
    style,
    podSeries: world.services.map((s) => perPod && hasPodSeries(s)),
  };
}
