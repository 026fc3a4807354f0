/**
 * Runs nightshift's template miner over one system's lines, the way the pipeline does: one fresh miner with the
 * default configuration (bench:templates-loso passes others), one pass, each line added once, in order.
 */
import { finalTemplates as finalTemplatesOf } from '../../perception/templates/final.js';
import { TemplateMiner, type MatchResult } from '../../perception/templates/index.js';

/** What the miner's constructor accepts: any subset of MinerConfig, the rest defaulted. */
export type MinerOptions = ConstructorParameters<typeof TemplateMiner>[0];

export interface ParserRun {
  /** Per line: the group key (the final template text of its cluster, as Loghub's evaluator groups). */
  readonly groups: string[];
  /** Per line: the final template of its cluster, in the `<*>` convention. */
  readonly templates: string[];
  readonly clusters: number;
}

export interface Timing {
  /** Timed passes (each a fresh miner over all lines). */
  readonly reps: number;
  /** Lines in one pass. */
  readonly lines: number;
  /** Median wall time of one pass: robust to other processes taking the core for a moment. */
  readonly medianSeconds: number;
  readonly totalSeconds: number;
  /** Every timed pass, in seconds. */
  readonly passes: readonly number[];
}

/** Rounds of one parser's timing pooled: the median over all their passes. */
export function pool(rounds: readonly Timing[]): Timing {
  const first = rounds[0];
  if (first === undefined) throw new RangeError('no timing rounds');
  const passes = rounds.flatMap((r) => r.passes);
  return {
    reps: passes.length,
    lines: first.lines,
    medianSeconds: median(passes),
    totalSeconds: passes.reduce((a, b) => a + b, 0),
    passes,
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Offline labels: every line gets the final template of its cluster (perception/templates/final.ts). */
export function finalTemplates(results: readonly MatchResult[]): ParserRun {
  const templates = finalTemplatesOf(results).map((t) => t.template);
  return { groups: templates, templates, clusters: new Set(templates).size };
}

/** One pass with a fresh miner (the default configuration unless one is given); only the add loop is timed. */
export function mineOnce(lines: readonly string[], config?: MinerOptions): MatchResult[] {
  const miner = new TemplateMiner(config);
  const out = new Array<MatchResult>(lines.length);
  for (let i = 0; i < lines.length; i++) out[i] = miner.add(lines[i] as string);
  return out;
}

/**
 * Throughput: one untimed warm-up pass (JIT), then timed passes, each with a fresh miner, until at least `minReps`
 * passes and `minSeconds` of timed work (bounded by `maxReps`). Only `miner.add` calls are timed: no I/O, no parsing.
 */
export function timeMiner(lines: readonly string[], minSeconds: number, minReps: number, maxReps: number): Timing {
  mineOnce(lines);
  const passes: number[] = [];
  let total = 0;
  while (passes.length < maxReps && (passes.length < minReps || total < minSeconds)) {
    const miner = new TemplateMiner();
    const sink = new Array<MatchResult>(lines.length);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < lines.length; i++) sink[i] = miner.add(lines[i] as string);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    passes.push(s);
    total += s;
  }
  return { reps: passes.length, lines: lines.length, medianSeconds: median(passes), totalSeconds: total, passes };
}

export function runNightshift(lines: readonly string[], config?: MinerOptions): ParserRun {
  return finalTemplates(mineOnce(lines, config));
}
