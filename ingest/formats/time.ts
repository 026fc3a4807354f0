import { NightshiftError } from '../../core/errors.js';

/**
 * Event time is epoch milliseconds. The accepted window is [MIN_EPOCH_MS, MAX_EPOCH_MS):
 * - below 1e11 ms (1973-03-03) a number is almost surely seconds since the epoch, not milliseconds. We reject it
 *   (BAD_TIMESTAMP) instead of multiplying by 1000: a silent unit guess hides a producer bug, and a stream that mixes
 *   units would scramble event-time order. The same floor applies to ISO strings and OTLP nanoseconds, so one rule
 *   holds for every form.
 * - at or above year 2200 a value is garbage, or microseconds/nanoseconds sent where milliseconds were expected.
 */
export const MIN_EPOCH_MS = 1e11;
export const MAX_EPOCH_MS = Date.UTC(2200, 0, 1);

function bad(what: string, detail: string): NightshiftError {
  return new NightshiftError('BAD_TIMESTAMP', `${what}: ${detail}`);
}

function checkRange(ms: number, what: string, shown: string): number {
  if (!Number.isFinite(ms)) throw bad(what, `${shown} is not a finite time`);
  if (ms < 0) throw bad(what, `${shown} is before 1970`);
  if (ms < MIN_EPOCH_MS) {
    throw bad(what, `${shown} is before 1973-03-03; epoch seconds are not accepted, send milliseconds`);
  }
  if (ms >= MAX_EPOCH_MS) throw bad(what, `${shown} is after year 2200 (micro- or nanoseconds where milliseconds were expected?)`);
  return Math.floor(ms);
}

/** Epoch milliseconds given as a JSON number (fractions are floored). */
export function fromEpochMs(n: number, what: string): number {
  return checkRange(n, what, String(n));
}

// RFC 3339 / ISO-8601 date-time with a mandatory zone: a zoneless time would be read in the machine's local zone,
// and the same replay must give the same output everywhere.
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/** Milliseconds of an ISO-8601 date-time with zone, or NaN if it is not one. Sub-millisecond digits are dropped. */
export function isoToMs(s: string): number {
  const m = ISO_RE.exec(s);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, sec, frac, z, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = sec === undefined ? 0 : Number(sec);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return NaN;
  const fracMs = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const base = new Date(0);
  base.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 0-99 literal, unlike Date.UTC
  if (base.getUTCDate() !== day) return NaN; // 2024-02-31 and friends
  let ms = base.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + fracMs;
  if (z === undefined) {
    if (Number(oh) > 23 || Number(om) > 59) return NaN;
    const off = (Number(oh) * 60 + Number(om)) * 60_000;
    ms += sign === '+' ? -off : off;
  }
  return ms;
}

/** A plain-JSON time: epoch milliseconds (number) or an ISO-8601 string with a zone. */
export function parseTime(v: number | string, what: string): number {
  if (typeof v === 'number') return fromEpochMs(v, what);
  const ms = isoToMs(v);
  if (Number.isNaN(ms)) {
    const hint = /^\d+$/.test(v) ? ' (a numeric string: send epoch milliseconds as a JSON number)' : '';
    throw bad(what, `${JSON.stringify(v.slice(0, 64))} is not an ISO-8601 date-time with a zone${hint}`);
  }
  return checkRange(ms, what, v);
}

/** An OTLP time: milliseconds plus the nanoseconds below them, so that span durations keep sub-ms precision. */
export interface NanoTime {
  readonly ms: number;
  readonly subNs: number;
}

/**
 * OTLP `*UnixNano` fields: a decimal string (proto3 JSON encodes 64-bit integers as strings) or a number.
 * 0 and absent mean "unknown" in OTLP and give undefined; the caller decides the fallback.
 */
export function parseNanos(v: string | number | undefined, what: string): NanoTime | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || !Number.isInteger(v)) throw bad(what, `${v} is not a non-negative integer of nanoseconds`);
    if (v === 0) return undefined;
    const ms = Math.floor(v / 1e6);
    return { ms: checkRange(ms, what, String(v)), subNs: v - ms * 1e6 };
  }
  if (!/^\d{1,20}$/.test(v)) throw bad(what, `${JSON.stringify(v.slice(0, 64))} is not a decimal string of nanoseconds`);
  if (/^0+$/.test(v)) return undefined;
  const ms = v.length > 6 ? Number(v.slice(0, -6)) : 0;
  const subNs = Number(v.slice(-6));
  return { ms: checkRange(ms, what, v), subNs };
}

/** (b - a) in milliseconds with nanosecond precision. */
export function nanoDiffMs(a: NanoTime, b: NanoTime): number {
  return b.ms - a.ms + (b.subNs - a.subNs) / 1e6;
}
