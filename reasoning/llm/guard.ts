import { RootCauseKind, type IncidentBundle } from '../../schemas/index.js';
import type { LooseCause } from './answer.js';
import { measuredServices } from '../support.js';
import { commandsFrom, looksLikeCommand, stripCommands } from '../commands.js';

export { measuredServices };

/**
 * The grounding guard: nothing the model says reaches people unless the bundle backs it.
 * Rules, in order, per cause:
 *  1. only the first 3 causes are read (`over_limit`); a cause that is not an object of the right fields is `malformed`;
 *  2. the kind must be one of the output contract's kinds (`bad_kind`);
 *  3. the service must appear in the bundle: its services, a signal's service or peer, a change, an edge (`unknown_service`);
 *  4. a service named twice keeps its first cause (`duplicate_service`);
 *  5. it must cite evidence (`no_evidence`), and every evidence id must exist in the bundle (a signal id or ref, a
 *     template, series or change id); one invented id rejects the whole cause (`unknown_evidence`), since a model
 *     that invents a citation may invent the claim;
 *  6. the service must have measured support in the bundle (`unmeasured`, see measuredServices): an anomalous
 *     series, span statistics or an alert of its own, or a measurably failing caller; log lines and change summaries
 *     are text anyone who can make a service log can write, so they may support a cause but never name one alone;
 * next steps are labelled `runbook` (citing a knowledge document) or `model` (the model's own suggestion); a step that
 * looks like a shell or kubectl command is kept only when the command is in the cited runbook's text (else it is
 * dropped and counted), and commands in an explanation that no knowledge document contains are replaced;
 * then over the accepted causes: confidences are clipped to [0, 1] (not finite -> 0), renormalized to sum 1 when
 * they sum above 1, and floored to 3 decimals (so the sum stays <= 1); causes are ordered by confidence (stable).
 * Runbook references must be ids of the knowledge base, else they are dropped (the step stays); at most 5 steps.
 */

export type RejectReason = 'malformed' | 'over_limit' | 'bad_kind' | 'unknown_service' | 'duplicate_service' | 'no_evidence' | 'unknown_evidence' | 'unmeasured';
/** Rejections that mean the model claimed something the data does not show. */
export const HALLUCINATION_REASONS: readonly RejectReason[] = ['unknown_service', 'no_evidence', 'unknown_evidence'];

/** A next step as published: from a runbook of the knowledge base, or the model's own suggestion (labelled so). */
export interface GuardedStep {
  readonly action: string;
  readonly runbook: string | null;
  readonly source: 'runbook' | 'model';
}

export interface GuardedCause {
  readonly service: string;
  readonly kind: RootCauseKind;
  readonly explanation: string;
  readonly confidence: number;
  readonly evidence: readonly string[];
  readonly next_steps: readonly GuardedStep[];
}

/** The knowledge base as the guard needs it: ids, and the text of each (to check that a command comes from it). */
export type KnowledgeLookup = ReadonlySet<string> | ReadonlyMap<string, string>;

export interface Rejection {
  readonly service: string;
  readonly reason: RejectReason;
  readonly detail: string;
}

export interface GuardResult {
  readonly accepted: readonly GuardedCause[];
  readonly rejected: readonly Rejection[];
  readonly causesProposed: number;
  readonly evidenceProposed: number;
  /** Evidence ids that do not exist in the bundle (hallucinated citations), over all causes. */
  readonly evidenceRejected: number;
  readonly runbooksRejected: number;
  /** Steps dropped, and commands cut from explanations, because the command was not in a runbook. */
  readonly commandsRemoved: number;
  readonly confidenceClipped: boolean;
  readonly renormalized: boolean;
}

export const GUARD_LIMITS = { causes: 3, evidence: 8, steps: 5, explanationChars: 1500, actionChars: 400 } as const;

export function bundleEvidenceIds(b: IncidentBundle): Set<string> {
  const ids = new Set<string>();
  for (const s of b.signals) {
    ids.add(s.id);
    ids.add(s.ref);
  }
  for (const t of b.templates) ids.add(t.id);
  for (const s of b.series) ids.add(s.id);
  for (const c of b.changes) ids.add(c.id);
  return ids;
}

export function bundleServices(b: IncidentBundle): Set<string> {
  const s = new Set<string>(b.services);
  for (const x of b.signals) {
    s.add(x.service);
    if (x.peer) s.add(x.peer);
  }
  for (const c of b.changes) s.add(c.service);
  for (const [from, to] of b.edges) {
    s.add(from);
    s.add(to);
  }
  return s;
}

const KINDS = new Set<string>(RootCauseKind.options);

