import { summarize, type ScenarioReport } from './metrics.js';
import type { RootCauseKind } from '../schemas/index.js';
import type { KnowledgeBase } from '../reasoning/rag/kb.js';
import { isRelevant } from '../reasoning/rag/retrieve.js';
import type { ReasoningRun } from '../reasoning/llm/run.js';

/** What `nightshift eval` reports about the LLM, from the run records. */
export interface LlmRunSummary {
  readonly model: string | null;
  /** Run records, and those that called the model. */
  readonly records: number;
  readonly model_runs: number;
  readonly by_outcome: Readonly<Record<string, number>>;
  readonly incidents: number;
  /** Share of model runs whose causes were published. */
  readonly published_rate: number;
  readonly repair_rate: number;
  readonly causes_proposed: number;
  readonly causes_rejected: number;
  /** Causes rejected for an unknown service or missing or invented evidence, over causes proposed. */
  readonly hallucination_rate_causes: number;
  /** Evidence ids not in the bundle, over evidence ids cited. */
  readonly hallucination_rate_evidence: number;
  /** Causes the guard rejected because only text (logs, change summaries) named their service. */
  readonly unmeasured_causes: number;
  /** Next steps dropped and explanation commands cut: not from a runbook. */
  readonly commands_removed: number;
  readonly latency_p50_ms: number | null;
  readonly latency_p95_ms: number | null;
  readonly tokens_in: number;
  readonly tokens_out: number;
  /** Tokens (in + out) per incident that called the model. */
  readonly tokens_per_incident: number;
  readonly tokens_estimated: boolean;
  /** null when a model has no price. */
  readonly cost_usd: number | null;
  readonly cost_usd_per_incident: number | null;
  readonly retrieval_hit_rate: number | null;
  /** LLM's top cause equals the ranker's, over runs with published causes. */
  readonly agreement_top1: number | null;
}

function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? null;
}
const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

export function summarizeRuns(runs: readonly ReasoningRun[]): LlmRunSummary {
  const called = runs.filter((r) => r.attempts > 0);
  const byOutcome: Record<string, number> = {};
  for (const r of runs) {
    const k = r.reason ? `${r.outcome}:${r.reason}` : r.outcome;
    byOutcome[k] = (byOutcome[k] ?? 0) + 1;
  }
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(byOutcome).sort()) sorted[k] = byOutcome[k] ?? 0;
  const incidents = new Set(called.map((r) => r.incident_id));
  const g = called.map((r) => r.guard).filter((x) => x !== null);
  const sum = (f: (r: ReasoningRun) => number): number => called.reduce((a, r) => a + f(r), 0);
  const tokensIn = sum((r) => r.tokens_in);
  const tokensOut = sum((r) => r.tokens_out);
  const unknownCost = called.some((r) => r.cost_usd === null);
  const cost = unknownCost ? null : sum((r) => r.cost_usd ?? 0);
  const withRetrieval = called.filter((r) => r.retrieval !== null && r.retrieval.method !== 'none');
  const published = called.filter((r) => r.agreement !== null && r.outcome === 'llm');
  const causesProposed = g.reduce((a, x) => a + x.causes_proposed, 0);
  const evidenceProposed = g.reduce((a, x) => a + x.evidence_proposed, 0);
  return {
    model: runs[0]?.model ?? null,
    records: runs.length,
    model_runs: called.length,
    by_outcome: sorted,
    incidents: incidents.size,
    published_rate: ratio(called.filter((r) => r.outcome === 'llm').length, called.length),
    repair_rate: ratio(called.filter((r) => r.repaired).length, called.length),
    causes_proposed: causesProposed,
    causes_rejected: g.reduce((a, x) => a + x.causes_rejected, 0),
    hallucination_rate_causes: ratio(g.reduce((a, x) => a + x.hallucinated_causes, 0), causesProposed),
    hallucination_rate_evidence: ratio(g.reduce((a, x) => a + x.evidence_rejected, 0), evidenceProposed),
    // What the trust guard stopped: causes named by text alone, and commands that came from no runbook.
    unmeasured_causes: g.reduce((a, x) => a + (x.unmeasured_causes ?? 0), 0),
    commands_removed: g.reduce((a, x) => a + (x.commands_removed ?? 0), 0),
    latency_p50_ms: quantile(called.map((r) => r.latency_ms), 0.5),
    latency_p95_ms: quantile(called.map((r) => r.latency_ms), 0.95),
    tokens_in: tokensIn,
    tokens_out: tokensOut,
    tokens_per_incident: ratio(tokensIn + tokensOut, incidents.size),
    tokens_estimated: called.some((r) => r.tokens_estimated),
    cost_usd: cost,
    cost_usd_per_incident: cost === null ? null : ratio(cost, incidents.size),
    retrieval_hit_rate: withRetrieval.length === 0 ? null : ratio(withRetrieval.filter((r) => r.retrieval?.hit).length, withRetrieval.length),
    agreement_top1: published.length === 0 ? null : ratio(published.filter((r) => r.agreement?.top1).length, published.length),
  };
}

/**
 * Retrieval judged against the ground truth: for each fault whose incident ran the model, did any retrieved
 * document carry the true root service or kind in its tags? (The run's own `hit` uses the ranker's top cause.)
 */
