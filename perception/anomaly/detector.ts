import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import { DetectorConfig } from './config.js';
import { NOVELTY_FLOOR, NoveltyTracker } from './novelty.js';
import { SeasonalProfile } from './seasonal.js';
import { RollingWindow } from './window.js';

/**
 * Streaming anomaly detector for one series, on robust statistics:
 *  - rolling baseline: median and MAD of the last `window` points (a spike moves neither);
 *  - seasonal baseline, once a phase has `seasonMinCycles` past cycles: the median of past same-phase cycle means,
 *    plus the rolling median of the residuals (so growth and level changes since then are followed), scaled by the
 *    residuals' MAD;
 *  - local baseline, while no season is known: the median of the last LOCAL_POINTS points, scaled by the MAD of
 *    first differences (a smooth trend barely moves differences). The rolling median lags a steep trend (a daily
 *    curve on its first day) and its MAD absorbs the trend's spread, so alone it would miss a spike there; the
 *    larger of the two deviations is used;
 *  - deviation z = (value - expected) / sigma, sigma = max(1.4826 MAD (or 1.2533 mean abs dev when MAD = 0),
 *    relFloor |level|, absFloor): the floors make a constant series (MAD = 0) usable;
 *  - deviation score d = 1 - exp(-max(0, z' - zThreshold) / zScale), z' the deviation in the configured direction;
 *  - novelty (novelty.ts): a point that also sets a new extreme for the last ~noveltyWindow points (value, or the
 *    mean of the last noveltyMeanPoints), the first of its run, scores in [NOVELTY_FLOOR, 1].
 * Score bands: with novelty on, deviation scores are kept below NOVELTY_FLOOR (0.9) — unchanged up to 0.8, the
 * pipeline's threshold, and compressed into (0.8, 0.9) above it — and the score is the larger of the two. So a
 * threshold of 0.8 (perception) sees every strong deviation, every point of a sustained shift included, and a
 * threshold at 0.9 or more sees only the rare new events (once per change: what NAB rewards; see bench/nab).
 * With noveltyWindow 0 the score is the deviation score alone.
 * Time: event timestamps only (phase of the season). Sampling may be irregular: windows count points, seasons use
 * timestamps. Non-finite values or timestamps are ignored (score 0, state unchanged).
 */

export interface DetectorResult {
  /** [0, 1]; 0 during warm-up and for ignored (non-finite) input. */
  readonly score: number;
  /** The baseline the value was compared with. */
  readonly expected: number;
  /** Robust z-like deviation, signed (positive: above expected). */
  readonly deviation: number;
}

export interface AnomalyDetector {
  update(ts: number, value: number): DetectorResult;
  toJSON(): unknown;
}

const SNAPSHOT_KIND = 'nightshift.anomaly-detector';

const RangeState = z.object({
  mins: z.array(z.number()),
  maxs: z.array(z.number()),
  curMin: z.number(),
  curMax: z.number(),
  curN: z.number().int().nonnegative(),
});

const Snapshot = z.object({
  kind: z.literal(SNAPSHOT_KIND),
  /** 1: before novelty (restores with an empty novelty memory); 2: with it. */
  version: z.union([z.literal(1), z.literal(2)]),
  config: DetectorConfig,
  seen: z.number().int().nonnegative(),
  /** Absent in snapshots from before noveltyMinHistoryMs: the history counts from the restore. */
  first_ts: z.number().nullable().optional(),
  values: z.array(z.number()),
  residuals: z.array(z.number()),
  diffs: z.array(z.number()),
  season: z
    .array(
      z.object({
        cycle: z.number().int(),
        sum: z.number(),
        n: z.number().int().nonnegative(),
        past: z.array(z.number()),
      }),
    )
    .nullable(),
  novelty: z
    .object({ values: RangeState, means: RangeState, sinceRecord: z.number().int().nonnegative() })
    .nullable()
    .optional(),
});

/** Deviation scores up to here are reported as they are (perception's threshold is 0.8). */
const DEVIATION_KNEE = 0.8;
const MAD_TO_SIGMA = 1.4826;
const MEANAD_TO_SIGMA = 1.2533;
const LOCAL_POINTS = 5;
// A difference of two noisy points has sigma * sqrt(2); the median of 5 points has variance ~ pi/(2*5) sigma^2, so
// x - median5 has sigma * sqrt(1 + pi/10). Hence MAD(diffs) * 1.4826 / sqrt(2) * sqrt(1 + pi/10).
const LOCAL_SIGMA = (MAD_TO_SIGMA / Math.SQRT2) * Math.sqrt(1 + Math.PI / 10);
const LOCAL_SIGMA_MEANAD = (MEANAD_TO_SIGMA / Math.SQRT2) * Math.sqrt(1 + Math.PI / 10);

