import { NightshiftError, type ErrorCode } from '../../core/errors.js';

/**
 * What a failed ClickHouse request means for the rows in it:
 *   bad_data   the rows (some of them) are wrong: never retried; the batch is split to find them, they are dead-lettered
 *   retriable  the server or the network is not there right now: retried with backoff
 *   throttled  the server is there but overloaded (too many parts, too many queries): retried with backoff
 *   fatal      configuration (unknown table, authentication): no row can succeed; the writer fails loudly
 */
export type FailureKind = 'bad_data' | 'retriable' | 'throttled' | 'fatal';

export interface ClassifiedError {
  readonly kind: FailureKind;
  readonly code: ErrorCode;
  /** The ClickHouse error code, when the server sent one. */
  readonly chCode: number | null;
  readonly message: string;
}

// ClickHouse error codes (src/Common/ErrorCodes.cpp). Old servers reuse some numbers for other meanings, so the
// tables are by number and were checked against 18.16 (e.g. an unknown enum element is 49 there, 691 today).
const BAD_DATA = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  49, // 18.16: unknown element of an Enum (LOGICAL_ERROR number)
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA (e.g. unknown field in JSONEachRow)
  130, // CANNOT_READ_ARRAY_FROM_TEXT
  131, // TOO_LARGE_STRING_SIZE
  190, // SIZES_OF_ARRAYS_DOESNT_MATCH
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  691, // UNKNOWN_ELEMENT_OF_ENUM
]);
const THROTTLED = new Set([
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  241, // MEMORY_LIMIT_EXCEEDED
  252, // TOO_MANY_PARTS
  439, // CANNOT_SCHEDULE_TASK
]);
const TIMEOUTS = new Set([
  159, // TIMEOUT_EXCEEDED
  209, // SOCKET_TIMEOUT
]);
const RETRIABLE = new Set([
  3, // UNEXPECTED_END_OF_FILE (connection cut mid-body)
  210, // NETWORK_ERROR
  242, // TABLE_IS_READ_ONLY (a replica lost its coordinator)
  319, // UNKNOWN_STATUS_OF_INSERT
  394, // QUERY_WAS_CANCELLED (server shutting down)
  425, // SYSTEM_ERROR
  473, // DEADLOCK_AVOIDED
  999, // KEEPER_EXCEPTION
]);
const FATAL = new Set([
  36, // BAD_ARGUMENTS
  47, // UNKNOWN_IDENTIFIER
  60, // UNKNOWN_TABLE
  62, // SYNTAX_ERROR
  81, // UNKNOWN_DATABASE
  115, // UNKNOWN_SETTING
  164, // READONLY
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  195, // IP_ADDRESS_NOT_ALLOWED
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** The ClickHouse code of an error: `.code` of a parsed ClickHouseError, or `Code: N` in the text (old servers). */
export function clickhouseCodeOf(err: unknown): number | null {
  if (typeof err !== 'object' || err === null) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number' && Number.isInteger(code)) return code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const chCode = (err as { clickhouseCode?: unknown }).clickhouseCode;
  if (typeof chCode === 'number' && Number.isInteger(chCode)) return chCode;
  const m = /(?:^|\s)Code: (\d+)[.,]/.exec(err instanceof Error ? err.message : String(err));
  return m ? Number(m[1]) : null;
}

function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  // Old servers append a stack and the exception class; the first line is what a person needs.
  return m.length > 2000 ? `${m.slice(0, 2000)}...` : m;
}

export function classifyClickHouseError(err: unknown): ClassifiedError {
  const message = messageOf(err);
  if (err instanceof NightshiftError) {
    const kind: FailureKind = err.errorClass === 'throttled' ? 'throttled' : err.retriable ? 'retriable' : err.code === 'SCHEMA_MISMATCH' ? 'bad_data' : 'fatal';
    return { kind, code: err.code, chCode: null, message };
  }
  const ch = clickhouseCodeOf(err);
  if (ch !== null) {
    if (BAD_DATA.has(ch)) return { kind: 'bad_data', code: 'SCHEMA_MISMATCH', chCode: ch, message };
    if (THROTTLED.has(ch)) return { kind: 'throttled', code: 'RATE_LIMITED', chCode: ch, message };
    if (TIMEOUTS.has(ch)) return { kind: 'retriable', code: 'TIMEOUT', chCode: ch, message };
    if (RETRIABLE.has(ch)) return { kind: 'retriable', code: 'IO_ERROR', chCode: ch, message };
    if (FATAL.has(ch)) return { kind: 'fatal', code: 'CONFIG_INVALID', chCode: ch, message };
    // An unknown server code on an insert: treat the rows as suspect (split and dead-letter) rather than retry forever
    // or stop the pipeline; the dead letters carry the code, so a systematic cause is visible.
    return { kind: 'bad_data', code: 'INTERNAL', chCode: ch, message };
  }
  const sys = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof sys === 'string' && NETWORK_CODES.has(sys)) return { kind: 'retriable', code: sys === 'ETIMEDOUT' ? 'TIMEOUT' : 'IO_ERROR', chCode: null, message };
  if (/timeout/i.test(message)) return { kind: 'retriable', code: 'TIMEOUT', chCode: null, message };
  // No server code and no known cause: a proxy's 502/503 page, a socket closed mid-response. Retrying is right.
  return { kind: 'retriable', code: 'IO_ERROR', chCode: null, message };
}

/** Raises a classified error as a NightshiftError (for callers outside the writer, e.g. migrations). */
export function toClickHouseNightshiftError(err: unknown, context: string): NightshiftError {
  const c = classifyClickHouseError(err);
  return new NightshiftError(c.code, `${context}: ${c.chCode !== null ? `ClickHouse code ${c.chCode}: ` : ''}${firstLine(c.message)}`, { cause: err });
}

export function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}
