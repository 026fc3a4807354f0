import type { Logger } from 'pino';
import { Counters } from '../../core/counters.js';
import { stableId } from '../../core/hash.js';
import type { ReasoningRun } from '../../reasoning/llm/index.js';
import type { ReasoningRunRow } from './rows.js';
import type { ClickHouseAnalytics } from './sink.js';

/** The reasoning_runs row of an LLM run: the evals record analysts chart over time (cost, hallucinations). */
export function reasoningRunRow(run: ReasoningRun): ReasoningRunRow {
  const guard: ReasoningRunRow['guard_result'] =
    run.outcome === 'skipped' ? 'skipped' : run.guard === null ? 'invalid' : run.guard.causes_rejected > 0 || run.guard.evidence_rejected > 0 ? 'rejected' : 'passed';
  return {
    run_id: stableId('run', run.incident_id, run.bundle_updated_at, run.trigger, run.model),
    incident_id: run.incident_id,
    incident_version: run.bundle_updated_at,
    ts: run.bundle_updated_at,
    model: run.model,
    latency_ms: run.latency_ms,
    tokens_in: run.tokens_in,
    tokens_out: run.tokens_out,
    cost_usd: run.cost_usd ?? 0,
    retrieval_hit: run.retrieval?.hit ? 1 : 0,
    guard_result: guard,
    fallback_used: run.outcome === 'fallback' ? 1 : 0,
    agrees_with_ranker: run.agreement === null ? null : run.agreement.top1 ? 1 : 0,
  };
}

/**
 * Feeds LLM runs to the reasoning_runs table from the reasoner's synchronous observer. Writes are chained (one at a
 * time, in order); at most `maxPending` wait, beyond that a run is dropped and counted (`pending_full`), so a slow
 * ClickHouse can never grow memory through this path. `close` waits for what is pending.
 */
export class RunRecorder {
  readonly counters = new Counters();
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly store: ClickHouseAnalytics,
    private readonly log: Logger,
    private readonly maxPending = 1000,
  ) {}

  readonly record = (run: ReasoningRun): void => {
    this.counters.received++;
    if (this.pending >= this.maxPending) {
      this.counters.drop('pending_full');
      return;
    }
    this.pending++;
    const row = reasoningRunRow(run);
    this.tail = this.tail
      .then(async () => {
        await this.store.writeReasoningRun(row);
        this.counters.sent++;
      })
      .catch((err: unknown) => {
        this.counters.drop('write_failed');
        this.log.warn({ err, incident_id: row.incident_id }, 'reasoning run not stored');
      })
      .finally(() => {
        this.pending--;
      });
  };

  close(): Promise<void> {
    return this.tail;
  }
}
