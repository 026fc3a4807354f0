import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { Counters } from '../core/counters.js';
import { NightshiftError } from '../core/errors.js';
import type { Stage, StageDeps, StageFactory } from '../core/stage.js';
import type { IncidentOutput } from '../schemas/index.js';

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
    if (this.failed) throw new NightshiftError('IO_ERROR', `write failed: ${this.failed.message}`, { cause: this.failed });
    if (!this.stream.write(`${JSON.stringify(item)}\n`)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    const s = this.stream;
    await new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw new NightshiftError('IO_ERROR', `write failed: ${this.failed.message}`, { cause: this.failed });
  }
}

export class NdjsonSink implements Stage<IncidentOutput, never> {
  readonly name = 'sink-ndjson';
  readonly counters = new Counters();
  private readonly writer: NdjsonWriter<IncidentOutput>;

  constructor(cfg: NdjsonSinkConfig) {
    this.writer = new NdjsonWriter(cfg.path);
  }

  async process(o: IncidentOutput): Promise<void> {
    await this.writer.write(o);
    this.counters.sent++;
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
