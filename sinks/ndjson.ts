import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { Counters } from '../core/counters.js';
import { NightshiftError } from '../core/errors.js';
import type { Stage, StageDeps, StageFactory } from '../core/stage.js';
import type { IncidentOutput } from '../schemas/index.js';
import type { Accepted, DurableSink } from './delivery.js';

export const NdjsonSinkConfig = z.object({
  /** A file path, or `-` for stdout. */
  path: z.string().min(1).default('-'),
});
export type NdjsonSinkConfig = z.infer<typeof NdjsonSinkConfig>;

/**
 * Writes NDJSON lines and waits for the stream to drain when its buffer is full, so a slow disk or a slow
 * reader of stdout pushes back on the pipeline instead of growing memory.
 */
export class NdjsonWriter<T> {
  private readonly stream: Writable;
  private readonly owned: boolean;
  private failed: Error | null = null;

  constructor(path: string) {
    if (path === '-') {
      this.stream = process.stdout;
      this.owned = false;
    } else {
      const ws: WriteStream = createWriteStream(path, { encoding: 'utf8' });
      this.stream = ws;
      this.owned = true;
    }
    this.stream.on('error', (err: Error) => {
      this.failed = err;
    });
  }

  async write(item: T): Promise<void> {
    await this.writeLine(item);
  }

  /**
   * Writes one line (waiting for the stream to drain when its buffer is full) and returns a promise that resolves
   * once the stream has handed the line to the OS (the write callback: the file's write(2), or the pipe's), so a
   * SIGKILL of this process after that loses nothing; it rejects if that write failed. Not an fsync: a crash of the
   * machine itself can still lose the OS's page cache (use a file system or a downstream reader that syncs).
   */
  async writeLine(item: T): Promise<Promise<void>[]> {
    if (this.failed) throw new NightshiftError('IO_ERROR', `write failed: ${this.failed.message}`, { cause: this.failed });
    let settle: (err?: Error | null) => void = () => undefined;
    const written = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(new NightshiftError('IO_ERROR', `write failed: ${err.message}`, { cause: err })) : resolve());
    });
    written.catch(() => undefined);
    if (!this.stream.write(`${JSON.stringify(item)}\n`, (err) => settle(err))) await once(this.stream, 'drain');
    // Wrapped in an array so that the caller's await does not wait for the write itself.
    return [written];
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    const s = this.stream;
    await new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw new NightshiftError('IO_ERROR', `write failed: ${this.failed.message}`, { cause: this.failed });
  }
}

/**
 * Incident outputs as NDJSON lines. End to end (`accept`): durable once the line was handed to the OS (see
 * NdjsonWriter.writeLine).
 */
export class NdjsonSink implements DurableSink<IncidentOutput> {
  readonly name = 'sink-ndjson';
  readonly counters = new Counters();
  private readonly writer: NdjsonWriter<IncidentOutput>;

  constructor(cfg: NdjsonSinkConfig) {
    this.writer = new NdjsonWriter(cfg.path);
  }

  /** Embedded mode: resolves once the line is buffered in the stream (the pipeline's end flushes it). */
  async process(o: IncidentOutput): Promise<void> {
    await this.writer.write(o);
    this.counters.sent++;
  }

  async accept(o: IncidentOutput): Promise<Accepted> {
    const [written] = await this.writer.writeLine(o);
    const durable = written!.then(() => {
      this.counters.sent++;
    });
    durable.catch(() => undefined);
    return { durable };
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** Collects outputs in memory, for eval and tests. Bounded: past `max`, outputs are counted as dropped. */
export class MemorySink<T> implements Stage<T, never> {
  readonly name = 'sink-memory';
  readonly counters = new Counters();
  readonly items: T[] = [];
  constructor(private readonly max = 1_000_000) {}
  process(o: T): void {
    if (this.items.length >= this.max) {
      this.counters.drop('memory_sink_full');
      return;
    }
    this.items.push(o);
    this.counters.sent++;
  }
}

export const ndjsonSinkFactory: StageFactory<NdjsonSinkConfig, IncidentOutput, never> = {
  type: 'ndjson',
  configSchema: NdjsonSinkConfig,
  defaultConfig: () => NdjsonSinkConfig.parse({}),
  create: (config: NdjsonSinkConfig, _deps: StageDeps) => new NdjsonSink(config),
};
