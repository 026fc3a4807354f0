import { describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { backoffDelay, seededRandom } from '../sinks/clickhouse/backoff.js';
import { WriterConfig } from '../sinks/clickhouse/config.js';
import { classifyClickHouseError } from '../sinks/clickhouse/errors.js';
import { RowWriter, type RowWriterDeps } from '../sinks/clickhouse/writer.js';
import { connRefused, FakeClickHouse, gate } from './clickhouse-fake.js';

function setup(cfg: Partial<WriterConfig>, extra: Partial<RowWriterDeps> = {}) {
  const ch = new FakeClickHouse();
  const deadLetters = new MemoryDeadLetters();
  const sleeps: number[] = [];
  const deps: RowWriterDeps = {
    log: silentLogger(),
    deadLetters,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...extra,
  };
  const w = new RowWriter('clickhouse.t', 'db.t', ch, WriterConfig.parse({ batchDelayMs: 60_000, ...cfg }), deps, 7);
  return { ch, w, deadLetters, sleeps };
}

const row = (i: number, extra: Record<string, unknown> = {}) => ({ id: i, text: `row ${i}`, ...extra });

describe('RowWriter batching', () => {
  it('closes a batch at batchRows and sends the rest on flush', async () => {
    const { ch, w } = setup({ batchRows: 10 });
    for (let i = 0; i < 25; i++) await w.write(row(i));
    await w.flush();
    expect(ch.attempts.map((a) => a.rows.length)).toEqual([10, 10, 5]);
    expect(ch.rows('db.t').map((r) => JSON.parse(r).id)).toEqual([...Array(25).keys()]);
    expect(w.counters.snapshot()).toEqual({ received: 25, sent: 25, dropped: {} });
  });

  it('closes a batch at batchBytes', async () => {
    const { ch, w } = setup({ batchRows: 1000, batchBytes: 1024 });
    const pad = 'x'.repeat(300);
    for (let i = 0; i < 10; i++) await w.write(row(i, { pad }));
    await w.flush();
    for (const a of ch.attempts) expect(a.rows.join('\n').length).toBeLessThanOrEqual(1024);
    expect(ch.attempts.length).toBeGreaterThanOrEqual(4);
    expect(ch.rows('db.t')).toHaveLength(10);
  });

  it('sends a partial batch after batchDelayMs without a flush', async () => {
    const { ch, w } = setup({ batchRows: 1000, batchDelayMs: 20 });
    for (let i = 0; i < 3; i++) await w.write(row(i));
    expect(ch.attempts).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 150));
    expect(ch.attempts.map((a) => a.rows.length)).toEqual([3]);
    expect(w.acked).toBe(3);
    await w.close();
  });
});

