import type { RootCauseKind } from '../../schemas/index.js';
import type { ResponseFormatKind } from './config.js';
import type { GuardedStep, Rejection } from './guard.js';
import type { PromptOmitted } from './prompt.js';

/** Why the LLM ran for this bundle update. */
export type RunTrigger = 'first' | 'candidates_changed' | 'changes_changed';

/** `llm`: its causes were published; `fallback`: it ran but the ranker's result stands; `skipped`: it did not run. */
export type RunOutcome = 'llm' | 'fallback' | 'skipped';

export type FallbackReason =
  | 'invalid_output' // no parseable answer after the repair attempt
  | 'guard_rejected_all' // answers parsed, but the guard rejected every cause
  | `error:${string}` // transport or server error (error code), after bounded retries
  | 'superseded'; // a newer run for the same incident was started before this one answered

export type SkipReason = 'queue_full' | 'token_budget' | 'max_runs' | 'circuit_open' | 'closed';

/** What the LLM said about one accepted cause, restored for people; the output line carries it in `summary`. */
export interface LlmCauseDetail {
  readonly service: string;
  readonly kind: RootCauseKind;
  readonly confidence: number;
  readonly explanation: string;
  readonly evidence: readonly string[];
  readonly next_steps: readonly GuardedStep[];
}

export interface GuardRecord {
  readonly causes_proposed: number;
  readonly causes_accepted: number;
  readonly causes_rejected: number;
  /** Causes rejected for an unknown service or missing or invented evidence. */
  readonly hallucinated_causes: number;
  readonly evidence_proposed: number;
  readonly evidence_rejected: number;
  readonly runbooks_rejected: number;
  /** Next steps dropped and explanation commands cut because the command was not in a runbook. */
  readonly commands_removed: number;
  /** Causes rejected because their service had no measured symptom (only text named it). */
  readonly unmeasured_causes: number;
  readonly confidence_clipped: boolean;
  readonly renormalized: boolean;
  /** The first 10 rejections, with why. */
  readonly rejections: readonly Rejection[];
}

/**
 * One reasoning run, for evals and cost tracking (MELT plus evals). Latency is wall-clock and never enters the
 * incident output, which stays a function of event time.
 */
export interface ReasoningRun {
  readonly incident_id: string;
  readonly bundle_updated_at: number;
  readonly trigger: RunTrigger;
  readonly model: string;
  readonly outcome: RunOutcome;
  readonly reason: FallbackReason | SkipReason | null;
  /** Model requests answered (the first, and the repair when there was one). */
  readonly attempts: number;
  readonly repaired: boolean;
  readonly retries: number;
  readonly latency_ms: number;
  readonly tokens_in: number;
  readonly tokens_out: number;
  /** True when the server sent no usage and tokens were estimated at 4 bytes each. */
  readonly tokens_estimated: boolean;
  readonly prompt_tokens_estimated: number;
  /** USD, or null when the model has no price in the table. */
  readonly cost_usd: number | null;
  readonly response_format: ResponseFormatKind | null;
  readonly omitted: PromptOmitted | null;
  readonly retrieval: { readonly method: string; readonly docs: readonly { id: string; score: number; relevant: boolean }[]; readonly hit: boolean } | null;
  readonly guard: GuardRecord | null;
  /** Values replaced by placeholders in the requests. */
  readonly redactions: number;
  readonly ranker_top: readonly string[];
  readonly llm_top: readonly string[];
  /** null when the LLM produced no accepted cause. */
  readonly agreement: { readonly top1: boolean; readonly overlap_at_3: number } | null;
  readonly causes: readonly LlmCauseDetail[];
}

export type RunObserver = (run: ReasoningRun) => void;

export function skippedRun(incidentId: string, updatedAt: number, trigger: RunTrigger, model: string, reason: SkipReason, rankerTop: readonly string[]): ReasoningRun {
  return {
    incident_id: incidentId,
    bundle_updated_at: updatedAt,
    trigger,
    model,
    outcome: 'skipped',
    reason,
    attempts: 0,
    repaired: false,
    retries: 0,
    latency_ms: 0,
    tokens_in: 0,
    tokens_out: 0,
    tokens_estimated: false,
    prompt_tokens_estimated: 0,
    cost_usd: 0,
    response_format: null,
    omitted: null,
    retrieval: null,
    guard: null,
    redactions: 0,
    ranker_top: rankerTop,
    llm_top: [],
    agreement: null,
    causes: [],
  };
}

/**
 * A bounded log of runs for summaries (`nightshift replay`, `eval`): keeps at most `capacity` records, without the
 * bulky per-cause texts; later runs are counted in `dropped` (the summary then covers the first `capacity` runs).
 */
export class RunLog {
  readonly runs: ReasoningRun[] = [];
  dropped = 0;
  constructor(private readonly capacity = 100_000) {}
  readonly add = (run: ReasoningRun): void => {
    if (this.runs.length >= this.capacity) {
      this.dropped++;
      return;
    }
    this.runs.push({ ...run, causes: [] });
  };
}
