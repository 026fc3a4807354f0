import type { RootCauseKind } from '../schemas/common.js';
import type { ChangeKind, LogLevel } from '../schemas/events.js';

/** Which way a series must move to be abnormal. */
export type Direction = 'up' | 'down' | 'both';

export interface Hint {
  readonly kind: RootCauseKind;
  readonly direction: Direction;
}

// Order matters (conventions.md): the first match wins, so `error_latency` is latency, `pool_errors` errors.
const METRIC_RULES: ReadonlyArray<readonly [RegExp, Hint]> = [
  [/latency|duration|response_time|_p9\d|p99|p95/i, { kind: 'latency', direction: 'up' }],
  [/error|5xx|fail|exception/i, { kind: 'errors', direction: 'up' }],
  [/mem|heap|rss|gc_|oom/i, { kind: 'resource', direction: 'up' }],
  [/cpu|saturation|pool|queue|thread|connections|conn_|utili[sz]ation|load/i, { kind: 'saturation', direction: 'up' }],
  [/rate|rps|qps|throughput|requests/i, { kind: 'unknown', direction: 'both' }],
];
const FALLBACK: Hint = { kind: 'unknown', direction: 'both' };

/** Hint of a metric (or alert) name. */
export function metricHint(name: string): Hint {
  for (const [re, hint] of METRIC_RULES) if (re.test(name)) return hint;
  return FALLBACK;
}

/** Alert names follow the metric rules (HighLatency -> latency, HighErrorRate -> errors). */
export function alertHint(alertname: string): RootCauseKind {
  return metricHint(alertname).kind;
}

const WARN_RULES: ReadonlyArray<readonly [RegExp, RootCauseKind]> = [
  [/timeout|timed out|slow|latency/i, 'latency'],
  [/pool|exhausted|queue full|too many connections|throttl/i, 'saturation'],
  [/out of memory|oom|heap|gc overhead/i, 'resource'],
];

/** Hint of a log template by the level of its logs and its text. */
export function logHint(level: LogLevel, text: string): RootCauseKind {
  if (level === 'error' || level === 'fatal') return 'errors';
  if (level === 'warn') {
    for (const [re, kind] of WARN_RULES) if (re.test(text)) return kind;
  }
  return 'unknown';
}

/** Every change kind is reported as 'deploy': the output contract has no 'config' kind. */
export function changeHint(_kind: ChangeKind): RootCauseKind {
  return 'deploy';
}

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };

export function levelRank(level: LogLevel): number {
  return LEVEL_RANK[level];
}
