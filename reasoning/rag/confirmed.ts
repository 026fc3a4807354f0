import { createHash } from 'node:crypto';
import type { RootCauseKind } from '../../schemas/common.js';
import type { KnowledgeDoc } from './kb.js';
import { quoteUntrusted } from './untrusted.js';

/**
 * Past incidents whose root cause a responder confirmed or corrected (feedback kind correct_root_cause, from MCP,
 * the HTTP API or a ticket's resolution), as knowledge documents the retriever can put in the prompt next to the
 * runbooks. Everything a person or a monitored system wrote (the note, the evidence summaries, even the service name
 * a correction typed) is quoted as untrusted text, and such documents are never a source of commands for the guard
 * (`isPastIncidentDoc`): a ticket comment is not a runbook.
 */
export const PAST_INCIDENT_TAG = 'confirmed-by-feedback';

/** The fields of a feedback row (mcp/feedback.ts FeedbackRow) read here. */
export interface ConfirmationFact {
  readonly feedback_id: string;
  readonly incident_id: string;
  readonly at: number;
  readonly kind: string;
  readonly service: string | null;
  readonly root_kind: RootCauseKind | null;
  readonly note: string | null;
  readonly actor: string;
  readonly source: string;
}

/** What the store knows of the incident itself: when, where, what was published, what the evidence said. */
export interface PastIncidentFacts {
  readonly incident_id: string;
  readonly opened_at: number;
  readonly services: readonly string[];
  /** The published top cause, if any: the document says whether the feedback confirmed or corrected it. */
  readonly published: { readonly service: string; readonly kind: RootCauseKind } | null;
  /** Summaries of the cited evidence (signals, log templates), strongest first: telemetry text, untrusted. */
  readonly evidence: readonly string[];
  /** Log template ids in the evidence: the retriever matches them against a new incident's templates. */
  readonly templates: readonly string[];
}

export interface ConfirmedDocsOptions {
  /** Documents at most, newest confirmation first. */
  readonly max: number;
  readonly noteChars: number;
  readonly evidenceItems: number;
  readonly evidenceChars: number;
}

export const CONFIRMED_DOCS_DEFAULTS: ConfirmedDocsOptions = { max: 200, noteChars: 500, evidenceItems: 5, evidenceChars: 200 };

const cut = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
const iso = (ms: number): string => new Date(ms).toISOString();
/** A service name safe to show unquoted (titles, index fields); anything else only appears quoted in the body. */
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

/** A knowledge document id for an incident id (ids allow `:` and 128 characters, document ids neither). */
export function pastIncidentDocId(incidentId: string): string {
  const plain = incidentId.replace(/[^A-Za-z0-9._-]/g, '_');
  const id = `past-${plain}`;
  if (id.length <= 64 && /^[A-Za-z0-9]/.test(id)) return id;
  return `past-${plain.slice(0, 46)}-${createHash('sha256').update(incidentId).digest('hex').slice(0, 12)}`;
}

export function isPastIncidentDoc(d: Pick<KnowledgeDoc, 'tags'>): boolean {
  return d.tags.includes(PAST_INCIDENT_TAG);
}

const OPENED = 'opened-at:';

/**
 * Whether a document may inform reasoning about `incident`: team documents always; a past incident only when it is
 * another incident that opened before this one (a replay of history must not learn from its own future, nor an
 * incident from its own confirmed cause).
 */
export function usableFor(d: Pick<KnowledgeDoc, 'tags' | 'source'>, incident: { readonly incident_id: string; readonly opened_at: number }): boolean {
  if (!isPastIncidentDoc(d)) return true;
  if (d.source === `feedback:${incident.incident_id}`) return false;
  const t = d.tags.find((x) => x.startsWith(OPENED));
  return t !== undefined && Number(t.slice(OPENED.length)) < incident.opened_at;
}

/**
 * One document per incident with a correct_root_cause row (the latest wins, as in the evals' truth rule), for the
 * incidents `incidents` describes (others are skipped: their evidence is gone), newest confirmation first, at most
 * `opts.max`. Pure: the same rows give the same documents.
 */
export function confirmedIncidentDocs(
  feedbackRows: readonly ConfirmationFact[],
  incidents: ReadonlyMap<string, PastIncidentFacts>,
  opts: Partial<ConfirmedDocsOptions> = {},
): KnowledgeDoc[] {
  const o = { ...CONFIRMED_DOCS_DEFAULTS, ...opts };
  const latest = new Map<string, ConfirmationFact>();
  for (const r of feedbackRows) {
    if (r.kind !== 'correct_root_cause' || r.service === null || r.root_kind === null) continue;
    const prev = latest.get(r.incident_id);
    if (!prev || r.at > prev.at || (r.at === prev.at && r.feedback_id > prev.feedback_id)) latest.set(r.incident_id, r);
  }
  const chosen = [...latest.values()]
    .filter((r) => incidents.has(r.incident_id))
    .sort((a, b) => b.at - a.at || (a.incident_id < b.incident_id ? -1 : 1))
    .slice(0, Math.max(0, o.max));
  return chosen.map((r) => {
    const inc = incidents.get(r.incident_id)!;
    const service = r.service!;
    const kind = r.root_kind!;
    const plain = PLAIN.test(service);
    const verdict =
      inc.published === null
        ? 'nightshift had published no cause'
        : inc.published.service === service && inc.published.kind === kind
          ? 'nightshift had published the same top cause (confirmed)'
          : `nightshift had published ${quoteUntrusted(`${inc.published.service} ${inc.published.kind}`)} as the top cause (corrected)`;
    const lines = [
      `Past incident ${quoteUntrusted(inc.incident_id)}, opened ${iso(inc.opened_at)}, services ${quoteUntrusted(inc.services.slice(0, 20).join(', '))}.`,
      `Root cause confirmed by a responder: service ${quoteUntrusted(service)}, kind ${kind} (feedback from ${quoteUntrusted(r.source)} by ${quoteUntrusted(r.actor)}, ${iso(r.at)}); ${verdict}.`,
    ];
    if (r.note) lines.push(`Responder's note: ${quoteUntrusted(cut(r.note, o.noteChars))}`);
    const ev = inc.evidence.slice(0, o.evidenceItems).map((e) => quoteUntrusted(cut(e, o.evidenceChars)));
    if (ev.length > 0) lines.push(`Evidence then: ${ev.join(' ')}`);
    const services = [...new Set([...(plain ? [service] : []), ...inc.services.filter((s) => PLAIN.test(s))])].slice(0, 200);
    return {
      id: pastIncidentDocId(inc.incident_id),
      type: 'incident' as const,
      title: `Past incident (confirmed by feedback): ${kind} in ${plain ? service : 'a service'}`,
      services,
      kinds: [kind],
      templates: inc.templates.filter((t) => t.startsWith('tpl_')).slice(0, 200),
      tags: [PAST_INCIDENT_TAG, 'past-incident', `${OPENED}${inc.opened_at}`],
      body: lines.join('\n'),
      source: `feedback:${inc.incident_id}`,
    };
  });
}