export function retrievalHitVsTruth(runs: readonly ReasoningRun[], reports: readonly ScenarioReport[], kb: KnowledgeBase, strict = false): number | null {
  const docsByIncident = new Map<string, Set<string>>();
  for (const r of runs) {
    if (!r.retrieval) continue;
    let s = docsByIncident.get(r.incident_id);
    if (!s) {
      s = new Set();
      docsByIncident.set(r.incident_id, s);
    }
    for (const d of r.retrieval.docs) s.add(d.id);
  }
  let judged = 0;
  let hits = 0;
  for (const f of reports.flatMap((x) => x.per_fault)) {
    const ids = f.incident_id ? docsByIncident.get(f.incident_id) : undefined;
    if (!ids) continue;
    judged++;
    const relevant = (id: string): boolean => {
      const d = kb.byId.get(id);
      if (!d) return false;
      // Strict: tagged with both the true service (name or glob) and the true kind.
      return strict ? isRelevant(d, f.service, undefined) && isRelevant(d, undefined, f.kind as RootCauseKind) : isRelevant(d, f.service, f.kind as RootCauseKind);
    };
    if ([...ids].some(relevant)) hits++;
  }
  return judged === 0 ? null : hits / judged;
}

export interface LlmEvalColumns {
  readonly without_llm: { readonly ac_at_1: number; readonly ac_at_3: number };
  readonly with_llm: { readonly ac_at_1: number; readonly ac_at_3: number };
  readonly runs: LlmRunSummary;
  readonly retrieval_hit_vs_truth: number | null;
  /** A retrieved document tagged with both the true service and the true kind. */
  readonly retrieval_hit_vs_truth_strict: number | null;
}

/**
 * The LLM columns of `nightshift eval`. `withLlm` are the scenario reports scored on the pipeline's outputs,
 * `withoutLlm` the same scenarios scored on the ranker's outputs (collected through the stage's `onRanked`).
 */
export function llmEvalColumns(withLlm: readonly ScenarioReport[], withoutLlm: readonly ScenarioReport[], runs: readonly ReasoningRun[], kb?: KnowledgeBase): LlmEvalColumns {
  const a = summarize(withLlm);
  const b = summarize(withoutLlm);
  return {
    without_llm: { ac_at_1: b.ac_at_1, ac_at_3: b.ac_at_3 },
    with_llm: { ac_at_1: a.ac_at_1, ac_at_3: a.ac_at_3 },
    runs: summarizeRuns(runs),
    retrieval_hit_vs_truth: kb ? retrievalHitVsTruth(runs, withLlm, kb) : null,
    retrieval_hit_vs_truth_strict: kb ? retrievalHitVsTruth(runs, withLlm, kb, true) : null,
  };
}

const pct = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);

export function formatLlmColumns(c: LlmEvalColumns): string {
  const r = c.runs;
  const lines = [
    `LLM (${r.model ?? 'none'})`,
    `AC@1 / AC@3 ranker      ${pct(c.without_llm.ac_at_1)} / ${pct(c.without_llm.ac_at_3)}`,
    `AC@1 / AC@3 with LLM    ${pct(c.with_llm.ac_at_1)} / ${pct(c.with_llm.ac_at_3)}`,
    `model runs              ${r.model_runs} for ${r.incidents} incidents; published ${pct(r.published_rate)}, repaired ${pct(r.repair_rate)}`,
    `outcomes                ${Object.entries(r.by_outcome).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`,
    `hallucination rate      causes ${pct(r.hallucination_rate_causes)} (${r.causes_rejected} of ${r.causes_proposed} rejected), evidence ids ${pct(r.hallucination_rate_evidence)}`,
    `trust guard             ${r.unmeasured_causes} causes named by text alone rejected, ${r.commands_removed} commands not from a runbook removed`,
    `latency                 p50 ${r.latency_p50_ms ?? '-'} ms, p95 ${r.latency_p95_ms ?? '-'} ms`,
    `tokens per incident     ${Math.round(r.tokens_per_incident)} (in ${r.tokens_in}, out ${r.tokens_out}${r.tokens_estimated ? ', partly estimated' : ''})`,
    `cost                    ${r.cost_usd === null ? 'unknown (no price for the model)' : `$${r.cost_usd.toFixed(4)} total, $${(r.cost_usd_per_incident ?? 0).toFixed(4)} per incident`}`,
    `retrieval hit           ${pct(r.retrieval_hit_rate)} (ranker's top cause), ${pct(c.retrieval_hit_vs_truth)} (truth: service or kind), ${pct(c.retrieval_hit_vs_truth_strict)} (truth: service and kind)`,
    `agreement with ranker   ${pct(r.agreement_top1)} (same top cause)`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Lines for the end-of-run summary of `nightshift replay` (stderr). */
export function formatRunSummary(r: LlmRunSummary): string {
  if (r.records === 0) return '';
  const lines = [
    `llm (${r.model}):        ${r.model_runs} runs for ${r.incidents} incidents; ${Object.entries(r.by_outcome).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `llm latency:      p50 ${r.latency_p50_ms ?? '-'} ms, p95 ${r.latency_p95_ms ?? '-'} ms; tokens in ${r.tokens_in}, out ${r.tokens_out}; cost ${r.cost_usd === null ? 'unknown' : `$${r.cost_usd.toFixed(4)}`}`,
    `llm guard:        ${r.causes_rejected} of ${r.causes_proposed} causes rejected, evidence hallucination ${pct(r.hallucination_rate_evidence)}`,
  ];
  return `${lines.join('\n')}\n`;
}
