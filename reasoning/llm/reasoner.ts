import { toNightshiftError } from '../../core/errors.js';
import type { IncidentBundle, RootCause } from '../../schemas/index.js';
import { isPastIncidentDoc, usableFor } from '../rag/confirmed.js';
import type { KnowledgeBase, KnowledgeDoc } from '../rag/kb.js';
import type { LiveKnowledge } from '../rag/live.js';
import type { Retrieval, Retriever } from '../rag/retrieve.js';
import type { Redactor } from '../redact/redactor.js';
import { parseAnswer, type ParsedAnswer } from './answer.js';
import { estimateTokens, type CompletionResult, type LlmClient } from './client.js';
import { estimateCostUsd, type ActiveLlmConfig, type ResponseFormatKind } from './config.js';
import { bundleServices, guardCauses, HALLUCINATION_REASONS, type GuardResult, type GuardedCause } from './guard.js';
import { buildPrompt, repairRequest, requestTokens } from './prompt.js';
import type { FallbackReason, GuardRecord, LlmCauseDetail, ReasoningRun, RunTrigger } from './run.js';

export interface ReasonResult {
  /** The causes to publish, or null: the ranker's result stands. */
  readonly causes: RootCause[] | null;
  readonly run: ReasoningRun;
}

export interface ReasonerDeps {
  readonly client: LlmClient;
  readonly cfg: ActiveLlmConfig;
  readonly kb: KnowledgeBase;
  readonly retriever: Retriever | null;
  readonly redactor: Redactor;
  /** When set, the knowledge base and retriever come from it on each run (past incidents refreshed), not `kb`/`retriever`. */
  readonly live?: LiveKnowledge;
  /** Wall clock for latency only (ms, monotonic). */
  readonly now?: () => number;
}

/** The summary line people read: the explanation, then numbered next steps with their runbooks. */
export function causeSummary(c: Pick<GuardedCause, 'explanation' | 'next_steps'>): string {
  // The label tells a reader which steps the team wrote and which a model proposed.
  const steps = c.next_steps.map((s, i) => `${i + 1}. ${s.source === 'model' ? '(model suggestion) ' : ''}${s.action}${s.runbook ? ` [${s.runbook}]` : ''}`);
  const text = steps.length > 0 ? `${c.explanation} Next steps: ${steps.join(' ')}` : c.explanation;
  return text.slice(0, 2500);
}

function needsRepair(p: ParsedAnswer, g: GuardResult | null): string[] {
  if (!p.ok) return [p.error];
  if (!g) return [];
  const problems = g.rejected.filter((r) => r.reason !== 'over_limit' && r.reason !== 'duplicate_service').map((r) => `- ${r.service || 'a cause'}: ${r.reason}: ${r.detail}`);
  if (problems.length === 0 && g.accepted.length === 0) problems.push('- no causes given');
  return problems;
}

function guardRecord(gs: readonly GuardResult[], finalAccepted: number): GuardRecord {
  const rej = gs.flatMap((g) => g.rejected);
  return {
    causes_proposed: gs.reduce((a, g) => a + g.causesProposed, 0),
    causes_accepted: finalAccepted,
    causes_rejected: rej.length,
    hallucinated_causes: rej.filter((r) => HALLUCINATION_REASONS.includes(r.reason)).length,
    evidence_proposed: gs.reduce((a, g) => a + g.evidenceProposed, 0),
    evidence_rejected: gs.reduce((a, g) => a + g.evidenceRejected, 0),
    runbooks_rejected: gs.reduce((a, g) => a + g.runbooksRejected, 0),
    commands_removed: gs.reduce((a, g) => a + g.commandsRemoved, 0),
    unmeasured_causes: rej.filter((r) => r.reason === 'unmeasured').length,
    confidence_clipped: gs.some((g) => g.confidenceClipped),
    renormalized: gs.some((g) => g.renormalized),
    rejections: rej.slice(0, 10),
  };
}

/** Publishes the LLM's causes, filled up to three from the ranker (marked) when it named fewer. */
export function toRootCauses(accepted: readonly GuardedCause[], ranked: readonly RootCause[], fill: boolean): RootCause[] {
  const out: RootCause[] = accepted.slice(0, 3).map((c, i) => ({
    rank: i + 1,
    service: c.service,
    kind: c.kind,
    summary: causeSummary(c),
    confidence: c.confidence,
    evidence: [...c.evidence],
  }));
  if (!fill) return out;
  let room = Math.max(0, 1 - out.reduce((a, c) => a + c.confidence, 0));
  for (const r of ranked) {
    if (out.length >= 3) break;
    if (out.some((c) => c.service === r.service)) continue;
    const confidence = Math.floor(Math.min(r.confidence, room) * 1000) / 1000;
    room -= confidence;
    out.push({ ...r, rank: out.length + 1, summary: `[ranker] ${r.summary}`, confidence });
  }
  return out;
}

export class LlmReasoner {
  private readonly now: () => number;
  /**
   * Knowledge ids and their text, per knowledge base: the guard checks runbook citations and that commands come from
   * a runbook. A past incident may be cited, but its text (a responder's note, telemetry) is no source of commands.
   */
  private knowledgeIds: { kb: KnowledgeBase; ids: ReadonlyMap<string, string> } | null = null;

  constructor(private readonly deps: ReasonerDeps) {
    this.now = deps.now ?? (() => performance.now());
  }

  private idsOf(kb: KnowledgeBase): ReadonlyMap<string, string> {
    if (this.knowledgeIds?.kb !== kb) this.knowledgeIds = { kb, ids: new Map([...kb.byId].map(([id, d]) => [id, isPastIncidentDoc(d) ? '' : d.body])) };
    return this.knowledgeIds.ids;
  }

