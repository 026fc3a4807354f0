/**
 * NAB scoring rules (NAB v1.1, `nab/sweeper.py`), written from the published rules as pure functions.
 *
 * - Each labelled anomaly window scores once: the EARLIEST detection inside it earns
 *   tpWeight * scaledSigmoid(position) / scaledSigmoid(-1), position in [-1, 0) from the left edge to the right edge;
 *   a window with no detection costs -fnWeight.
 * - Every detection outside a window is a false positive worth fpWeight * scaledSigmoid(distance past the previous
 *   window's right edge, in window widths) (close behind a window it costs less, far behind it costs fpWeight);
 *   before any window it costs fpWeight in full.
 * - The first 15% of each file (at most 750 points) is the probationary period: nothing there counts.
 * - A detection is a point whose anomaly score is >= the threshold; one threshold is chosen per detector and profile
 *   over the whole corpus, the one with the best total (see `scoresByThreshold`).
 * Time enters only as point index: NAB measures positions in rows, not in milliseconds.
 */

export interface CostMatrix {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
  readonly tnWeight: number;
}

/** A labelled window as inclusive row indices into its file. */
export interface WindowSpan {
  readonly start: number;
  readonly end: number;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * 2 sigmoid(-5 x) - 1: 0.9866 at the window's left edge (x = -1), 0 at its right edge (x = 0), -0.9866 one window
 * width past it, and -1 from three widths on.
 */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3.0) return -1.0;
  return 2 * sigmoid(-5 * relativePosition) - 1.0;
}

export const DEFAULT_PROBATION_PERCENT = 0.15;

/** Rows at the start of a file that are never scored: floor(15% of the rows), capped at 15% of 5000 (750). */
export function probationaryLength(rows: number, probationPercent = DEFAULT_PROBATION_PERCENT): number {
  return Math.min(Math.floor(probationPercent * rows), probationPercent * 5000);
}

/** `window` of a point: the index of its window in the file, NO_WINDOW outside any window, PROBATION when not scored. */
export const NO_WINDOW = -1;
export const PROBATION = -2;

export interface SweepPoints {
  /** Per row: what the row adds to the score if it is a detection (see the rules above). */
  readonly sweepScore: Float64Array;
  /** Per row: the window index within the file, NO_WINDOW, or PROBATION. */
  readonly window: Int32Array;
}

/**
 * Per-row score contribution if the row were a detection. Windows must be sorted, disjoint and inside [0, rows).
 * A one-row window followed by rows outside windows has no defined width for the fall-off (NAB divides by zero);
 * here those rows count as far behind it (full fpWeight).
 */
export function sweepPoints(rows: number, windows: readonly WindowSpan[], cost: CostMatrix, probationPercent = DEFAULT_PROBATION_PERCENT): SweepPoints {
  checkWindows(rows, windows);
  const sweepScore = new Float64Array(rows);
  const window = new Int32Array(rows);
  const maxTp = scaledSigmoid(-1.0);
  const probation = probationaryLength(rows, probationPercent);
  let next = 0; // index of the next window to enter
  let cur = -1; // window the row is in, or -1
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < rows; i++) {
    const nw = windows[next];
    if (cur < 0 && nw !== undefined && i === nw.start) {
      cur = next;
      next++;
    }
    const w = cur >= 0 ? (windows[cur] as WindowSpan) : undefined;
    if (w !== undefined) {
      const width = w.end - w.start + 1;
      // NAB's position runs from -1 at the left edge to -1/width at the right edge (the "+ 1" keeps it off 0).
      const position = -(w.end - i + 1) / width;
      sweepScore[i] = (scaledSigmoid(position) * cost.tpWeight) / maxTp;
    } else {
      const past = prevRight < 0 ? 3.0 : prevWidth > 1 ? Math.abs(prevRight - i) / (prevWidth - 1) : 3.0;
      sweepScore[i] = scaledSigmoid(past) * cost.fpWeight;
    }
    window[i] = i < probation ? PROBATION : w !== undefined ? cur : NO_WINDOW;
    if (w !== undefined && i === w.end) {
      prevRight = i;
      prevWidth = w.end - w.start + 1;
      cur = -1;
    }
  }
  return { sweepScore, window };
}

