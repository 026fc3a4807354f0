import { BoundedQueue } from './queue.js';
import { isThenable, type Emitter, type Stage } from './stage.js';

/**
 * The in-process transport: stages joined by bounded queues of batches. Each stage runs as one sequential loop,
 * so the same input always gives the same output order (event-time processing, byte-identical results).
 */
export interface PipelineOptions {
  /** Batches in flight between two stages; a full queue blocks the stage before it. */
  readonly queueBatches: number;
  /** Largest batch the source forms. */
  readonly batchSize: number;
}

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = { queueBatches: 16, batchSize: 256 };

class BatchEmitter<O> implements Emitter<O> {
  batch: O[] = [];
  emit(out: O): void {
    this.batch.push(out);
  }
  take(): O[] {
    const b = this.batch;
    this.batch = [];
    return b;
  }
}

// Stages of a chain have different input and output types; the chain is typed where it is built (see `chain`).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyStage = Stage<any, any>;

async function runStage(stage: AnyStage, input: BoundedQueue<unknown[]>, output: BoundedQueue<unknown[]> | null): Promise<void> {
  const em = new BatchEmitter<unknown>();
  const forward = async (): Promise<void> => {
    const out = em.take();
    if (out.length === 0) return;
    stage.counters.sent += out.length;
    if (output) await output.push(out);
  };
  try {
    for (;;) {
      const batch = await input.pop();
      if (batch === undefined) break;
      for (const item of batch) {
        stage.counters.received++;
        const r = stage.process(item, em);
        if (isThenable(r)) await r;
      }
      await forward();
    }
    if (stage.flush) {
      const r = stage.flush(em);
      if (isThenable(r)) await r;
      await forward();
    }
  } finally {
    output?.close();
    // Unblock the upstream producer if this stage failed, so the error surfaces instead of a hang.
    input.close();
  }
}

/** A typed chain: each stage's output type is the next one's input. */
export type Chain<I> = { readonly stages: readonly AnyStage[]; readonly _in?: I };
export function chain<A, B>(s1: Stage<A, B>): Chain<A> & { then<C>(s: Stage<B, C>): ChainBuilder<A, C> } {
  return new ChainBuilder<A, B>([s1]);
}
export class ChainBuilder<I, O> implements Chain<I> {
  constructor(readonly stages: readonly AnyStage[]) {}
  then<P>(s: Stage<O, P>): ChainBuilder<I, P> {
    return new ChainBuilder<I, P>([...this.stages, s]);
  }
}

/**
 * Runs a chain over an async source until the source ends and every stage has flushed.
 * The last stage's outputs, if any, are discarded (sinks emit nothing).
 */
export async function runPipeline<I>(
  source: AsyncIterable<I>,
  c: Chain<I>,
  opts: PipelineOptions = DEFAULT_PIPELINE_OPTIONS,
): Promise<void> {
  const queues = c.stages.map(() => new BoundedQueue<unknown[]>(opts.queueBatches));
  const runs = c.stages.map((s, i) => runStage(s, queues[i]!, queues[i + 1] ?? null));
  const feed = (async () => {
    const q = queues[0]!;
    let batch: unknown[] = [];
    try {
      for await (const item of source) {
        batch.push(item);
        if (batch.length >= opts.batchSize) {
          await q.push(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await q.push(batch);
    } finally {
      q.close();
    }
  })();
  // allSettled first so that no stage loop is left running unobserved, then surface the first failure.
  const results = await Promise.allSettled([...runs, feed]);
  for (const s of c.stages) if (s.close) await s.close();
  // Stage failures come first: a source blocked on a closed queue is only a consequence of them.
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
