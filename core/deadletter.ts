import type { ErrorCode } from './errors.js';
import { SecretScanner } from './redact/index.js';

/** Largest payload kept verbatim in a dead-letter record; the rest is cut and its size recorded. */
export const DEAD_LETTER_PAYLOAD_MAX = 64 * 1024;

/** An inspectable record of input that could not be processed. Nothing is dropped without one. */
export interface DeadLetter {
  readonly stage: string;
  readonly code: ErrorCode;
  readonly error: string;
  readonly topic?: string;
  readonly key?: string | null;
  /** Where it came from: a replay line number, or a Kafka partition and offset. */
  readonly source?: { readonly line?: number; readonly partition?: number; readonly offset?: string | number };
  readonly payload: string;
  readonly payload_bytes: number;
  readonly payload_truncated: boolean;
  /** Present and true when secrets were redacted from the payload or the error (the copy is then not verbatim). */
  readonly payload_redacted?: boolean;
}

let defaultScanner: SecretScanner | undefined;

/**
 * A dead letter keeps the bad input for people to read, on a topic or in a file: so it is redacted like every other
 * copy that leaves the process, before it is cut (a cut could split a secret past its rule). `scanner`: the
 * configured one (ingest's), `null` to keep the payload verbatim (configured off), absent for the default rules.
 */
export function makeDeadLetter(
  args: Omit<DeadLetter, 'payload' | 'payload_bytes' | 'payload_truncated' | 'payload_redacted'> & { payload: string },
  scanner?: SecretScanner | null,
): DeadLetter {
  const s = scanner === undefined ? (defaultScanner ??= new SecretScanner()) : scanner;
  const payload = s ? s.redact(args.payload) : args.payload;
  const error = s ? s.redact(args.error) : args.error;
  const bytes = Buffer.byteLength(args.payload, 'utf8');
  const truncated = Buffer.byteLength(payload, 'utf8') > DEAD_LETTER_PAYLOAD_MAX;
  return {
    ...args,
    error,
    payload: truncated ? Buffer.from(payload, 'utf8').subarray(0, DEAD_LETTER_PAYLOAD_MAX).toString('utf8') : payload,
    payload_bytes: bytes,
    payload_truncated: truncated,
    ...(payload !== args.payload || error !== args.error ? { payload_redacted: true } : {}),
  };
}

/** Where dead letters go. The embedded mode writes NDJSON; a test collects them in memory. */
export interface DeadLetterSink {
  write(dl: DeadLetter): void;
  readonly count: number;
  byCode(): Readonly<Record<string, number>>;
}

/** The counting every dead-letter sink shares: `write` tallies the code, then `deliver` puts the record somewhere. */
export abstract class CountingDeadLetters implements DeadLetterSink {
  private readonly codes = new Map<string, number>();
  protected abstract deliver(dl: DeadLetter): void;
  write(dl: DeadLetter): void {
    this.codes.set(dl.code, (this.codes.get(dl.code) ?? 0) + 1);
    this.deliver(dl);
  }
  get count(): number {
    let n = 0;
    for (const v of this.codes.values()) n += v;
    return n;
  }
  byCode(): Record<string, number> {
    return Object.fromEntries([...this.codes.entries()].sort());
  }
}

export class MemoryDeadLetters extends CountingDeadLetters {
  readonly items: DeadLetter[] = [];
  /** Bounded: beyond `keep` records only the counts grow, so a flood of bad input cannot exhaust memory. */
  constructor(private readonly keep = 10_000) {
    super();
  }
  protected deliver(dl: DeadLetter): void {
    if (this.items.length < this.keep) this.items.push(dl);
  }
}
