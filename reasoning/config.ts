import { z } from 'zod';

/** The deterministic topology ranker's knobs. Defaults are the offline default and the LLM's fallback. */
export const RankerConfig = z.strictObject({
  /** Weight of each signal type when summing a service's symptom evidence. Alerts weigh less: they fire loudest on callers. */
  typeWeights: z
    .object({
      template_new: z.number().nonnegative().default(1),
      template_burst: z.number().nonnegative().default(0.8),
      metric_anomaly: z.number().nonnegative().default(1),
      red_latency: z.number().nonnegative().default(1),
      red_errors: z.number().nonnegative().default(1),
      red_rate: z.number().nonnegative().default(0.5),
      alert: z.number().nonnegative().default(0.4),
      change: z.number().nonnegative().default(0),
    })
    .default({
      template_new: 1,
      template_burst: 0.8,
      metric_anomaly: 1,
      red_latency: 1,
      red_errors: 1,
      red_rate: 0.5,
      alert: 0.4,
      change: 0,
    }),
  /** Share of a call-edge signal (caller sees callee slow or failing) credited to the callee rather than the caller. */
  edgeCalleeShare: z.number().min(0).max(1).default(0.8),
  /**
   * Multiplier for a service one of whose own dependencies has evidence of its own (at least `independentEvidence`,
   * not counting what this service's own calls to it showed): its symptoms are likely inherited. With client-side
   * call edges the share of its slow calls blamed on its callees is measured instead, and this is the floor.
   */
  inheritedPenalty: z.number().min(0).max(1).default(0.35),
  independentEvidence: z.number().nonnegative().default(0.3),
  /** Share of a client edge credited to a callee whose own calls out are slow too (the cause is further down). */
  propagatedShare: z.number().min(0).max(1).default(0.2),
  /** Bonus per anomalous caller (transitively) that this service can explain. */
  explainsBonus: z.number().nonnegative().default(0.25),
  /** A change on the service this long before its first symptom (or any time during the incident) counts as evidence. */
  changeLookbackMs: z.number().int().nonnegative().default(30 * 60_000),
  /** Multiplier for a service with a change shortly before its first symptom. */
  changeBoost: z.number().min(1).default(2.5),
  /** Extra multiplier for a release measured as degraded (its new version's instances worse than the old ones). */
  degradedReleaseFactor: z.number().min(1).default(1.5),
  /**
   * How much of the change boost is withheld from a service whose own symptoms are inherited from a dependency (the
   * share of its failing calls blamed on its callees, or, without a client-side view, 1 - inheritedPenalty when its
   * own signals name a dependency that has evidence of its own): a release explains its service's own misbehaviour,
   * not a dependency's outage. 0 turns it off. A release measured as degraded keeps its full boost.
   */
  inheritedChangeDiscount: z.number().min(0).max(1).default(1),
  /**
   * A callee's failing or slow calls count every caller that names it in its own signals (log templates, server-side
   * edges), not only callers exporting client spans: with false, callers without traces look like they see it fine.
   */
  callerViewsFromAllSignals: z.boolean().default(true),
  /**
   * A client edge's blame tilts toward the end with evidence of its own: by up to 1 + this for the callee (any own
   * evidence) or the caller (own saturation or resource evidence), growing as 1 - e^-evidence. 0 turns it off.
   */
  ownEvidenceTilt: z.number().nonnegative().default(1),
  /** Services whose first symptom comes this much earlier than the incident's earliest get the full timing bonus. */
  timingBonus: z.number().nonnegative().default(0.3),
  /**
   * A candidate named only by text (log templates, changes: reasoning/support.ts) is never ranked first while one
   * with measured support exists: telemetry text is writable by anyone who can make a service log a line.
   */
  measuredFirst: z.boolean().default(true),
  /**
   * How much a signal's magnitude (|ln(observed / expected)|) scales its weight: (1 + m) / (1 + ln 3), to this power.
   * A threefold change weighs as before, a 200x slowdown about three times as much, a 1.4x one less. Scores saturate,
   * and without this a noisy series' small spike counts as much as the root's collapse. 0 turns it off; signals with no
   * measured value (templates, alerts) are not scaled.
   */
  magnitudeExponent: z.number().nonnegative().default(1),
  /** Softmax temperature turning scores into confidences; lower is more decisive. */
  temperature: z.number().positive().default(0.6),
});
export type RankerConfig = z.infer<typeof RankerConfig>;
