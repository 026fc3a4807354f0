import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Counters } from './counters.js';
import type { DeadLetterSink } from './deadletter.js';

/** Collects what a stage produces for one input; the transport moves it downstream with backpressure. */
export interface Emitter<O> {
  emit(out: O): void;
}

/**
 * The one stage contract (receivers, processors and exporters alike).
 * `process` is called once per input, in order; it may be async (sinks, the LLM) and is then awaited before the next.
 * `flush` is called once at end of input (a finite replay) to emit what is still pending.
 */
export interface Stage<I, O> {
  readonly name: string;
  readonly counters: Counters;
  process(input: I, out: Emitter<O>): void | Promise<void>;
  flush?(out: Emitter<O>): void | Promise<void>;
  close?(): Promise<void>;
}

export interface StageDeps {
  readonly log: Logger;
  readonly deadLetters: DeadLetterSink;
}

/** A factory with a validated default config (the OpenTelemetry Collector's pattern). */
export interface StageFactory<C, I, O> {
  readonly type: string;
  readonly configSchema: z.ZodType<C>;
  readonly defaultConfig: () => C;
  create(config: C, deps: StageDeps): Stage<I, O>;
}

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
