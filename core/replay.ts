import { createReadStream, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
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
  /**
   * Read, split and parse the file in a worker thread (core/replay-worker.ts), on the second core; the records and
   * dead letters are the same, in the same order. Only for a file path: a stream (stdin) is read in this thread, and
   * so is everything when the worker module is not built (running from the TypeScript sources).
   */
  readonly worker?: boolean;
}

/** What the parse worker is started with. */
export interface ReplayWorkerData {
  readonly path: string;
  readonly maxLineBytes: number;
  /** Batches in flight (sent, not yet taken by the main thread). */
  readonly credits: number;
  /** A batch is sent when it holds this many records... */
  readonly batchRecords: number;
  /** ...or this many payload characters. */
  readonly batchChars: number;
}

/** One batch: record i is (topics[i], keys[i], payloads[i], ts[i] (NaN: none), lines[i]). */
export interface ReplayBatch {
  readonly type: 'batch';
  readonly topics: string[];
  readonly keys: (string | null)[];
  readonly payloads: string[];
  readonly ts: Float64Array;
  readonly lines: Float64Array;
  /** Dead letters with the number of records of this batch that come before each. */
  readonly deadLetters: Array<readonly [number, DeadLetter]>;
  /** The last line number read, for progress. */
  readonly lastLine: number;
}

export type ReplayWorkerMessage =
  | ReplayBatch
  | { readonly type: 'end' }
  | { readonly type: 'error'; readonly error: { readonly name: string; readonly message: string; readonly stack?: string; readonly props: Record<string, unknown> } };


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
  if (opts.worker === true && typeof input === 'string' && workerBuilt()) {
    yield* workerRecords(input, opts);
    return;
  }
  const stream = await decompressed(typeof input === 'string' ? createReadStream(input) : input);
  for await (const line of readLines(stream, opts.maxLineBytes)) {
    opts.onLine?.(line.n);
    const r = replayLine(line, opts.maxLineBytes);
    if (r === null) continue;
    if (isDeadLetter(r)) opts.deadLetters.write(r);
    else yield r;
  }
}

/** Batches in flight between the parse worker and the main thread, and their size. */
const WORKER_CREDITS = 4;
const WORKER_BATCH_RECORDS = 2048;
const WORKER_BATCH_CHARS = 1 << 20;

const WORKER_URL = new URL('./replay-worker.js', import.meta.url);
let built: boolean | undefined;
/** The worker runs from the build (dist/core/replay-worker.js); run from the TypeScript sources (tests), it is not there. */
function workerBuilt(): boolean {
  return (built ??= existsSync(fileURLToPath(WORKER_URL)));
}

/** An Error as the worker reported it, with its own fields (code, errno, syscall, path) back on it. */
function rebuilt(e: Extract<ReplayWorkerMessage, { type: 'error' }>['error']): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack !== undefined) err.stack = e.stack;
  return Object.assign(err, e.props);
}

/** replayRecords through the parse worker: the same records and dead letters, in the same order. */
async function* workerRecords(path: string, opts: ReplaySourceOptions): AsyncGenerator<RawRecord> {
  const data: ReplayWorkerData = { path, maxLineBytes: opts.maxLineBytes, credits: WORKER_CREDITS, batchRecords: WORKER_BATCH_RECORDS, batchChars: WORKER_BATCH_CHARS };
  const w = new Worker(WORKER_URL, { workerData: data });
  const inbox: ReplayWorkerMessage[] = [];
  let waiting: ((m: ReplayWorkerMessage) => void) | null = null;
  let ended = false;
  const deliver = (m: ReplayWorkerMessage): void => {
    if (m.type !== 'batch') ended = true;
    if (waiting) {
      const f = waiting;
      waiting = null;
      f(m);
    } else inbox.push(m);
  };
  const failed = (e: Error): ReplayWorkerMessage => ({ type: 'error', error: { name: e.name, message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}), props: {} } });
  w.on('message', deliver);
  w.on('error', (e) => deliver(failed(e)));
  w.on('exit', (code) => {
    if (!ended) deliver(failed(new Error(`the replay parse worker exited with code ${code} before the end of ${path}`)));
  });
  try {
    for (;;) {
      const m = inbox.length > 0 ? inbox.shift()! : await new Promise<ReplayWorkerMessage>((r) => (waiting = r));
      if (m.type === 'end') return;
      if (m.type === 'error') throw rebuilt(m.error);
      // Hand the credit back at once, so the worker parses the next batch while this one is consumed.
      w.postMessage(1);
      const { topics, keys, payloads, ts, lines, deadLetters } = m;
      let d = 0;
      for (let i = 0; i < payloads.length; i++) {
        while (d < deadLetters.length && deadLetters[d]![0] <= i) opts.deadLetters.write(deadLetters[d++]![1]);
        const t = ts[i]!;
        const source = { line: lines[i]! };
        yield Number.isNaN(t) ? { topic: topics[i]!, key: keys[i]!, payload: payloads[i]!, source } : { topic: topics[i]!, key: keys[i]!, payload: payloads[i]!, ts: t, source };
      }
      while (d < deadLetters.length) opts.deadLetters.write(deadLetters[d++]![1]);
      opts.onLine?.(m.lastLine);
    }
  } finally {
    await w.terminate();
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
