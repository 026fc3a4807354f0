import { z } from 'zod';

/** Settings of the streaming anomaly detector (detector.ts); every field has a default. */
export const DetectorConfig = z.strictObject({
  /** Points before any score is given (the baseline needs them). */
  warmupPoints: z.number().int().min(3).max(100_000).default(30),
  /** Points in the rolling windows (raw values and seasonal residuals). */
  window: z.number().int().min(5).max(10_000).default(120),
  /** Season length; 0 disables the seasonal baseline. Default one day. */
  seasonPeriodMs: z.number().int().nonnegative().default(86_400_000),
  /** Phases per season (48 half-hours per day). */
  seasonBuckets: z.number().int().min(1).max(10_000).default(48),
  /** Past cycle means kept per phase (a week of days). */
  seasonCycles: z.number().int().min(1).max(64).default(7),
  /** Past cycles a phase needs before the seasonal baseline replaces the rolling one. */
  seasonMinCycles: z.number().int().min(1).max(64).default(1),
  direction: z.enum(['up', 'down', 'both']).default('both'),
  /** Deviation (in robust sigmas) where the score starts rising from 0. */
  zThreshold: z.number().nonnegative().default(4),
  /** Sigmas over zThreshold for the score to reach 1 - 1/e (0.63). */
  zScale: z.number().positive().default(1.5),
  /** Sigma floor relative to the level: a constant 100 gives sigma >= 1 at 0.01. */
  relFloor: z.number().nonnegative().default(0.01),
  /** Absolute sigma floor, for a series constant at 0. */
  absFloor: z.number().positive().default(1e-6),
  /** Novelty: points whose range a new extreme must break (~3 weeks of 5-minute points); 0 turns novelty off. */
  noveltyWindow: z.number().int().nonnegative().max(1_000_000).default(6000),
  /**
   * Novelty: event time a series must have been watched before a new extreme may score. A young stream sets new
   * extremes all the time; a day covers the daily cycle, after which a new extreme means something.
   */
  noveltyMinHistoryMs: z.number().int().nonnegative().default(86_400_000),
  /** Points per block of the range memory (memory: 4 numbers per block). */
  noveltyBlock: z.number().int().min(1).max(100_000).default(200),
  /** Points in the recent mean whose range is tracked too (at most `window`). */
  noveltyMeanPoints: z.number().int().min(1).max(10_000).default(10),
  /** A record within this many points of the previous one belongs to the same event and does not score again. */
  noveltyRunGap: z.number().int().min(1).max(100_000).default(20),
  /**
   * Robust sigmas a record must also deviate from the expected value (in the record's direction). 4 keeps white
   * noise quiet at a series' running extremes; 2 scores higher on NAB (preset 'nab') but alarms on noise.
   */
  noveltyZGate: z.number().nonnegative().default(4),
  /** Smallest extension beyond the range, as a fraction of its width, that scores. */
  noveltyMinExtension: z.number().nonnegative().default(0.001),
  /** Extension (fraction of the width) over the minimum for the novelty score to climb 63% of the way to 1. */
  noveltyScale: z.number().positive().default(0.05),
  /** Points feeding the seasonal memory are clipped to the rolling median +/- clipSigmas sigma (spikes stay out). */
  clipSigmas: z.number().positive().default(5),
});
export type DetectorConfig = z.infer<typeof DetectorConfig>;

/**
 * Named settings. The defaults are what the pipeline runs. 'nab' is the variant that scores best on the NAB corpus
 * (bench/nab): novelty records need only 2 robust sigmas of deviation instead of 4. It is not the default because
 * with a gate of 3 sigmas or less, white noise that happens to reach a series' running extreme already fires (two
 * weeks of a noisy daily curve raise alarms: test/anomaly.test.ts fails at 3), which the pipeline must not do.
 */
export const DETECTOR_PRESETS = {
  nab: { noveltyZGate: 2 },
} as const satisfies Record<string, Partial<z.input<typeof DetectorConfig>>>;
export type DetectorPreset = keyof typeof DETECTOR_PRESETS;
