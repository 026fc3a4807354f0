import { closeSync, openSync, writeSync } from 'node:fs';
import { CountingDeadLetters, type DeadLetter } from '../core/deadletter.js';

/**
 * Dead letters as NDJSON in a file. Writes are synchronous on purpose: dead letters are rare, each must be on disk
 * before the record is counted as handled, and a sync write needs no unbounded buffer.
 */
export class NdjsonDeadLetters extends CountingDeadLetters {
  private fd: number | null;

  constructor(readonly path: string) {
    super();
    this.fd = openSync(path, 'w');
  }

  protected deliver(dl: DeadLetter): void {
    if (this.fd !== null) writeSync(this.fd, `${JSON.stringify(dl)}\n`);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
