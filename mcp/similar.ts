import type { RootCauseKind } from '../schemas/common.js';
import type { IncidentSummary, RootCauseView } from './store.js';

/** A root cause a responder confirmed or corrected (the latest correct_root_cause feedback of the incident). */
export interface ConfirmedCause {
  readonly service: string;
  readonly kind: RootCauseKind;
}

/** What similarity compares: the incident's services, its ranked causes and the log templates in its evidence. */
export interface Fingerprint {
  readonly summary: IncidentSummary;
  readonly causes: readonly RootCauseView[];
  readonly templates: readonly string[];
  /** When feedback confirmed or corrected the cause, that cause stands in for the published top one. */
  readonly confirmed?: ConfirmedCause | null;
}

export interface Similar {
  readonly incident_id: string;
  readonly score: number;
  readonly reasons: string[];
  /** The candidate's cause as feedback confirmed or corrected it, or null when nobody did. */
  readonly confirmed_root_cause: ConfirmedCause | null;
}

/** The cause an incident is compared by: the confirmed one when there is one (a person's word beats the ranker's). */
function topOf(f: Fingerprint): { service: string; kind: RootCauseKind; confirmed: boolean } | undefined {
  if (f.confirmed) return { service: f.confirmed.service, kind: f.confirmed.kind, confirmed: true };
  const t = f.causes.find((c) => c.rank === 1);
  return t ? { service: t.service, kind: t.kind, confirmed: false } : undefined;
}

/**
 * A small additive score, so that an agent (and a person) can see why two incidents match:
 *   + shared services, Jaccard (0..1)
 *   + 2 when the top-ranked causes agree on service and kind, else + 1 when they agree on service only; an incident
 *     whose cause feedback confirmed or corrected is compared by that cause instead of its published top one
 *   + 0.5 per other (service, kind) pair both have among their top-3, at most 1
 *   + 0.25 per log template id both have as evidence, at most 1
 * Zero means nothing in common: such incidents are not returned.
 */
export function similarity(a: Fingerprint, b: Fingerprint): Similar {
  const reasons: string[] = [];
  let score = 0;
  const sa = new Set(a.summary.services);
  const sb = new Set(b.summary.services);
  const shared = [...sa].filter((s) => sb.has(s));
  const union = new Set([...sa, ...sb]).size;
  if (shared.length > 0 && union > 0) {
    score += shared.length / union;
    reasons.push(`shares services ${shared.sort().join(', ')}`);
  }
  const ta = topOf(a);
  const tb = topOf(b);
  if (ta && tb && ta.service === tb.service) {
    const mark = tb.confirmed ? ' (confirmed by feedback)' : '';
    if (ta.kind === tb.kind) {
      score += 2;
      reasons.push(`same top root cause: ${ta.service} ${ta.kind}${mark}`);
    } else {
      score += 1;
      reasons.push(`same top root-cause service ${ta.service} (${ta.kind} vs ${tb.kind})${mark}`);
    }
  }
  const pairs = (cs: readonly RootCauseView[]) => new Set(cs.filter((c) => c.rank !== 1).map((c) => `${c.service} ${c.kind}`));
  const pa = pairs(a.causes);
  const other = [...pairs(b.causes)].filter((p) => pa.has(p));
  if (other.length > 0) {
    score += Math.min(1, 0.5 * other.length);
    reasons.push(`also ranked both: ${other.sort().join('; ')}`);
  }
  const tpl = new Set(a.templates);
  const sharedTpl = [...new Set(b.templates)].filter((t) => tpl.has(t));
  if (sharedTpl.length > 0) {
    score += Math.min(1, 0.25 * sharedTpl.length);
    reasons.push(`${sharedTpl.length} shared log template(s)`);
  }
  return { incident_id: b.summary.incident_id, score: Math.round(score * 1000) / 1000, reasons, confirmed_root_cause: b.confirmed ?? null };
}

export function rankSimilar(target: Fingerprint, candidates: readonly Fingerprint[], limit: number): Similar[] {
  return candidates
    .filter((c) => c.summary.incident_id !== target.summary.incident_id)
    .map((c) => similarity(target, c))
    .filter((s) => s.score > 0)
    // At the same score a confirmed match first: its cause is known, not guessed.
    .sort((x, y) => y.score - x.score || Number(y.confirmed_root_cause !== null) - Number(x.confirmed_root_cause !== null) || x.incident_id.localeCompare(y.incident_id))
    .slice(0, limit);
}
