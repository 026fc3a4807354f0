import { z } from 'zod';
import { NightshiftError } from '../core/errors.js';

/** The injected fault scenarios. Each maps to one ground-truth kind (see FAULT_KIND in faults.ts). */
export const FaultType = z.enum([
  'latency',
  'errors',
  'saturation',
  'memory_leak',
  'bad_deploy',
  'datastore_outage',
  'external_dependency',
]);
export type FaultType = z.infer<typeof FaultType>;

export const NoiseConfig = z.object({
  /** Services whose badly tuned CPU alert (no `for:`) fires and resolves repeatedly while healthy. */
  flappers: z.number().int().min(0).max(5).default(2),
  /** Long-running warnings on healthy services (disk filling slowly, certificate expiring). */
  longRunning: z.number().int().min(0).max(5).default(2),
  /** Routine deploys/config/flag changes of healthy services. */
  changesPerHour: z.number().min(0).max(30).default(2),
  /** Chance that a healthy neighbour of a fault's root deploys 2-15 min before the fault. */
  redHerringProbability: z.number().min(0).max(1).default(0.6),
  /**
   * Chance that a bad deploy ships in a release train: a healthy neighbour releases within a minute of it. Only the
   * new instances' behaviour against the old ones tells them apart (spans carry `service.version`).
   */
  concurrentReleaseProbability: z.number().min(0).max(1).default(0.5),
  /** Isolated one-point metric spikes on healthy services, per hour for the whole world. */
  blipsPerHour: z.number().min(0).max(60).default(2),
  /** A nightly backup window on a datastore (load rises, an info alert fires; not a fault). */
  maintenance: z.boolean().default(true),
  /** Call edges left out of the topology file (a stale CMDB); the traces still show them. */
  staleTopologyEdges: z.number().int().min(0).max(5).default(1),
  /** Max delivery delay (ms) of OTLP batches, JSON logs, metrics, traces and alerts behind their event time. */
  maxDelayMs: z.number().int().min(0).max(5000).default(5000),
});
export type NoiseConfig = z.infer<typeof NoiseConfig>;

/**
 * Shares of scenarios that carry each real-recording shape (shapes.ts). Each is drawn once per scenario from its
 * own seeded stream, so a batch of seeds mixes them and the same config always gives the same draw.
 */
export const ShapesConfig = z.object({
  /** Services export availability (`SuccessRate(%)`, `*_success_ratio`) and CPU/memory as % of limit. */
  percentMetrics: z.number().min(0).max(1).default(0.4),
  /** Every Prometheus rule fires at `warning` (no `critical`): incidents must open on corroboration. */
  warningOnly: z.number().min(0).max(1).default(0.35),
  /** Two faults minutes apart: one after the other (5-10 min gap) or at once on different branches (half each). */
  closeFaults: z.number().min(0).max(1).default(0.4),
  /** Latency exported as a P50/P90/P95/P99 family of one measurement. */
  quantiles: z.number().min(0).max(1).default(0.4),
  /** Services with 2-3 pods export metrics per pod, and a fault on such a service hits one pod. */
  perPod: z.number().min(0).max(1).default(0.35),
  /**
   * A healthy neighbour of a fault root whose latency jumps 8-15x for 1-2 minutes every 8-15 minutes, all scenario
   * long, faults included (a GC cycle or cron job nobody fixes): the real recordings' habitual series.
   */
  spiky: z.number().min(0).max(1).default(0.4),
});
export type ShapesConfig = z.infer<typeof ShapesConfig>;
/** Every shape off: the classic simulator (one series per service metric, critical rules, faults >= 45 min apart). */
export const NO_SHAPES: ShapesConfig = { percentMetrics: 0, warningOnly: 0, closeFaults: 0, quantiles: 0, perPod: 0, spiky: 0 };

export const SimConfig = z.object({
  seed: z.number().int().default(1),
  services: z.number().int().min(10).max(40).default(20),
  hours: z.number().positive().max(24 * 14).default(6),
  faults: z.number().int().min(0).max(500).default(3),
  /** Fault scenarios to draw from (defaults to all, in a seeded order so a batch of seeds covers every type). */
  faultKinds: z.array(FaultType).min(1).optional(),
  /** Metric scrape and alert evaluation interval; a multiple of the 5 s simulation step. */
  metricIntervalMs: z.number().int().min(5000).max(300_000).multipleOf(5000).default(30_000),
  /** Sampled traces per minute per edge service (workers get a third of it). */
  traceSamplesPerMinute: z.number().min(0).max(600).default(6),
  /** Multiplier on baseline log volume. */
  logVolume: z.number().min(0).max(20).default(1),
  /** Event time of the first record (ms); defaults to 2026-03-02T00:00Z shifted by the seed (day and hour). */
  startMs: z.number().int().nonnegative().optional(),
  noise: NoiseConfig.prefault({}),
  shapes: ShapesConfig.prefault({}),
});
export type SimConfig = z.infer<typeof SimConfig>;
export type SimConfigInput = z.input<typeof SimConfig>;

export const SIM_STEP_MS = 5000;
const BASE_EPOCH_MS = Date.UTC(2026, 2, 2);
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export function parseSimConfig(input: Partial<SimConfigInput>): SimConfig {
  const r = SimConfig.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new NightshiftError('CONFIG_INVALID', `invalid simulation config: ${msg}`);
  }
  return r.data;
}

/** Seeds start on different days and at different hours so that scenarios cover every part of the daily cycle. */
export function scenarioStartMs(cfg: SimConfig): number {
  if (cfg.startMs !== undefined) return cfg.startMs;
  const s = Math.abs(cfg.seed);
  return BASE_EPOCH_MS + (s % 28) * DAY_MS + ((s * 7) % 24) * HOUR_MS;
}