class RobustDetector implements AnomalyDetector {
  private readonly values: RollingWindow;
  private readonly residuals: RollingWindow;
  /** First differences of consecutive values: a trend-insensitive noise scale. */
  private readonly diffs: RollingWindow;
  private readonly season: SeasonalProfile | null;
  private readonly novelty: NoveltyTracker | null;
  /** Finite points seen (drives warm-up). */
  private seen = 0;
  /** Event time of the first finite point: novelty needs `noveltyMinHistoryMs` of history behind it. */
  private firstTs: number | null = null;

  constructor(
    private readonly cfg: DetectorConfig,
    restore?: z.infer<typeof Snapshot>,
  ) {
    this.values = new RollingWindow(cfg.window);
    this.residuals = new RollingWindow(cfg.window);
    this.diffs = new RollingWindow(cfg.window);
    this.season =
      cfg.seasonPeriodMs > 0
        ? new SeasonalProfile(
            cfg.seasonPeriodMs,
            cfg.seasonBuckets,
            cfg.seasonCycles,
            cfg.seasonMinCycles,
            restore?.season ?? undefined,
          )
        : null;
    this.novelty =
      cfg.noveltyWindow > 0
        ? new NoveltyTracker(
            {
              window: cfg.noveltyWindow,
              block: cfg.noveltyBlock,
              meanPoints: cfg.noveltyMeanPoints,
              runGap: cfg.noveltyRunGap,
              zGate: cfg.noveltyZGate,
              minExtension: cfg.noveltyMinExtension,
              scale: cfg.noveltyScale,
              relFloor: cfg.relFloor,
              absFloor: cfg.absFloor,
            },
            restore?.novelty ?? undefined,
          )
        : null;
    if (restore !== undefined) {
      for (const v of restore.values) this.values.push(v);
      for (const r of restore.residuals) this.residuals.push(r);
      for (const d of restore.diffs) this.diffs.push(d);
      this.seen = restore.seen;
      this.firstTs = restore.first_ts ?? null;
    }
  }

  private sigma(w: RollingWindow, center: number, level: number): number {
    const c = this.cfg;
    // The mean absolute deviation only stands in when over half the window is one value (MAD = 0): it is not
    // robust, and used always it would let a level shift inflate its own yardstick within a few points.
    const mad = w.mad(center);
    const spread = mad > 0 ? MAD_TO_SIGMA * mad : MEANAD_TO_SIGMA * w.meanAbsDev(center);
    return Math.max(spread, c.relFloor * Math.abs(level), c.absFloor);
  }

