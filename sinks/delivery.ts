import { isThenable, type Emitter, type Stage } from '../core/stage.js';

/**
 * End-to-end acknowledgement of a sink (cluster mode commits an input offset only once every sink confirmed what
 * came from it). `accept` takes an item and resolves once the sink has taken it (buffered, after waiting for room:
 * backpressure); its `durable` resolves once the item is safe: inserted and acknowledged by the server, delivered
 * or dead-lettered, written to the OS. Between the two the caller may go on with the next items, so the round trip
 * of one insert or one HTTP call is not paid per item.
 *
 * `abandon` is for a stop during an outage: what is accepted but not durable is given up (neither delivered nor
 * dead-lettered; its offsets were not committed, so the next instance redelivers it) and waiters fail at once.
 */
export interface Accepted {
  readonly durable: Promise<void>;
}

export interface DurableSink<T> extends Stage<T, never> {
  accept(item: T): Promise<Accepted>;
  abandon?(): void;
}

const none: Emitter<never> = { emit: () => undefined };
const DONE: Accepted = { durable: Promise.resolve() };

export function isDurableSink<T>(s: Stage<T, never>): s is DurableSink<T> {
  return typeof (s as Partial<DurableSink<T>>).accept === 'function';
}

/** A sink's `accept`, or for a plain sink its `process` (then durable when `process` resolved). */
export async function acceptItem<T>(s: Stage<T, never>, item: T): Promise<Accepted> {
  if (isDurableSink(s)) return s.accept(item);
  const r = s.process(item, none);
  if (isThenable(r)) await r;
  return DONE;
}

export function abandonSink<T>(s: Stage<T, never>): void {
  if (isDurableSink(s)) s.abandon?.();
}
