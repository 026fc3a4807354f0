import { closeSync, openSync, writeSync } from 'node:fs';
import type { DeadLetter, DeadLetterSink } from '../core/deadletter.js';

/**
 * Dead letters as NDJSON in a file. Writes are synchronous on purpose: dead letters are rare, each must be on disk
 * before the record is counted as handled, and a sync write needs no unbounded buffer.
 */
export class NdjsonDeadLetters implements DeadLetterSink {
  private fd: number | null;
  private readonly codes = new Map<string, number>();

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(dl: DeadLetter): void {
    this.codes.set(dl.code, (this.codes.get(dl.code) ?? 0) + 1);
    if (this.fd !== null) writeSync(this.fd, `${JSON.stringify(dl)}\n`);
  }

  get count(): number {
    let n = 0;
    for (const v of this.codes.values()) n += v;
    return n;
  }

  byCode(): Record<string, number> {
    return Object.fromEntries([...this.codes.entries()].sort());
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
