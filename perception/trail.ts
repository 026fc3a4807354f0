import { MAX_SERIES_POINTS, type SeriesPoint } from '../schemas/incident.js';
import { DetectorConfig } from './anomaly/config.js';

/** The detectors' z threshold when a configuration leaves it to their default. */
export const DEFAULT_Z_THRESHOLD = DetectorConfig.parse({}).zThreshold;

/**
 * Points of a series kept for plotting (observed against the expected band around a fault), at O(1) per point and
 * little memory: every series keeps only its last PRE_POINTS points (a ring of plain numbers, `ts, value, expected,
 * half` quadruples, `half` the band's half-width); when an anomaly episode starts, a trail of at most MAX_SERIES_POINTS points is started from them and
 * filled while the episode lasts and for POST_POINTS points after its last anomalous point, then frozen. Trails live
 * in an LRU map of their own (bounded count), so memory is PRE_POINTS x 4 numbers per series plus at most
 * `maxTrails` x MAX_SERIES_POINTS x 4 numbers. Plain objects and arrays, so checkpoints capture them as they are.
 */
export const PRE_POINTS = 6;
export const POST_POINTS = 8;

export interface PointRing {
  readonly buf: number[];
  /** Index of the oldest point; points held. */
  head: number;
  n: number;
}

export interface Trail extends PointRing {
  /** Points still recorded after the episode's last anomalous point (0: frozen). */
  post: number;
}

const STRIDE = 4;

/**
 * Half-width of the detector's normal band at a point: zThreshold sigmas, the distance from expected within which the
 * detector scores 0. Sigma is recovered from the result (deviation = (value - expected) / sigma); a point exactly at
 * its expected value says nothing about sigma, and gets NaN (the band is carried from the point before).
 */
export function bandHalfWidth(value: number, expected: number, deviation: number, zThreshold: number): number {
  return Math.abs(deviation) > 1e-9 && Number.isFinite(deviation) ? (zThreshold * Math.abs(value - expected)) / Math.abs(deviation) : Number.NaN;
}

export function newRing(): PointRing {
  return { buf: [], head: 0, n: 0 };
}

/** Appends one point to a ring of `cap` points (O(1); the oldest is overwritten when full). */
export function ringPush(r: PointRing, cap: number, ts: number, value: number, expected: number, half: number): void {
  const slot = r.n < cap ? (r.head + r.n) % cap : r.head;
  const i = slot * STRIDE;
  r.buf[i] = ts;
  r.buf[i + 1] = value;
  r.buf[i + 2] = expected;
  r.buf[i + 3] = half;
  if (r.n < cap) r.n++;
  else r.head = (r.head + 1) % cap;
}

/** The ring's points, oldest first, rounded (6 decimals) for output. */
export function ringPoints(r: PointRing, cap: number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (let k = 0; k < r.n; k++) {
    const i = ((r.head + k) % cap) * STRIDE;
    const expected = r.buf[i + 2] as number;
    const half = r.buf[i + 3];
    const band = half !== undefined && Number.isFinite(half) ? { lo: r6(expected - half), hi: r6(expected + half) } : {};
    out.push({ ts: r.buf[i] as number, value: r6(r.buf[i + 1] as number), expected: r6(expected), ...band });
  }
  return out;
}

/** The newest point of a ring, or undefined. */
export function ringLast(r: PointRing, cap: number): { ts: number; value: number; expected: number } | undefined {
  if (r.n === 0) return undefined;
  const i = ((r.head + r.n - 1) % cap) * STRIDE;
  return { ts: r.buf[i] as number, value: r.buf[i + 1] as number, expected: r.buf[i + 2] as number };
}

/** A trail started from the points a series kept before its episode. */
export function trailFrom(pre: PointRing): Trail {
  const t: Trail = { buf: [], head: 0, n: 0, post: POST_POINTS };
  for (let k = 0; k < pre.n; k++) {
    const i = ((pre.head + k) % PRE_POINTS) * STRIDE;
    ringPush(t, MAX_SERIES_POINTS, pre.buf[i] as number, pre.buf[i + 1] as number, pre.buf[i + 2] as number, pre.buf[i + 3] as number);
  }
  return t;
}

/**
 * One point of a series: into its active trail (counting down the points after the episode) or its pre-ring.
 * Returns the trail still active after this point, or undefined.
 */
export function recordPoint(pre: PointRing, trail: Trail | undefined, ts: number, value: number, expected: number, half: number): Trail | undefined {
  let h = half;
  if (!Number.isFinite(h) && pre.n > 0) h = pre.buf[((pre.head + pre.n - 1) % PRE_POINTS) * STRIDE + 3] as number;
  ringPush(pre, PRE_POINTS, ts, value, expected, h);
  if (!trail) return undefined;
  ringPush(trail, MAX_SERIES_POINTS, ts, value, expected, h);
  trail.post--;
  return trail.post > 0 ? trail : undefined;
}

function r6(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : 0;
}
