import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import type { LogLevel, LogRecord } from '../../schemas/events.js';
import { isEnumValue, isInt64, isNum, isObj, nullishString, optString } from '../../schemas/guard.js';
import { checkFast, parseJsonObject, requireService, type Collector } from './collect.js';
import { guessLevel, levelFromPinoNumber, levelFromWord } from './level.js';
import { EnumValue, Int64, anyValueToString, hexId, walkOtlp, type OtlpResource } from './otlp.js';
import { parseNanos } from './time.js';

export const OtlpLogRecord = z.object({
  timeUnixNano: Int64.optional(),
  observedTimeUnixNano: Int64.optional(),
  severityNumber: EnumValue.optional(),
  severityText: z.string().optional(),
  body: z.unknown().optional(),
  traceId: z.string().optional(),
});

/** OtlpLogRecord's verdict without its copy (schemas/guard.ts). */
export function isOtlpLogRecord(v: unknown): v is z.infer<typeof OtlpLogRecord> {
  if (!isObj(v)) return false;
  const { timeUnixNano: t, observedTimeUnixNano: o, severityNumber: n, severityText, traceId } = v;
  return (t === undefined || isInt64(t)) && (o === undefined || isInt64(o)) && (n === undefined || isEnumValue(n)) && optString(severityText) && optString(traceId);
}

const SEVERITY_NAME = /^SEVERITY_NUMBER_(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)[234]?$/;
const BY_NUMBER: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** OTLP SeverityNumber: 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, 21-24 fatal; 0 is unspecified. */
function levelFromSeverityNumber(n: number | string): LogLevel | undefined {
  if (typeof n === 'string') {
    if (n === 'SEVERITY_NUMBER_UNSPECIFIED') return undefined;
    const m = SEVERITY_NAME.exec(n);
    if (!m?.[1]) throw new NightshiftError('SCHEMA_MISMATCH', `severityNumber: ${JSON.stringify(n.slice(0, 40))} is not a severity`);
    return m[1].toLowerCase() as LogLevel;
  }
  if (n === 0) return undefined;
  const level = n >= 1 && n <= 24 ? BY_NUMBER[Math.floor((n - 1) / 4)] : undefined;
  if (!level) throw new NightshiftError('SCHEMA_MISMATCH', `severityNumber: ${n} is outside 0-24`);
  return level;
}

function visitLogRecord(c: Collector, item: unknown, res: OtlpResource): void {
  const id = c.nextId();
  const r = checkFast(isOtlpLogRecord, OtlpLogRecord, item, '');
  // OTLP: timeUnixNano is the event time and may be unset (0); observedTimeUnixNano is when the collector saw it.
  const t = parseNanos(r.timeUnixNano, 'timeUnixNano') ?? parseNanos(r.observedTimeUnixNano, 'observedTimeUnixNano');
  const message = r.body === undefined ? '' : anyValueToString(r.body, 'body');
  const level =
    (r.severityNumber !== undefined ? levelFromSeverityNumber(r.severityNumber) : undefined) ??
    (r.severityText ? levelFromWord(r.severityText) : undefined) ??
    guessLevel(message);
  const log: LogRecord = {
    kind: 'log',
    id,
    ts: t ? t.ms : c.recordTime('timeUnixNano and observedTimeUnixNano'),
    service: res.service,
    level,
    message,
  };
  if (res.host) log.host = res.host;
  if (r.traceId) log.trace_id = hexId(r.traceId, 16, 'traceId');
  c.emit(log);
}

/** `{ts, service, level?, message, host?, trace_id?}`; `level` may also be a pino/bunyan number. */
export const JsonLine = z.object({
  ts: z.union([z.number(), z.string()]).nullish(),
  service: z.string().nullish(),
  level: z.union([z.string(), z.number()]).nullish(),
  message: z.string(),
  host: z.string().nullish(),
  trace_id: z.string().nullish(),
});

/** JsonLine's verdict without its copy. */
export function isJsonLine(v: unknown): v is z.infer<typeof JsonLine> {
  if (!isObj(v)) return false;
  const { ts, service, level, message, host, trace_id } = v;
  return (
    (ts === undefined || ts === null || typeof ts === 'string' || isNum(ts)) &&
    nullishString(service) &&
    (level === undefined || level === null || typeof level === 'string' || isNum(level)) &&
    typeof message === 'string' &&
    nullishString(host) &&
    nullishString(trace_id)
  );
}

function jsonLine(c: Collector, root: Record<string, unknown>): void {
  const id = c.nextId();
  const p = checkFast(isJsonLine, JsonLine, root, '');
  const level =
    typeof p.level === 'number' ? levelFromPinoNumber(p.level) : ((p.level ? levelFromWord(p.level) : undefined) ?? guessLevel(p.message));
  const log: LogRecord = {
    kind: 'log',
    id,
    ts: c.time(p.ts, 'ts'),
    service: requireService(p.service, 'the log line has no `service` field'),
    level,
    message: p.message,
  };
  if (p.host) log.host = p.host;
  if (p.trace_id) log.trace_id = p.trace_id;
  c.emit(log);
}

function rawText(c: Collector, payload: string, key: string | null): void {
  const id = c.nextId();
  const message = payload.replace(/[\r\n]+$/, '');
  if (message.trim() === '') throw new NightshiftError('SCHEMA_MISMATCH', 'empty log line');
  c.emit({
    kind: 'log',
    id,
    ts: c.recordTime('a raw text log carries no time of its own: the record timestamp'),
    service: requireService(key, 'a raw text log takes its service from the record key, and the key is empty'),
    level: guessLevel(message),
    message,
  });
}

/**
 * Logs: OTLP/JSON (`resourceLogs`), a JSON line, or raw text. A payload whose first non-blank character is `{`
 * is JSON or nothing: if it does not parse it is dead-lettered INVALID_JSON rather than kept as raw text, because a
 * truncated structured record would otherwise pass as a log with the wrong service and no real time.
 * Any other payload (including JSON arrays and scalars) is raw text.
 */
export function parseLogs(payload: string, key: string | null, c: Collector): void {
  let i = 0;
  while (i < payload.length && (payload[i] === ' ' || payload[i] === '\t' || payload[i] === '\n' || payload[i] === '\r')) i++;
  if (payload[i] !== '{') {
    rawText(c, payload, key);
    return;
  }
  const root = parseJsonObject(payload);
  if (root.resourceLogs !== undefined) {
    walkOtlp(c, root, { resource: 'resourceLogs', scope: 'scopeLogs', item: 'logRecords' }, (item, _path, res) => visitLogRecord(c, item, res));
  } else {
    jsonLine(c, root);
  }
}