function checkWindows(rows: number, windows: readonly WindowSpan[]): void {
  let prevEnd = -1;
  for (const w of windows) {
    if (!Number.isInteger(w.start) || !Number.isInteger(w.end) || w.start > w.end || w.start <= prevEnd || w.end >= rows) {
      throw new Error(`NAB windows must be sorted, disjoint, inside the file's ${rows} rows: got [${w.start}, ${w.end}] after ${prevEnd}`);
    }
    prevEnd = w.end;
  }
}

export interface Counts {
  tp: number;
  tn: number;
  fp: number;
  fn: number;
}

export interface ThresholdScore extends Counts {
  /** Rows with anomaly score >= threshold are detections (the first row, 1.1, detects nothing). */
  readonly threshold: number;
  readonly score: number;
}

/** One scored file (or a whole corpus, files concatenated): anomaly scores and their sweep points. */
export interface ScoredSeries {
  readonly anomalyScore: ArrayLike<number>;
  readonly points: SweepPoints;
}

/**
 * The score at every distinct threshold, highest threshold first, over one or several files (NAB's
 * `calcScoreByThreshold`). Starting above every score (nothing detected: every window a false negative), the rows
 * are taken in decreasing anomaly score; each new score value first records the total for the previous threshold.
 * The total is re-summed from its parts at each threshold, in NAB's order (false positives, then windows in the
 * order they are first reached), so that ties between thresholds resolve as NAB resolves them.
 */
export function scoresByThreshold(series: readonly ScoredSeries[], cost: CostMatrix): ThresholdScore[] {
  // Global window ids: file offset + window index.
  const offsets: number[] = [];
  let totalWindows = 0;
  let totalRows = 0;
  for (const s of series) {
    offsets.push(totalWindows);
    let maxW = -1;
    for (let i = 0; i < s.points.window.length; i++) maxW = Math.max(maxW, s.points.window[i] as number);
    totalWindows += maxW + 1;
    totalRows += s.points.window.length;
  }
  const score = new Float64Array(totalRows);
  const sweep = new Float64Array(totalRows);
  const win = new Int32Array(totalRows);
  let n = 0;
  for (let f = 0; f < series.length; f++) {
    const s = series[f] as ScoredSeries;
    const off = offsets[f] as number;
    const len = s.points.window.length;
    if (s.anomalyScore.length !== len) throw new Error(`anomaly scores (${s.anomalyScore.length}) and rows (${len}) differ`);
    for (let i = 0; i < len; i++) {
      const w = s.points.window[i] as number;
      if (w === PROBATION) continue;
      const a = s.anomalyScore[i] as number;
      if (!Number.isFinite(a)) throw new Error(`anomaly score at row ${i} of file ${f} is not a finite number`);
      score[n] = a;
      sweep[n] = s.points.sweepScore[i] as number;
      win[n] = w === NO_WINDOW ? -1 : off + w;
      n++;
    }
  }
  // Decreasing score; equal scores keep file/row order (NAB's sort is stable too).
  const order = Array.from({ length: n }, (_, k) => k).sort((x, y) => (score[y] as number) - (score[x] as number) || x - y);

  // Window parts start at -fnWeight, in the order windows are first met in the sorted rows.
  const part = new Float64Array(totalWindows);
  const partOrder: number[] = [];
  const seen = new Uint8Array(totalWindows);
  let tn = 0;
  let fn = 0;
  for (const k of order) {
    const w = win[k] as number;
    if (w < 0) {
      tn++;
      continue;
    }
    fn++;
    if (seen[w] === 0) {
      seen[w] = 1;
      part[w] = -cost.fnWeight;
      partOrder.push(w);
    }
  }
  let fpPart = 0;
  let tp = 0;
  let fp = 0;
  const total = (): number => {
    let t = fpPart;
    for (const w of partOrder) t += part[w] as number;
    return t;
  };
  const out: ThresholdScore[] = [];
  let threshold = 1.1;
  for (const k of order) {
    const a = score[k] as number;
    if (a !== threshold) {
      out.push({ threshold, score: total(), tp, tn, fp, fn });
      threshold = a;
    }
    const w = win[k] as number;
    const s = sweep[k] as number;
    if (w < 0) {
      fp++;
      tn--;
      fpPart += s;
    } else {
      tp++;
      fn--;
      if (s > (part[w] as number)) part[w] = s;
    }
  }
  out.push({ threshold, score: total(), tp, tn, fp, fn });
  return out;
}

