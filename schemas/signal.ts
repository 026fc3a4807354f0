import { z } from 'zod';
import { EpochMs, RootCauseKind, ServiceName } from './common.js';

/**
 * What perception says about the raw stream: a condensed, scored observation.
 * `ref` is the evidence id it stands for (a template id, a metric series id, an alert group id, a change id).
 */
export const SignalType = z.enum([
  'template_new', // a log template never seen before for this service (after warm-up)
  'template_burst', // a known template's rate far above its baseline
  'metric_anomaly', // a metric series left its (seasonal, robust) baseline
  'red_latency', // span duration of a service or call edge above baseline
  'red_errors', // span error ratio of a service or call edge above baseline
  'red_rate', // request rate of a service collapsed or spiked
  'alert', // an alert group fired (deduplicated by fingerprint)
  'change', // a deploy, config, flag or infra change
]);
export type SignalType = z.infer<typeof SignalType>;

/** Cap of `Signal.magnitude`: a thousandfold change. */
export const MAX_MAGNITUDE = Math.round(Math.log(1000) * 1000) / 1000;

export const Signal = z.object({
  id: z.string().min(1),
  ts: EpochMs,
  service: ServiceName,
  type: SignalType,
  /** Strength in [0, 1]: how far from normal. */
  score: z.number().min(0).max(1),
  /** What this signal suggests if its service is the root cause. */
  hint: RootCauseKind,
  summary: z.string(),
  ref: z.string().min(1),
  /** For call-edge RED signals: the callee. */
  peer: ServiceName.optional(),
  /**
   * For call-edge RED signals, whose spans were measured: `server` the callee's own SERVER spans for this caller (the
   * callee is slow or failing), `client` the caller's CLIENT spans (the callee, or the network between the two: a
   * network delay shows only here).
   */
  side: z.enum(['server', 'client']).optional(),
  /**
   * Evidence family: signals of one family are one piece of evidence (quantiles of one latency, one metric across a
   * service's pods, one alert rule's instances). Absent: the signal's ref is its family.
   */
  family: z.string().min(1).optional(),
  /**
   * How far the measured value is from the expected one, scale-free: |ln(observed / expected)|, capped at ln(1000)
   * (the cap also when one side is zero: an error ratio off a zero baseline). Absent for signals that measure no
   * value (templates, alerts, changes). Scores saturate; magnitude tells a 200x slowdown from a 2x one.
   */
  magnitude: z.number().nonnegative().max(MAX_MAGNITUDE).optional(),
});
export type Signal = z.infer<typeof Signal>;
