/**
 * The replay parse worker (core/replay.ts, `replayRecords` with `worker: true`): reads the file (gunzipping it when
 * it starts with gzip's magic bytes), splits it into lines and parses each with the same `replayLine` the in-thread
 * reader uses, on the second core. Records go to the main thread in batches of columns (few, large messages: the
 * payload strings in one array, times and line numbers in typed arrays that are transferred, not copied), with each
 * source dead letter at its place among them, so the main thread sees exactly the sequence the in-thread reader
 * gives. Bounded: at most `credits` batches are unacknowledged; the worker stops reading until the main thread
 * takes one (backpressure, never a drop).
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { DeadLetter } from './deadletter.js';
import { readLines } from './lines.js';
import { decompressed, isDeadLetter, replayLine, type ReplayBatch, type ReplayWorkerData, type ReplayWorkerMessage } from './replay.js';

async function run(port: NonNullable<typeof parentPort>, d: ReplayWorkerData): Promise<void> {
  let credits = d.credits;
  let wake: (() => void) | null = null;
  port.on('message', () => {
    credits++;
    wake?.();
    wake = null;
  });
  let topics: string[] = [];
  let keys: (string | null)[] = [];
  let payloads: string[] = [];
  let ts: number[] = [];
  let lines: number[] = [];
  let dls: Array<readonly [number, DeadLetter]> = [];
  let chars = 0;
  let lastLine = 0;
  const send = async (): Promise<void> => {
    while (credits <= 0) await new Promise<void>((r) => (wake = r));
    credits--;
    const t = Float64Array.from(ts);
    const l = Float64Array.from(lines);
    const msg: ReplayBatch = { type: 'batch', topics, keys, payloads, ts: t, lines: l, deadLetters: dls, lastLine };
    port.postMessage(msg, [t.buffer, l.buffer]);
    topics = [];
    keys = [];
    payloads = [];
    ts = [];
    lines = [];
    dls = [];
    chars = 0;
  };
  const stream = await decompressed(createReadStream(d.path));
  for await (const line of readLines(stream, d.maxLineBytes)) {
    lastLine = line.n;
    const r = replayLine(line, d.maxLineBytes);
    if (r === null) continue;
    if (isDeadLetter(r)) {
      dls.push([payloads.length, r]);
      // A run of bad lines must not grow one batch without bound either.
      if (dls.length >= d.batchRecords) await send();
      continue;
    }
    topics.push(r.topic);
    keys.push(r.key);
    payloads.push(r.payload);
    ts.push(r.ts ?? NaN);
    lines.push(line.n);
    chars += r.payload.length;
    if (payloads.length >= d.batchRecords || chars >= d.batchChars) await send();
  }
  if (payloads.length > 0 || dls.length > 0) await send();
  port.postMessage({ type: 'end' } satisfies ReplayWorkerMessage);
}

if (parentPort) {
  const port = parentPort;
  run(port, workerData as ReplayWorkerData).then(
    () => port.close(),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      // Own enumerable fields (code, errno, syscall, path) do not survive structured cloning of an Error: copy them.
      const props: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(err)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) props[k] = v;
      port.postMessage({ type: 'error', error: { name: err.name, message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}), props } } satisfies ReplayWorkerMessage);
      port.close();
    },
  );
}