  update(ts: number, value: number): DetectorResult {
    if (!Number.isFinite(ts) || !Number.isFinite(value)) {
      return { score: 0, expected: this.values.median(), deviation: 0 };
    }
    const x = value + 0; // -0 -> 0: snapshots (JSON) cannot tell them apart
    const c = this.cfg;
    const med = this.values.median();
    const hasBaseline = this.values.size > 0;
    const sigmaR = hasBaseline ? this.sigma(this.values, med, med) : c.absFloor;
    let expected = hasBaseline ? med : x;
    let z = hasBaseline ? (x - med) / sigmaR : 0;
    if (this.diffs.size >= LOCAL_POINTS) {
      const local = this.values.recentMedian(LOCAL_POINTS);
      const dMed = this.diffs.median();
      const floor = Math.max(LOCAL_SIGMA * this.diffs.mad(dMed), c.relFloor * Math.abs(local), c.absFloor);
      // The mean deviation of the differences is an O(n) sum: skipped when even its upper bound cannot exceed
      // the other scales (the larger of them is then sigmaL either way).
      const sigmaL =
        LOCAL_SIGMA_MEANAD * this.diffs.meanAbsDevBound(dMed) <= floor ? floor : Math.max(floor, LOCAL_SIGMA_MEANAD * this.diffs.meanAbsDev(dMed));
      const zl = (x - local) / sigmaL;
      if (Math.abs(zl) > Math.abs(z)) {
        z = zl;
        expected = local;
      }
    }

    const seasonal = this.season?.expected(ts) ?? null;
    if (seasonal !== null) {
      const resid = x - seasonal;
      if (this.residuals.size >= Math.min(c.warmupPoints, c.window)) {
        const rMed = this.residuals.median();
        const sigmaS = this.sigma(this.residuals, rMed, seasonal + rMed);
        expected = seasonal + rMed;
        z = (resid - rMed) / sigmaS;
      }
      this.residuals.push(resid);
    }

    // Learn after scoring: a point is judged against the past only. The recent mean includes the point itself.
    const k = c.noveltyMeanPoints;
    const mean = this.values.size >= k - 1 ? (this.values.recentSum(k - 1) + x) / k : null;
    this.seen++;
    if (hasBaseline) this.diffs.push(x - this.values.last());
    this.values.push(x);
    if (this.season !== null) {
      const lim = c.clipSigmas * sigmaR;
      this.season.observe(ts, hasBaseline ? Math.min(med + lim, Math.max(med - lim, x)) : x);
    }

    const scoring = this.seen > c.warmupPoints;
    if (this.firstTs === null) this.firstTs = ts;
    const aged = ts - this.firstTs >= c.noveltyMinHistoryMs;
    const novelty = this.novelty?.observe(x, mean, z, c.direction, scoring && aged) ?? 0;
    if (!scoring) return { score: 0, expected, deviation: z };
    const directed = c.direction === 'up' ? z : c.direction === 'down' ? -z : Math.abs(z);
    const over = directed - c.zThreshold;
    const dev = over > 0 ? 1 - Math.exp(-over / c.zScale) : 0;
    if (this.novelty === null) return { score: dev, expected, deviation: z };
    // Deviation scores stay under the novelty band: unchanged up to the knee, halved above it.
    const banded = dev <= DEVIATION_KNEE ? dev : DEVIATION_KNEE + (dev - DEVIATION_KNEE) * ((NOVELTY_FLOOR - DEVIATION_KNEE) / (1 - DEVIATION_KNEE));
    return { score: Math.max(banded, novelty), expected, deviation: z };
  }

  toJSON(): unknown {
    return {
      kind: SNAPSHOT_KIND,
      version: 2,
      config: this.cfg,
      seen: this.seen,
      first_ts: this.firstTs,
      values: this.values.values(),
      residuals: this.residuals.values(),
      diffs: this.diffs.values(),
      season: this.season?.snapshot() ?? null,
      novelty: this.novelty?.snapshot() ?? null,
    };
  }
}

export function createDetector(config?: Partial<z.input<typeof DetectorConfig>>): AnomalyDetector {
  const parsed = DetectorConfig.safeParse(config ?? {});
  if (!parsed.success) {
    throw new NightshiftError('CONFIG_INVALID', `anomaly detector config: ${z.prettifyError(parsed.error)}`);
  }
  if (parsed.data.noveltyMeanPoints > parsed.data.window) {
    throw new NightshiftError('CONFIG_INVALID', `anomaly detector config: noveltyMeanPoints (${parsed.data.noveltyMeanPoints}) must not exceed window (${parsed.data.window})`);
  }
  return new RobustDetector(parsed.data);
}

export function restoreDetector(snapshot: unknown): AnomalyDetector {
  const parsed = Snapshot.safeParse(snapshot);
  if (!parsed.success) {
    throw new NightshiftError('SCHEMA_MISMATCH', `anomaly detector snapshot: ${z.prettifyError(parsed.error)}`);
  }
  const s = parsed.data;
  const cfg = s.config;
  const seasonOk =
    cfg.seasonPeriodMs > 0
      ? s.season !== null &&
        s.season.length === cfg.seasonBuckets &&
        s.season.every((b) => b.past.length <= cfg.seasonCycles)
      : s.season === null;
  const fits = [s.values, s.residuals, s.diffs].every((w) => w.length <= cfg.window);
  const nov = s.novelty;
  const noveltyOk =
    nov === null ||
    nov === undefined ||
    (cfg.noveltyWindow > 0 &&
      [nov.values, nov.means].every(
        (r) => r.mins.length === r.maxs.length && r.mins.length <= Math.ceil(cfg.noveltyWindow / cfg.noveltyBlock) && r.curN < cfg.noveltyBlock,
      ));
  if (!fits || !seasonOk || !noveltyOk) {
    throw new NightshiftError('SCHEMA_MISMATCH', 'anomaly detector snapshot: state does not fit its config');
  }
  return new RobustDetector(cfg, s);
}
