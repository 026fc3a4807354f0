import type { LogLevel } from '../../schemas/events.js';

const WORDS: Readonly<Record<string, LogLevel>> = {
  trace: 'trace',
  trc: 'trace',
  finest: 'trace',
  verbose: 'trace',
  debug: 'debug',
  dbg: 'debug',
  fine: 'debug',
  info: 'info',
  inf: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  warn: 'warn',
  wrn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  eror: 'error',
  severe: 'error',
  fatal: 'fatal',
  panic: 'fatal',
  dpanic: 'fatal',
  crit: 'fatal',
  critical: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
};

/** A level word (any case, as loggers spell them: `WARNING`, `err`, `Critical`), or undefined if unknown. */
export function levelFromWord(w: string): LogLevel | undefined {
  return Object.hasOwn(WORDS, w.toLowerCase()) ? WORDS[w.toLowerCase()] : undefined;
}

/** pino/bunyan numeric levels (10 trace ... 60 fatal). */
export function levelFromPinoNumber(n: number): LogLevel {
  if (n <= 10) return 'trace';
  if (n <= 20) return 'debug';
  if (n <= 30) return 'info';
  if (n <= 40) return 'warn';
  if (n <= 50) return 'error';
  return 'fatal';
}

/** Only the head of a line is scanned: levels come first, and a 1 MiB stack trace must not cost a full regex pass. */
const GUESS_SCAN_CHARS = 512;
const KV_LEVEL = /\b(?:level|lvl|severity|loglevel)\s*["']?\s*[=:]\s*["']?([A-Za-z]+)/i;
const UPPER_LEVEL = /\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|PANIC|CRIT|CRITICAL|EMERG)\b/;
const FATAL_HINT = /\b(fatal|panic)\b/i;
const ERROR_HINT = /\b(error|exception)\b/i;
const WARN_HINT = /\b(warn|warning)\b/i;

/**
 * Level of an unstructured line: an explicit `level=x` wins, then the first upper-case level token
 * (`2024-... ERROR ...`), then error/warn words anywhere in the head, else info.
 */
export function guessLevel(text: string): LogLevel {
  const head = text.length > GUESS_SCAN_CHARS ? text.slice(0, GUESS_SCAN_CHARS) : text;
  const kv = KV_LEVEL.exec(head);
  const fromKv = kv?.[1] ? levelFromWord(kv[1]) : undefined;
  if (fromKv) return fromKv;
  const up = UPPER_LEVEL.exec(head);
  if (up?.[1]) return levelFromWord(up[1]) ?? 'info';
  if (FATAL_HINT.test(head)) return 'fatal';
  if (ERROR_HINT.test(head)) return 'error';
  if (WARN_HINT.test(head)) return 'warn';
  return 'info';
}
