import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import type * as Replay from '../core/replay.js';

// The worker is a separate module loaded by file URL, so it runs from the build (dist/), as `nightshift replay` does.
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = path.join(ROOT, 'dist', 'core', 'replay.js');

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.skipIf(!existsSync(path.join(ROOT, 'dist', 'core', 'replay-worker.js')))('replayRecords in a parse worker', () => {
  let dir = '';
  let replay: typeof Replay;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-replay-worker-'));
    replay = (await import(pathToFileURL(BUILT).href)) as typeof Replay;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Both readers over the same file: records, dead letters (in order) and progress. */
  async function both(file: string, maxLineBytes = 2048): Promise<{ plain: unknown; worker: unknown }> {
    const run = async (worker: boolean): Promise<unknown> => {
      const dl = new MemoryDeadLetters();
      const lines: number[] = [];
      const recs = await collect(replay.replayRecords(file, { maxLineBytes, deadLetters: dl, worker, onLine: (n) => lines.push(n) }));
      return { recs, dls: dl.items, byCode: dl.byCode(), lastLine: lines.at(-1) };
    };
    return { plain: await run(false), worker: await run(true) };
  }

  const mixed = (): string => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      if (i % 997 === 3) lines.push('{"topic": "logs", "payload": '); // truncated JSON
      else if (i % 991 === 5) lines.push(JSON.stringify({ topic: 'logs', payload: 42 })); // wrong type
      else if (i % 983 === 7) lines.push('y'.repeat(3000)); // oversized
      else if (i % 977 === 9) lines.push('');
      else if (i % 2 === 0) lines.push(JSON.stringify({ topic: 'logs', key: `svc-${i % 7}`, payload: `line ${i} ${'é'.repeat(i % 5)}`, ts: 1_700_000_000_000 + i }));
      else lines.push(JSON.stringify({ topic: 'metrics', key: null, payload: JSON.stringify({ name: 'm', value: i }) }));
    }
    // CRLF line endings on some lines, and no newline at the end.
    return lines.map((l, i) => (i % 10 === 0 ? `${l}\r` : l)).join('\n');
  };

  it('gives the same records, dead letters and order as the in-thread reader, plain and gzipped', async () => {
    const text = mixed();
    const file = path.join(dir, 'mixed.ndjson');
    await writeFile(file, text);
    const r = await both(file);
    expect(r.worker).toEqual(r.plain);
    const p = r.plain as { recs: unknown[]; byCode: Record<string, number>; lastLine: number };
    expect(p.recs.length).toBeGreaterThan(4900);
    expect(p.byCode).toEqual({ INVALID_JSON: 6, RECORD_TOO_LARGE: 6, SCHEMA_MISMATCH: 6 });
    const gz = path.join(dir, 'mixed.ndjson.gz');
    await writeFile(gz, gzipSync(Buffer.from(text)));
    const g = await both(gz);
    expect(g.worker).toEqual(r.plain);
  });

  it('keeps dead letters in place among records across many batches, and a file of only bad lines', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) lines.push(i % 3 === 0 ? 'not json' : JSON.stringify({ topic: 't', payload: String(i) }));
    const file = path.join(dir, 'many.ndjson');
    await writeFile(file, `${lines.join('\n')}\n`);
    const r = await both(file);
    expect(r.worker).toEqual(r.plain);
    // The order of writes, records and dead letters interleaved, is the in-thread one.
    const order = async (worker: boolean): Promise<string[]> => {
      const seen: string[] = [];
      const dl = { write: (d: { source?: { line?: number } }) => seen.push(`dl ${d.source?.line}`), count: 0, byCode: () => ({}) };
      for await (const rec of replay.replayRecords(file, { maxLineBytes: 2048, deadLetters: dl as never, worker })) seen.push(`rec ${rec.source.line}`);
      return seen;
    };
    expect(await order(true)).toEqual(await order(false));
    const bad = path.join(dir, 'bad.ndjson');
    await writeFile(bad, 'x\n'.repeat(5000));
    const b = await both(bad);
    expect(b.worker).toEqual(b.plain);
    expect((b.plain as { byCode: unknown }).byCode).toEqual({ INVALID_JSON: 5000 });
  });

  it('fails the read as the in-thread reader does: a missing file, a corrupt gzip', async () => {
    const missing = path.join(dir, 'nope.ndjson');
    const err = async (worker: boolean, file: string): Promise<unknown> =>
      collect(replay.replayRecords(file, { maxLineBytes: 2048, deadLetters: new MemoryDeadLetters(), worker })).then(
        () => 'no error',
        (e: NodeJS.ErrnoException) => ({ message: e.message, code: e.code }),
      );
    expect(await err(true, missing)).toEqual(await err(false, missing));
    expect(await err(true, missing)).toMatchObject({ code: 'ENOENT' });
    const corrupt = path.join(dir, 'corrupt.ndjson.gz');
    const gz = gzipSync(Buffer.from(mixed()));
    await writeFile(corrupt, Buffer.concat([gz.subarray(0, 200), Buffer.alloc(200, 7)]));
    expect(await err(true, corrupt)).toEqual(await err(false, corrupt));
    expect(await err(true, corrupt)).not.toBe('no error');
  });

  it('stops the worker when the consumer stops early', async () => {
    const file = path.join(dir, 'early.ndjson');
    await writeFile(file, `${JSON.stringify({ topic: 't', payload: 'p' })}\n`.repeat(50_000));
    let n = 0;
    for await (const _ of replay.replayRecords(file, { maxLineBytes: 2048, deadLetters: new MemoryDeadLetters(), worker: true })) if (++n === 10) break;
    expect(n).toBe(10);
  });
});