  get model(): string {
    return this.deps.client.model;
  }

  /** Never throws: every failure is a fallback recorded in the run. */
  async reason(bundle: IncidentBundle, ranked: readonly RootCause[], trigger: RunTrigger, signal: AbortSignal): Promise<ReasonResult> {
    const { cfg, client } = this.deps;
    const t0 = this.now();
    const session = this.deps.redactor.session(bundleServices(bundle));
    let retrieval: Retrieval | null = null;
    let docs: KnowledgeDoc[] = [];
    if (this.deps.live) await this.deps.live.ready();
    // One consistent pair for the whole run, even if a refresh swaps in another meanwhile.
    const kb = this.deps.live ? this.deps.live.kb : this.deps.kb;
    const retriever = this.deps.live ? this.deps.live.retriever : this.deps.retriever;
    const knowledgeIds = this.idsOf(kb);
    if (retriever) {
      try {
        retrieval = await retriever.retrieve(bundle, ranked, { redact: (s) => session.redact(s), signal, usable: (d) => usableFor(d, bundle) });
        docs = retrieval.docs.map((d) => kb.byId.get(d.id)).filter((d): d is KnowledgeDoc => d !== undefined);
      } catch (e) {
        retrieval = { docs: [], hit: false, method: `failed: ${toNightshiftError(e).message.slice(0, 120)}` };
      }
    }
    const prompt = buildPrompt({
      bundle,
      ranked,
      knowledge: docs,
      session,
      maxInputTokens: cfg.maxInputTokens,
      maxOutputTokens: cfg.maxOutputTokens,
      temperature: cfg.temperature,
      snippetChars: cfg.knowledge.snippetChars,
    });

    const responses: CompletionResult[] = [];
    const guards: GuardResult[] = [];
    let tokensIn = 0;
    let tokensOut = 0;
    let estimated = false;
    const account = (req: Parameters<typeof requestTokens>[0], r: CompletionResult): void => {
      responses.push(r);
      if (r.tokensIn === null || r.tokensOut === null) estimated = true;
      tokensIn += r.tokensIn ?? requestTokens(req);
      tokensOut += r.tokensOut ?? estimateTokens(r.content);
    };
    let chosen: GuardResult | null = null;
    let reason: FallbackReason | null = null;
    let repaired = false;
    try {
      const r1 = await client.complete(prompt.request, signal);
      account(prompt.request, r1);
      const p1 = parseAnswer(r1.content);
      const g1 = p1.ok ? guardCauses(session.restoreDeep(p1.causes), bundle, knowledgeIds) : null;
      if (g1) guards.push(g1);
      const problems = needsRepair(p1, g1);
      chosen = g1 && g1.accepted.length > 0 ? g1 : null;
      if (problems.length > 0) {
        repaired = true;
        const req2 = repairRequest(prompt.request, r1.content, problems, session);
        try {
          const r2 = await client.complete(req2, signal);
          account(req2, r2);
          const p2 = parseAnswer(r2.content);
          const g2 = p2.ok ? guardCauses(session.restoreDeep(p2.causes), bundle, knowledgeIds) : null;
          if (g2) guards.push(g2);
          if (g2 && g2.accepted.length > 0 && g2.accepted.length >= (chosen?.accepted.length ?? 0)) chosen = g2;
          if (!chosen) reason = p2.ok ? 'guard_rejected_all' : 'invalid_output';
        } catch (e) {
          if (!chosen) reason = `error:${toNightshiftError(e).code}`;
        }
      }
    } catch (e) {
      reason = `error:${toNightshiftError(e).code}`;
    }

    const accepted = chosen?.accepted ?? [];
    const causes = accepted.length > 0 ? toRootCauses(accepted, ranked, cfg.fillFromRanker) : null;
    const details: LlmCauseDetail[] = accepted.map((c) => ({ service: c.service, kind: c.kind, confidence: c.confidence, explanation: c.explanation, evidence: c.evidence, next_steps: c.next_steps }));
    const rankerTop = ranked.map((c) => c.service);
    const llmTop = accepted.map((c) => c.service);
    const format: ResponseFormatKind | null = responses[responses.length - 1]?.format ?? null;
    const run: ReasoningRun = {
      incident_id: bundle.incident_id,
      bundle_updated_at: bundle.updated_at,
      trigger,
      model: client.model,
      outcome: causes ? 'llm' : 'fallback',
      reason: causes ? null : (reason ?? 'invalid_output'),
      attempts: responses.length,
      repaired,
      retries: responses.reduce((a, r) => a + r.retries, 0),
      latency_ms: Math.round(this.now() - t0),
      tokens_in: tokensIn,
      tokens_out: tokensOut,
      tokens_estimated: estimated,
      prompt_tokens_estimated: prompt.estimatedTokens,
      cost_usd: estimateCostUsd(client.model, tokensIn, tokensOut, cfg.prices),
      response_format: format,
      omitted: prompt.omitted,
      retrieval: retrieval ? { method: retrieval.method, docs: retrieval.docs.map((d) => ({ id: d.id, score: d.score, relevant: d.relevant })), hit: retrieval.hit } : null,
      guard: guards.length > 0 ? guardRecord(guards, accepted.length) : null,
      redactions: Object.values(session.stats().byRule).reduce((a, b) => a + b, 0),
      ranker_top: rankerTop,
      llm_top: llmTop,
      agreement:
        llmTop.length > 0
          ? { top1: llmTop[0] === rankerTop[0], overlap_at_3: rankerTop.length === 0 ? 0 : llmTop.filter((s) => rankerTop.includes(s)).length / Math.min(3, rankerTop.length) }
          : null,
      causes: details,
    };
    return { causes, run };
  }
}
