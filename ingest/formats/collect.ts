import type { z } from 'zod';
import { NightshiftError, type ErrorCode } from '../../core/errors.js';
import type { Event } from '../../schemas/events.js';
import type { SecretScanner } from '../../core/redact/index.js';
import type { IngestConfig } from '../config.js';
import { redactEvent, scannerFor } from '../redact.js';
import { fromEpochMs, parseTime } from './time.js';

export interface ParseError {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface ParseResult {
  readonly events: Event[];
  /** One per bad entry (or one for the whole payload), at most MAX_LISTED_ERRORS plus a summary line. */
  readonly errors: ReadonlyArray<ParseError>;
  /** How many entries were bad in total (errors is capped, this is not). */
  readonly badEntries: number;
  /** Entries skipped on purpose, by reason (e.g. `unsupported_metric_type`): not errors, but counted. */
  readonly dropped: Readonly<Record<string, number>>;
}

/** Bound on listed errors per payload: a 100k-span batch of garbage must not make a 100k-line dead letter. */
export const MAX_LISTED_ERRORS = 20;

const NO_DROPS: Readonly<Record<string, number>> = Object.freeze({});

/** Accumulates what one payload yields. Entry adapters throw NightshiftError; batch loops catch per entry. */
export class Collector {
  readonly events: Event[] = [];
  private readonly errors: ParseError[] = [];
  private bad = 0;
  private listedEntries = 0;
  private firstCode: ErrorCode | undefined;
  private dropped: Record<string, number> | undefined;
  private next = 0;
  private readonly scanner: SecretScanner;

  constructor(
    readonly pos: string,
    readonly recordTs: number | undefined,
    readonly cfg: IngestConfig,
  ) {
    this.scanner = scannerFor(cfg);
  }

  /** Deterministic event id: the record's position plus the entry's index within the payload (adapters take the id
   * before validating, so bad entries use up their index too and a good entry's id never depends on its neighbours). */
  nextId(): string {
    return `${this.pos}#${this.next++}`;
  }

  /** Every event leaves ingest through here, so this is where its secrets go (see ingest/redact.ts). */
  emit(e: Event): void {
    redactEvent(e, this.scanner);
    this.events.push(e);
  }

  fail(code: ErrorCode, message: string, entries = 1): void {
    this.bad += entries;
    this.firstCode ??= code;
    if (this.errors.length < MAX_LISTED_ERRORS) {
      this.errors.push({ code, message });
      this.listedEntries += entries;
    }
  }

  /** Records a thrown error for an entry at `where`; anything but a NightshiftError is a bug and becomes INTERNAL. */
  failFrom(err: unknown, where: string, entries = 1): void {
    if (err instanceof NightshiftError) this.fail(err.code, where ? `${where}: ${err.message}` : err.message, entries);
    else this.fail('INTERNAL', `${where ? `${where}: ` : ''}${err instanceof Error ? err.message : String(err)}`, entries);
  }

  drop(reason: string, n = 1): void {
    this.dropped ??= {};
    this.dropped[reason] = (this.dropped[reason] ?? 0) + n;
  }

  /** Event time from a payload field, else the record's (Kafka) timestamp, else BAD_TIMESTAMP. */
  time(v: number | string | null | undefined, what: string): number {
    if (v !== undefined && v !== null) return parseTime(v, what);
    return this.recordTime(what);
  }

  recordTime(what: string): number {
    if (this.recordTs === undefined) throw new NightshiftError('BAD_TIMESTAMP', `${what}: absent, and the record has no timestamp`);
    return fromEpochMs(this.recordTs, 'record timestamp');
  }

  result(): ParseResult {
    // The collector is used once, so its list is handed over as it is unless the summary line is added.
    const errors: ParseError[] = this.bad > this.listedEntries ? this.errors.slice() : this.errors;
    if (this.bad > this.listedEntries) {
      errors.push({ code: this.firstCode ?? 'INTERNAL', message: `… and ${this.bad - this.listedEntries} more bad entries not listed` });
    }
    return { events: this.events, errors, badEntries: this.bad, dropped: this.dropped ?? NO_DROPS };
  }
}

export function joinPath(base: string, path: ReadonlyArray<PropertyKey>): string {
  let s = base;
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s === '' ? String(p) : `.${String(p)}`;
  }
  return s;
}

/** zod parse that throws SCHEMA_MISMATCH naming the offending paths (at most three issues, to stay readable). */
export function check<T>(schema: z.ZodType<T>, value: unknown, base: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const shown = issues.slice(0, 3).map((i) => `${joinPath(base, i.path) || '(root)'}: ${i.message}`);
  if (issues.length > 3) shown.push(`and ${issues.length - 3} more issues`);
  throw new NightshiftError('SCHEMA_MISMATCH', shown.join('; '));
}

/**
 * check() for the hot path: `guard` (schemas/guard.ts) accepts what `schema` accepts and the value is used as it
 * is, with no copy; anything the guard refuses goes to zod, which gives the verdict and the error text. So a guard
 * that is too strict only costs time, and test/ingest-guards.test.ts keeps it from being too lenient.
 */
export function checkFast<T>(guard: (v: unknown) => v is T, schema: z.ZodType<T>, value: unknown, base: string): T {
  return guard(value) ? value : check(schema, value, base);
}

/** The payload as a JSON object: INVALID_JSON if it does not parse, SCHEMA_MISMATCH if it is not an object. */
export function parseJsonObject(payload: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch (e) {
    throw new NightshiftError('INVALID_JSON', `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new NightshiftError('SCHEMA_MISMATCH', `expected a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  }
  return v as Record<string, unknown>;
}

/** A service name as the schema wants it: MISSING_SERVICE if absent or empty, SCHEMA_MISMATCH if over 256 chars. */
export function requireService(s: string | undefined | null, what: string): string {
  if (s === undefined || s === null || s === '') throw new NightshiftError('MISSING_SERVICE', `no service: ${what}`);
  if (s.length > 256) throw new NightshiftError('SCHEMA_MISMATCH', `service name longer than 256 characters`);
  return s;
}

/** First non-empty label among `names` (the configured service labels). */
export function serviceFromLabels(labels: Readonly<Record<string, string>> | undefined, names: readonly string[]): string | undefined {
  if (!labels) return undefined;
  for (const n of names) {
    const v = Object.hasOwn(labels, n) ? labels[n] : undefined;
    if (v) return v;
  }
  return undefined;
}
