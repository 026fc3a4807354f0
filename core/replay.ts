import { createReadStream } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { makeDeadLetter, type DeadLetter, type DeadLetterSink } from './deadletter.js';
import { readLines, type Line } from './lines.js';
import type { RawRecord } from './raw.js';
import { ReplayRecord, isReplayRecord } from '../schemas/replay.js';

export interface ReplaySourceOptions {
  /** Longest replay line accepted; longer lines become RECORD_TOO_LARGE dead letters without being held in memory. */
  readonly maxLineBytes: number;
  readonly deadLetters: DeadLetterSink;
  readonly onLine?: (n: number) => void;
}

/**
 * One line of a replay file as a raw record, or the dead letter (stage `source`) saying why it is not one, or null
 * for a blank line. The per-line work of a replay source, shared by the in-thread reader and the parse worker.
 */
export function replayLine(line: Line, maxLineBytes: number): RawRecord | DeadLetter | null {
  if (line.kind === 'oversized') {
    return makeDeadLetter({
      stage: 'source',
      code: 'RECORD_TOO_LARGE',
      error: `replay line ${line.n} is ${line.bytes} bytes, over the ${maxLineBytes}-byte limit`,
      source: { line: line.n },
      payload: line.head,
    });
  }
  if (line.text.trim() === '') return null;
  let obj: unknown;
  try {
    obj = JSON.parse(line.text);
  } catch (e) {
    return makeDeadLetter({
      stage: 'source',
      code: 'INVALID_JSON',
      error: `replay line ${line.n} is not JSON: ${(e as Error).message}`,
      source: { line: line.n },
      payload: line.text,
    });
  }
  // The guard accepts exactly what the schema accepts, without zod's copy; zod runs only to explain a rejection.
  let rec: ReplayRecord;
  if (isReplayRecord(obj)) rec = obj;
  else {
    const r = ReplayRecord.safeParse(obj);
    if (!r.success) {
      const issue = r.error.issues[0];
      return makeDeadLetter({
        stage: 'source',
        code: 'SCHEMA_MISMATCH',
        error: `replay line ${line.n} is not a replay record: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
        source: { line: line.n },
        payload: line.text,
      });
    }
    rec = r.data;
  }
  const source = { line: line.n };
  return rec.ts !== undefined
    ? { topic: rec.topic, key: rec.key ?? null, payload: rec.payload, ts: rec.ts, source }
    : { topic: rec.topic, key: rec.key ?? null, payload: rec.payload, source };
}

/** A replayLine result that is a dead letter (a raw record has no `stage`). */
export function isDeadLetter(r: RawRecord | DeadLetter): r is DeadLetter {
  return (r as Partial<DeadLetter>).stage !== undefined;
}

/**
 * Reads a replay file (NDJSON in `kcat -J` shape) as raw records. A bad line never stops the run: it becomes a
 * dead letter from the `source` stage, with its line number.
 */
export async function* replayRecords(input: string | Readable, opts: ReplaySourceOptions): AsyncGenerator<RawRecord> {
  const stream = await decompressed(typeof input === 'string' ? createReadStream(input) : input);
  for await (const line of readLines(stream, opts.maxLineBytes)) {
    opts.onLine?.(line.n);
    const r = replayLine(line, opts.maxLineBytes);
    if (r === null) continue;
    if (isDeadLetter(r)) opts.deadLetters.write(r);
    else yield r;
  }
}

/** gzip's magic bytes: a replay file (or stdin) that starts with them is gunzipped, whatever its name. */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * The stream as plain bytes: the first chunk decides (by magic bytes, not by file name) whether it is gzipped.
 * A corrupt gzip stream fails the read with zlib's error, which the CLI reports as a runtime failure.
 */
export async function decompressed(stream: Readable): Promise<Readable> {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  const firsts: Buffer[] = [];
  // Two bytes decide; a first chunk of one byte is possible on a pipe.
  while (head.length < GZIP_MAGIC.length) {
    const r = await it.next();
    if (r.done) break;
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    firsts.push(b);
    head = Buffer.concat([head, b]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    for (const b of firsts) yield b;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  const plain = Readable.from(rest(), { objectMode: false });
  if (head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
    // pipeline() destroys the gunzip stream with any error, so a truncated or corrupt file fails the read loudly.
    return pipeline(plain, createGunzip(), () => undefined);
  }
  return plain;
}