function bodyOf(k: KnowledgeLookup, id: string): string | undefined {
  return k instanceof Map ? (k as ReadonlyMap<string, string>).get(id) : undefined;
}

export function guardCauses(
  causes: readonly (LooseCause | { readonly malformed: string })[],
  bundle: IncidentBundle,
  knowledge: KnowledgeLookup,
): GuardResult {
  const evidenceIds = bundleEvidenceIds(bundle);
  const services = bundleServices(bundle);
  const measured = measuredServices(bundle);
  const allDocs = knowledge instanceof Map ? [...(knowledge as ReadonlyMap<string, string>).values()] : [];
  let commandsRemoved = 0;
  const accepted: GuardedCause[] = [];
  const rejected: Rejection[] = [];
  const seen = new Set<string>();
  let evidenceProposed = 0;
  let evidenceRejected = 0;
  let runbooksRejected = 0;
  causes.forEach((c, i) => {
    if ('malformed' in c) {
      rejected.push({ service: '', reason: 'malformed', detail: c.malformed });
      return;
    }
    const reject = (reason: RejectReason, detail: string): void => void rejected.push({ service: c.service, reason, detail: detail.slice(0, 300) });
    if (i >= GUARD_LIMITS.causes) return reject('over_limit', `cause ${i + 1} of ${causes.length}`);
    const evidence = [...new Set(c.evidence.map((e) => e.trim()).filter((e) => e !== ''))];
    evidenceProposed += evidence.length;
    const unknown = evidence.filter((e) => !evidenceIds.has(e));
    evidenceRejected += unknown.length;
    if (!KINDS.has(c.kind)) return reject('bad_kind', `kind "${c.kind}" is not one of ${RootCauseKind.options.join(', ')}`);
    if (!services.has(c.service)) return reject('unknown_service', `service "${c.service}" is not in the incident`);
    if (seen.has(c.service)) return reject('duplicate_service', `service "${c.service}" named twice`);
    if (evidence.length === 0) return reject('no_evidence', 'no evidence ids cited');
    if (unknown.length > 0) return reject('unknown_evidence', `evidence not in the incident: ${unknown.slice(0, 5).join(', ')}`);
    if (!measured.has(c.service)) {
      return reject('unmeasured', `service "${c.service}" has no measured symptom (series, spans or alert) in the incident; text alone cannot name a root cause`);
    }
    seen.add(c.service);
    const steps: GuardedStep[] = [];
    for (const s of c.next_steps) {
      const action = s.action.trim().replace(/\s+/g, ' ').slice(0, GUARD_LIMITS.actionChars);
      if (action === '' || steps.length >= GUARD_LIMITS.steps) continue;
      let runbook = s.runbook?.trim() || null;
      if (runbook !== null && !knowledge.has(runbook)) {
        runbooksRejected++;
        runbook = null;
      }
      if (looksLikeCommand(action)) {
        const body = runbook === null ? undefined : bodyOf(knowledge, runbook);
        if (body === undefined || !commandsFrom(action, [body])) {
          commandsRemoved++;
          continue;
        }
      }
      steps.push({ action, runbook, source: runbook === null ? 'model' : 'runbook' });
    }
    const explained = stripCommands(c.explanation.trim().replace(/\s+/g, ' ').slice(0, GUARD_LIMITS.explanationChars), allDocs);
    commandsRemoved += explained.removed;
    accepted.push({
      service: c.service,
      kind: c.kind as RootCauseKind,
      explanation: explained.text,
      confidence: c.confidence,
      evidence: evidence.slice(0, GUARD_LIMITS.evidence),
      next_steps: steps,
    });
  });

  let clipped = false;
  const conf = accepted.map((c) => {
    const x = Number.isFinite(c.confidence) ? c.confidence : 0;
    const y = Math.min(1, Math.max(0, x));
    if (y !== c.confidence) clipped = true;
    return y;
  });
  const sum = conf.reduce((a, b) => a + b, 0);
  const renormalized = sum > 1;
  // Floored (with a hair of tolerance for binary fractions such as 0.6 / 1.6) so that the sum stays <= 1.
  const finalConf = conf.map((x) => Math.floor((renormalized ? x / sum : x) * 1000 + 1e-9) / 1000);
  const ordered = accepted
    .map((c, i) => ({ ...c, confidence: finalConf[i] ?? 0, i }))
    .sort((a, b) => b.confidence - a.confidence || a.i - b.i)
    .map(({ i: _i, ...c }) => c);
  return {
    accepted: ordered,
    rejected,
    causesProposed: causes.length,
    evidenceProposed,
    evidenceRejected,
    runbooksRejected,
    commandsRemoved,
    confidenceClipped: clipped,
    renormalized,
  };
}
