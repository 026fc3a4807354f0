import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Counters } from '../core/counters.js';
import { MemoryDeadLetters, makeDeadLetter, DEAD_LETTER_PAYLOAD_MAX } from '../core/deadletter.js';
import { readLines } from '../core/lines.js';
import { chain, runPipeline } from '../core/pipeline.js';
import { BoundedQueue } from '../core/queue.js';
import { replayRecords } from '../core/replay.js';
import type { Emitter, Stage } from '../core/stage.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('BoundedQueue', () => {
  it('blocks the producer when full and resumes it when the consumer takes an item', async () => {
    const q = new BoundedQueue<number>(2);
    await q.push(1);
    await q.push(2);
    let third = false;
    const p = q.push(3).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    expect(q.depth).toBe(2);
    expect(await q.pop()).toBe(1);
    await p;
    expect(third).toBe(true);
    expect(q.maxDepth).toBe(2);
    q.close();
    expect(await q.pop()).toBe(2);
    expect(await q.pop()).toBe(3);
    expect(await q.pop()).toBeUndefined();
  });
  it('rejects a capacity below 1', () => {
    expect(() => new BoundedQueue(0)).toThrow(RangeError);
  });
});

class Doubler implements Stage<number, number> {
  readonly name = 'doubler';
  readonly counters = new Counters();
  process(n: number, out: Emitter<number>): void {
    out.emit(n * 2);
  }
}
class SlowCollector implements Stage<number, never> {
  readonly name = 'collector';
  readonly counters = new Counters();
  readonly seen: number[] = [];
  async process(n: number): Promise<void> {
    if (n % 100 === 0) await new Promise((r) => setTimeout(r, 1));
    this.seen.push(n);
  }
}
class Failing implements Stage<number, number> {
  readonly name = 'failing';
  readonly counters = new Counters();
  process(n: number, out: Emitter<number>): void {
    if (n === 500) throw new Error('boom at 500');
    out.emit(n);
  }
}

describe('runPipeline', () => {
  it('keeps order, counts, and bounds the queues when the sink is slow', async () => {
    const sink = new SlowCollector();
    const d = new Doubler();
    async function* src(): AsyncGenerator<number> {
      for (let i = 0; i < 5000; i++) yield i;
    }
    await runPipeline(src(), chain(d).then(sink), { queueBatches: 2, batchSize: 10 });
    expect(sink.seen).toHaveLength(5000);
    expect(sink.seen.slice(0, 3)).toEqual([0, 2, 4]);
    expect(sink.seen[4999]).toBe(9998);
    expect(d.counters.snapshot()).toEqual({ received: 5000, sent: 5000, dropped: {} });
  });
  it('surfaces a stage failure instead of hanging', async () => {
    async function* src(): AsyncGenerator<number> {
      for (let i = 0; i < 100_000; i++) yield i;
    }
    await expect(runPipeline(src(), chain(new Failing()).then(new SlowCollector()), { queueBatches: 2, batchSize: 10 })).rejects.toThrow(
      'boom at 500',
    );
  });
});

describe('readLines', () => {
  it('splits lines across chunks, strips CR, and reports an oversized line without holding it', async () => {
    const big = 'x'.repeat(5000);
    const stream = Readable.from([Buffer.from('a\r\nb'), Buffer.from('c\n'), Buffer.from(big), Buffer.from(big + '\nlast')]);
    const lines = await collect(readLines(stream, 4096, 100));
    expect(lines[0]).toEqual({ kind: 'line', n: 1, text: 'a' });
    expect(lines[1]).toEqual({ kind: 'line', n: 2, text: 'bc' });
    expect(lines[2]).toMatchObject({ kind: 'oversized', n: 3, bytes: 10_000 });
    expect(lines[2]?.kind === 'oversized' && lines[2].head.length).toBe(100);
    expect(lines[3]).toEqual({ kind: 'line', n: 4, text: 'last' });
  });
});

describe('replayRecords', () => {
  it('yields valid records and dead-letters bad lines with their line number', async () => {
    const text = [
      JSON.stringify({ topic: 'logs', key: 'api', payload: 'hello', ts: 1 }),
      '{"topic": "logs", "payload": ', // truncated JSON
      JSON.stringify({ topic: 'logs', payload: 42 }), // wrong type
      '',
      JSON.stringify({ topic: 'alerts', payload: '{}' }),
      'y'.repeat(3000),
    ].join('\n');
    const dl = new MemoryDeadLetters();
    const recs = await collect(replayRecords(Readable.from([text]), { maxLineBytes: 2048, deadLetters: dl }));
    expect(recs.map((r) => [r.topic, r.key, r.source.line])).toEqual([
      ['logs', 'api', 1],
      ['alerts', null, 5],
    ]);
    expect(dl.byCode()).toEqual({ INVALID_JSON: 1, RECORD_TOO_LARGE: 1, SCHEMA_MISMATCH: 1 });
    expect(dl.items.find((d) => d.code === 'SCHEMA_MISMATCH')?.error).toMatch(/line 3.*payload/);
    expect(dl.items.find((d) => d.code === 'RECORD_TOO_LARGE')?.source).toEqual({ line: 6 });
  });
});

describe('dead letters', () => {
  it('keeps a bounded head of a huge payload and its true size', () => {
    const dl = makeDeadLetter({ stage: 'ingest', code: 'RECORD_TOO_LARGE', error: 'big', payload: 'z'.repeat(DEAD_LETTER_PAYLOAD_MAX + 10) });
    expect(dl.payload.length).toBe(DEAD_LETTER_PAYLOAD_MAX);
    expect(dl.payload_bytes).toBe(DEAD_LETTER_PAYLOAD_MAX + 10);
    expect(dl.payload_truncated).toBe(true);
  });
  it('memory sink keeps counting past its bound', () => {
    const m = new MemoryDeadLetters(2);
    for (let i = 0; i < 5; i++) m.write(makeDeadLetter({ stage: 's', code: 'INVALID_JSON', error: 'e', payload: 'p' }));
    expect(m.items).toHaveLength(2);
    expect(m.count).toBe(5);
  });
});
