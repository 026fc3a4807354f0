import { Counters } from '../core/counters.js';
import { isThenable, type Emitter, type Stage } from '../core/stage.js';
import { abandonSink, acceptItem, type Accepted, type DurableSink } from './delivery.js';

/**
 * Delivers every output to each sink in turn and resolves only when all have accepted it, so the slowest sink sets
 * the pace (backpressure) and an offset committed after `process` means every sink confirmed the record.
 */
export class FanoutSink<T> implements DurableSink<T> {
  readonly name = 'sinks';
  readonly counters = new Counters();
  private static readonly none: Emitter<never> = { emit: () => undefined };

  constructor(readonly sinks: readonly Stage<T, never>[]) {
    if (sinks.length === 0) throw new RangeError('a fan-out needs at least one sink');
  }

  async process(item: T): Promise<void> {
    for (const s of this.sinks) {
      s.counters.received++;
      const r = s.process(item, FanoutSink.none);
      if (isThenable(r)) await r;
    }
    this.counters.sent++;
  }

  /**
   * End to end (sinks/delivery.ts): each sink accepts the item in turn (the slowest still sets the pace); the item is
   * durable once it is durable in every sink.
   */
  async accept(item: T): Promise<Accepted> {
    const durables: Promise<void>[] = [];
    for (const s of this.sinks) {
      s.counters.received++;
      const d = (await acceptItem(s, item)).durable;
      d.catch(() => undefined);
      durables.push(d);
    }
    const all = Promise.all(durables).then(() => {
      this.counters.sent++;
    });
    // Callers may attach later; a failure is theirs to see, not an unhandled rejection.
    all.catch(() => undefined);
    return { durable: all };
  }

  abandon(): void {
    for (const s of this.sinks) abandonSink(s);
  }

  async flush(): Promise<void> {
    for (const s of this.sinks) {
      if (!s.flush) continue;
      const r = s.flush(FanoutSink.none);
      if (isThenable(r)) await r;
    }
  }

  async close(): Promise<void> {
    // Close all even if one fails; report the first failure.
    const results = await Promise.allSettled(this.sinks.map((s) => (s.close ? s.close() : Promise.resolve())));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
