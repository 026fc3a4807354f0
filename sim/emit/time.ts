/** Timestamp renderings used by the different sources (all UTC, all derived from event time). */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function p2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
function p3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

export function iso(ms: number): string {
  return new Date(Math.floor(ms)).toISOString();
}

/**
 * OTLP nanoseconds since the epoch as a decimal string. Built from text because ms * 1e6 is beyond 2^53;
 * sub-millisecond parts of `ms` are kept (span timings of fast datastores).
 */
export function nanos(ms: number): string {
  let whole = Math.floor(ms);
  let frac = Math.round((ms - whole) * 1e6);
  if (frac >= 1e6) {
    whole += 1;
    frac = 0;
  }
  return `${whole}${String(frac).padStart(6, '0')}`;
}

interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  ms: number;
}
function parts(ms: number): Parts {
  const dt = new Date(Math.floor(ms));
  return {
    y: dt.getUTCFullYear(),
    mo: dt.getUTCMonth(),
    d: dt.getUTCDate(),
    h: dt.getUTCHours(),
    mi: dt.getUTCMinutes(),
    s: dt.getUTCSeconds(),
    ms: dt.getUTCMilliseconds(),
  };
}

/** nginx access log: 02/Mar/2026:10:00:01 +0000 */
export function nginxAccessTime(ms: number): string {
  const p = parts(ms);
  return `${p2(p.d)}/${MONTHS[p.mo]}/${p.y}:${p2(p.h)}:${p2(p.mi)}:${p2(p.s)} +0000`;
}

/** nginx error log: 2026/03/02 10:00:01 */
export function nginxErrorTime(ms: number): string {
  const p = parts(ms);
  return `${p.y}/${p2(p.mo + 1)}/${p2(p.d)} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)}`;
}

/** postgres log_line_prefix '%m': 2026-03-02 10:00:01.123 UTC */
export function pgTime(ms: number): string {
  const p = parts(ms);
  return `${p.y}-${p2(p.mo + 1)}-${p2(p.d)} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)}.${p3(p.ms)} UTC`;
}

/** redis: 02 Mar 2026 10:00:01.123 */
export function redisTime(ms: number): string {
  const p = parts(ms);
  return `${p2(p.d)} ${MONTHS[p.mo]} ${p.y} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)}.${p3(p.ms)}`;
}

/** kafka log4j: 2026-03-02 10:00:01,123 */
export function kafkaTime(ms: number): string {
  const p = parts(ms);
  return `${p.y}-${p2(p.mo + 1)}-${p2(p.d)} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)},${p3(p.ms)}`;
}
