import type { Writable } from 'node:stream';

/** Where a command writes: injectable so tests run commands in-process and read what they printed. */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Whether progress lines may redraw in place (a terminal); otherwise they are printed sparsely. */
  readonly tty: boolean;
}

export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, tty: Boolean(process.stderr.isTTY) });

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function intOpt(v: string | undefined, name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

export function numOpt(v: string | undefined, name: string, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= min) throw new UsageError(`--${name} must be a number above ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** Progress on stderr, throttled by record count so that it costs nothing on the hot path. */
export class Progress {
  private next: number;
  constructor(private readonly io: CliIo, private readonly label: string, private readonly every = 50_000, private readonly quiet = false) {
    this.next = every;
  }
  tick(n: number, extra = ''): void {
    if (this.quiet || n < this.next) return;
    this.next = n + this.every;
    const line = `${this.label}: ${n.toLocaleString('en-US')} records${extra}`;
    this.io.stderr.write(this.io.tty ? `\r${line}\u001b[K` : `${line}\n`);
  }
  done(): void {
    if (!this.quiet && this.io.tty) this.io.stderr.write('\n');
  }
}