describe('RowWriter bounded buffer', () => {
  it('makes write wait while bufferRows rows are held, and never holds more', async () => {
    const { ch, w } = setup({ batchRows: 2, bufferRows: 5 });
    const g = gate();
    ch.gate = g.promise;
    let written = 0;
    const producer = (async () => {
      for (let i = 0; i < 20; i++) {
        await w.write(row(i));
        written++;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    // Inserts are stuck: the producer got exactly the buffer's worth in and waits.
    expect(written).toBe(5);
    expect(w.held.rows).toBe(5);
    g.open();
    ch.gate = null;
    await producer;
    await w.flush();
    expect(ch.rows('db.t')).toHaveLength(20);
    expect(w.stats.maxHeldRows).toBeLessThanOrEqual(5);
  });

  it('bounds bytes held as well', async () => {
    const { ch, w } = setup({ batchRows: 1000, batchBytes: 1024, bufferBytes: 2048 });
    const g = gate();
    ch.gate = g.promise;
    const pad = 'y'.repeat(500);
    let written = 0;
    const producer = (async () => {
      for (let i = 0; i < 12; i++) {
        await w.write(row(i, { pad }));
        written++;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    expect(w.held.bytes).toBeLessThanOrEqual(2048);
    expect(written).toBeLessThan(12);
    g.open();
    ch.gate = null;
    await producer;
    await w.flush();
    expect(ch.rows('db.t')).toHaveLength(12);
    expect(w.stats.maxHeldBytes).toBeLessThanOrEqual(2048);
  });
});

describe('RowWriter failures', () => {
  it('retries network errors with jittered, growing, bounded backoff, then inserts once', async () => {
    const { ch, w, sleeps, deadLetters } = setup({ batchRows: 5, backoffMinMs: 100, backoffMaxMs: 1000 });
    ch.failures.push(connRefused(), connRefused(), new Error('Timeout error.'), connRefused(), connRefused());
    for (let i = 0; i < 5; i++) await w.write(row(i));
    await w.flush();
    expect(ch.rows('db.t')).toHaveLength(5);
    expect(w.stats.retries).toBe(5);
    expect(sleeps).toHaveLength(5);
    const caps = [100, 200, 400, 800, 1000];
    sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(caps[i]! / 2);
      expect(ms).toBeLessThanOrEqual(caps[i]!);
    });
    // Seeded jitter: the same schedule every time.
    const r = seededRandom(7);
    expect(sleeps).toEqual(caps.map((_, i) => backoffDelay(i + 1, 100, 1000, false, r)));
    expect(deadLetters.count).toBe(0);
  });

  it('treats "too many parts" as throttling and retries it', async () => {
    const { ch, w } = setup({ batchRows: 3 });
    ch.failures.push(new Error('Code: 252, e.displayText() = DB::Exception: Too many parts (300). Merges are processing significantly slower than inserts.'));
    for (let i = 0; i < 3; i++) await w.write(row(i));
    await w.flush();
    expect(ch.rows('db.t')).toHaveLength(3);
    expect(w.stats.retries).toBe(1);
  });

  it('never retries bad data: splits the batch, inserts the good rows, dead-letters each bad row with its error', async () => {
    const { ch, w, deadLetters } = setup({ batchRows: 16 });
    for (let i = 0; i < 16; i++) await w.write(row(i, i === 3 || i === 11 ? { bad: true } : {}), { key: `k${i}` });
    await w.flush();
    const ids = ch.rows('db.t').map((r) => JSON.parse(r).id);
    expect(ids).toHaveLength(14);
    expect(ids).not.toContain(3);
    expect(ids).not.toContain(11);
    expect(deadLetters.count).toBe(2);
    expect(deadLetters.items.map((d) => d.key)).toEqual(['k3', 'k11']);
    for (const d of deadLetters.items) {
      expect(d.code).toBe('SCHEMA_MISMATCH');
      expect(d.stage).toBe('clickhouse.t');
      expect(d.error).toMatch(/ClickHouse code 27: .*Cannot parse input/);
      expect(JSON.parse(d.payload).bad).toBe(true);
    }
    expect(w.stats.retries).toBe(0);
    expect(w.counters.snapshot()).toEqual({ received: 16, sent: 14, dropped: { 'dead_letter:SCHEMA_MISMATCH': 2 } });
    expect(w.acked).toBe(16);
  });

  it('dead-letters a row larger than maxRowBytes without sending it, in order with the others', async () => {
    const { ch, w, deadLetters } = setup({ batchRows: 10, maxRowBytes: 256 });
    await w.write(row(1));
    await w.write(row(2, { pad: 'z'.repeat(400) }));
    await w.write(row(3));
    await w.flush();
    expect(ch.rows('db.t').map((r) => JSON.parse(r).id)).toEqual([1, 3]);
    expect(deadLetters.items.map((d) => d.code)).toEqual(['RECORD_TOO_LARGE']);
    expect(w.acked).toBe(3);
  });

  it('fails loudly on a configuration error: held rows are dead-lettered, flush and later writes throw', async () => {
    const { ch, w, deadLetters } = setup({ batchRows: 2 });
    ch.failures.push(new Error("Code: 60, e.displayText() = DB::Exception: Table db.t doesn't exist., e.what() = DB::Exception"));
    const g = gate();
    ch.gate = g.promise;
    for (let i = 0; i < 3; i++) await w.write(row(i));
    g.open();
    await expect(w.flush()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(w.write(row(9))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(deadLetters.count).toBe(3);
    expect(ch.rows('db.t')).toHaveLength(0);
  });

  it('gives up after retryForMs and dead-letters the batch with the failure code (nothing vanishes)', async () => {
    let clock = 0;
    const { ch, w, deadLetters } = setup(
      { batchRows: 2, retryForMs: 10_000, backoffMinMs: 1000, backoffMaxMs: 4000 },
      { now: () => clock, sleep: async (ms) => void (clock += ms) },
    );
    for (let i = 0; i < 50; i++) ch.failures.push(connRefused());
    await w.write(row(1));
    await w.write(row(2));
    await w.flush();
    expect(deadLetters.items.map((d) => d.code)).toEqual(['IO_ERROR', 'IO_ERROR']);
    expect(deadLetters.items[0]!.error).toMatch(/retried for \d+ ms/);
    expect(w.acked).toBe(2);
  });
});

describe('RowWriter acknowledgements', () => {
  it('acked advances only when ClickHouse accepted the rows, and whenAcked waits for it', async () => {
    const { ch, w } = setup({ batchRows: 100 });
    const seen: number[] = [];
    w.onAck((s) => seen.push(s));
    const g = gate();
    ch.gate = g.promise;
    const s1 = await w.write(row(1));
    const s2 = await w.write(row(2));
    expect([s1, s2]).toEqual([1, 2]);
    let done = false;
    const p = w.whenAcked(s2, true).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(w.acked).toBe(0);
    g.open();
    await p;
    expect(w.acked).toBe(2);
    expect(seen).toEqual([2]);
  });
});

describe('error classification', () => {
  it.each([
    ['Code: 27, e.displayText() = DB::Exception: Cannot parse input', 'bad_data', 'SCHEMA_MISMATCH'],
    ["Code: 49, e.displayText() = DB::Exception: Unknown element 'x' for type Enum8('a' = 1)", 'bad_data', 'SCHEMA_MISMATCH'],
    ['Code: 252, e.displayText() = DB::Exception: Too many parts', 'throttled', 'RATE_LIMITED'],
    ['Code: 159, e.displayText() = DB::Exception: Timeout exceeded', 'retriable', 'TIMEOUT'],
    ['Code: 516. DB::Exception: default: Authentication failed. (AUTHENTICATION_FAILED)', 'fatal', 'CONFIG_INVALID'],
    ['Timeout error.', 'retriable', 'TIMEOUT'],
    ['<html><body>502 Bad Gateway</body></html>', 'retriable', 'IO_ERROR'],
  ])('%s', (msg, kind, code) => {
    expect(classifyClickHouseError(new Error(msg))).toMatchObject({ kind, code });
  });

  it('reads the code of a parsed ClickHouseError (modern engines, chdb) and of socket errors', () => {
    expect(classifyClickHouseError(Object.assign(new Error('Unknown element'), { code: '691', type: 'UNKNOWN_ELEMENT_OF_ENUM' }))).toMatchObject({ kind: 'bad_data', chCode: 691 });
    expect(classifyClickHouseError(connRefused())).toMatchObject({ kind: 'retriable', code: 'IO_ERROR' });
    expect(classifyClickHouseError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toMatchObject({ kind: 'retriable' });
  });
});
