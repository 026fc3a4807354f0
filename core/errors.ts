/**
 * Error codes are a closed union; each carries its class where it is raised, so that callers never guess
 * from a message whether to retry.
 */
export type ErrorClass = 'permanent' | 'retriable' | 'throttled';

export const ERROR_CODES = {
  INVALID_JSON: 'permanent',
  /** A body sent as binary protobuf (OTLP/HTTP) that does not decode as the message its route expects. */
  INVALID_PROTOBUF: 'permanent',
  SCHEMA_MISMATCH: 'permanent',
  MISSING_SERVICE: 'permanent',
  BAD_TIMESTAMP: 'permanent',
  UNKNOWN_TOPIC: 'permanent',
  UNKNOWN_FORMAT: 'permanent',
  RECORD_TOO_LARGE: 'permanent',
  /** A replay in which no record was usable: every one became a dead letter. */
  NO_VALID_INPUT: 'permanent',
  CONFIG_INVALID: 'permanent',
  /** A lookup by id (an incident, a runbook) that the store does not have. */
  NOT_FOUND: 'permanent',
  /** A valid credential that may not do this (a read-only token calling a write tool). */
  FORBIDDEN: 'permanent',
  IO_ERROR: 'retriable',
  TIMEOUT: 'retriable',
  RATE_LIMITED: 'throttled',
  INTERNAL: 'permanent',
} as const satisfies Record<string, ErrorClass>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class NightshiftError extends Error {
  readonly code: ErrorCode;
  readonly errorClass: ErrorClass;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NightshiftError';
    this.code = code;
    this.errorClass = ERROR_CODES[code];
  }
  get retriable(): boolean {
    return this.errorClass !== 'permanent';
  }
}

export function toNightshiftError(err: unknown): NightshiftError {
  if (err instanceof NightshiftError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new NightshiftError('INTERNAL', message, { cause: err });
}
