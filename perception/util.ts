import { stableId } from '../core/hash.js';
import type { RootCauseKind } from '../schemas/common.js';
import { MAX_MAGNITUDE, type Signal, type SignalType } from '../schemas/signal.js';

export { LruMap } from '../core/lru.js';

/**
 * Told when a symptom is still going on but its signal was rate-limited (or is a re-sent alert): it keeps the
 * incidents of `service` (and `peer`) from resolving while their evidence persists, without adding evidence.
 */
/**
 * An anomaly persists (its signal is rate-limited). `strong`: the anomaly is of a kind that can carry an incident
 * (latency, errors, saturation, resource); traffic swings are not, and never keep an incident alive.
 */
export type KeepAlive = (service: string, ts: number, peer?: string, strong?: boolean, family?: string) => void;

export function clamp01(x: number): number {
  if (!Number.isFinite(x)) return x > 0 ? 1 : 0;
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Scores are rounded so that floating-point noise can never make two runs' outputs differ in the last digit. */
export function roundScore(x: number): number {
  return Math.round(clamp01(x) * 1e4) / 1e4;
}

export interface SignalInit {
  readonly type: SignalType;
  readonly ts: number;
  readonly service: string;
  readonly score: number;
  readonly hint: RootCauseKind;
  readonly summary: string;
  readonly ref: string;
  readonly peer?: string;
  readonly side?: 'server' | 'client';
  readonly family?: string;
  /** The measured value and what was expected: they give the signal's magnitude. */
  readonly observed?: number;
  readonly expected?: number;
}

/**
 * |ln(observed / expected)|, capped; the cap when one side is zero or they differ in sign (from nothing to something:
 * an error ratio off a zero baseline is as large a change as there is). Undefined for non-finite values.
 */
export function magnitudeOf(observed: number, expected: number): number | undefined {
  if (!Number.isFinite(observed) || !Number.isFinite(expected)) return undefined;
  if (observed === expected) return 0;
  if (observed <= 0 || expected <= 0) return observed === 0 && expected === 0 ? 0 : MAX_MAGNITUDE;
  return Math.min(MAX_MAGNITUDE, Math.round(Math.abs(Math.log(observed / expected)) * 1000) / 1000);
}

/** A signal's id is derived from what it says, so a replay gives the same ids. */
export function makeSignal(s: SignalInit): Signal {
  const sig: Signal = {
    id: stableId('sig', s.type, s.ref, s.ts, s.service),
    ts: s.ts,
    service: s.service,
    type: s.type,
    score: roundScore(s.score),
    hint: s.hint,
    summary: s.summary.length > 300 ? `${s.summary.slice(0, 297)}...` : s.summary,
    ref: s.ref,
  };
  if (s.peer !== undefined) sig.peer = s.peer;
  if (s.side !== undefined) sig.side = s.side;
  if (s.family !== undefined && s.family !== s.ref) sig.family = s.family;
  if (s.observed !== undefined && s.expected !== undefined) {
    const m = magnitudeOf(s.observed, s.expected);
    if (m !== undefined) sig.magnitude = m;
  }
  return sig;
}

/** Formats a number for summaries without floating-point noise. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}
