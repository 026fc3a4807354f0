import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { makeDeadLetter, type DeadLetterSink } from './deadletter.js';
import { readLines } from './lines.js';
import type { RawRecord } from './raw.js';
import { ReplayRecord } from '../schemas/index.js';

export interface ReplaySourceOptions {
  /** Longest replay line accepted; longer lines become RECORD_TOO_LARGE dead letters without being held in memory. */
  readonly maxLineBytes: number;
  readonly deadLetters: DeadLetterSink;
  readonly onLine?: (n: number) => void;
}

/**
 * Reads a replay file (NDJSON in `kcat -J` shape) as raw records. A bad line never stops the run: it becomes a
 * dead letter from the `source` stage, with its line number.
 */
export async function* replayRecords(input: string | Readable, opts: ReplaySourceOptions): AsyncGenerator<RawRecord> {
  const stream = typeof input === 'string' ? createReadStream(input) : input;
  for await (const line of readLines(stream, opts.maxLineBytes)) {
    opts.onLine?.(line.n);
    if (line.kind === 'oversized') {
      opts.deadLetters.write(
        makeDeadLetter({
          stage: 'source',
          code: 'RECORD_TOO_LARGE',
          error: `replay line ${line.n} is ${line.bytes} bytes, over the ${opts.maxLineBytes}-byte limit`,
          source: { line: line.n },
          payload: line.head,
        }),
      );
      continue;
    }
    if (line.text.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line.text);
    } catch (e) {
      opts.deadLetters.write(
        makeDeadLetter({
          stage: 'source',
          code: 'INVALID_JSON',
          error: `replay line ${line.n} is not JSON: ${(e as Error).message}`,
          source: { line: line.n },
          payload: line.text,
        }),
      );
      continue;
    }
    const r = ReplayRecord.safeParse(obj);
    if (!r.success) {
      const issue = r.error.issues[0];
      opts.deadLetters.write(
        makeDeadLetter({
          stage: 'source',
          code: 'SCHEMA_MISMATCH',
          error: `replay line ${line.n} is not a replay record: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
          source: { line: line.n },
          payload: line.text,
        }),
      );
      continue;
    }
    const rec = r.data;
    yield {
      topic: rec.topic,
      key: rec.key ?? null,
      payload: rec.payload,
      ...(rec.ts !== undefined ? { ts: rec.ts } : {}),
      source: { line: line.n },
    };
  }
}