/**
 * The best threshold: the highest total, ties going to the first (highest) threshold, as NAB's stable sort does.
 */
export function bestThreshold(rows: readonly ThresholdScore[]): ThresholdScore {
  let best: ThresholdScore | undefined;
  for (const r of rows) if (best === undefined || r.score > best.score) best = r;
  if (best === undefined) throw new Error('no thresholds to choose from');
  return best;
}

/**
 * A file's score at a given threshold (NAB's `scoreDataSet`): the row of the highest listed threshold that still
 * detects every point with anomaly score >= threshold. When the threshold is below every score in the file NAB finds
 * no row (and fails); here that is the row detecting everything, which is what the threshold means.
 */
export function scoreAtThreshold(rows: readonly ThresholdScore[], threshold: number): ThresholdScore {
  let prev: ThresholdScore | undefined;
  for (const r of rows) {
    if (r.threshold === threshold) return r;
    if (r.threshold < threshold) return prev ?? r;
    prev = r;
  }
  if (prev === undefined) throw new Error('no thresholds to choose from');
  return prev;
}

/**
 * NAB's hill-climb threshold search (`twiddle` in nab/optimizer.py, which produced the published thresholds):
 * start at 0.5 with step 0.1; try x + step, then x - step; on a gain move there and double the step, else halve it;
 * stop when the step falls to `tolerance`. Thresholds outside [0, 1] score -Infinity. A local search: it can stop
 * short of the best threshold (`bestThreshold` finds that one).
 */
export function twiddle(objective: (threshold: number) => number, init = 0.5, tolerance = 0.00001): { threshold: number; score: number } {
  const past = new Map<number, number>();
  const f = (x: number): number => {
    let v = past.get(x);
    if (v === undefined) {
      v = x >= 0 && x <= 1 ? objective(x) : -Infinity;
      past.set(x, v);
    }
    return v;
  };
  let x = init;
  let step = 0.1;
  let best = f(x);
  // The step halves at least every other iteration without a gain and the objective is bounded, so this ends;
  // the cap only guards against a pathological objective.
  for (let k = 0; k < 100_000 && step > tolerance; k++) {
    x += step;
    let s = f(x);
    if (s > best) {
      best = s;
      step *= 2;
      continue;
    }
    x -= 2 * step;
    s = f(x);
    if (s > best) {
      best = s;
      step *= 2;
    } else {
      x += step;
      step *= 0.5;
    }
  }
  return { threshold: x, score: best };
}

/** The corpus total at any threshold, from the table of `scoresByThreshold` (a binary search per call). */
export function thresholdObjective(rows: readonly ThresholdScore[]): (threshold: number) => number {
  return (t) => {
    // rows are by decreasing threshold; find the last row with threshold >= t.
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((rows[mid] as ThresholdScore).threshold >= t) lo = mid;
      else hi = mid - 1;
    }
    return (rows[lo] as ThresholdScore).score;
  };
}

/** 100 (raw - null) / (perfect - null): 0 for the detector that never fires, 100 for the perfect one. */
export function normalizedScore(raw: number, nullScore: number, perfect: number): number {
  if (!(perfect > nullScore)) throw new Error(`perfect score ${perfect} must exceed the null score ${nullScore}`);
  return (100 * (raw - nullScore)) / (perfect - nullScore);
}
