import { NightshiftError } from '../core/errors.js';
import { confirmedIncidentDocs, CONFIRMED_DOCS_DEFAULTS, type PastIncidentFacts } from '../reasoning/rag/confirmed.js';
import type { KnowledgeDoc } from '../reasoning/rag/kb.js';
import type { PastIncidentSource } from '../reasoning/rag/live.js';
import type { ClickHouseLike } from '../sinks/clickhouse/client.js';
import { TableFeedbackStore, type FeedbackStore } from './feedback.js';
import { IncidentReader } from './store.js';

/** Corrections read per refresh: several per incident is rare, so this covers `max` incidents many times over. */
const CORRECTIONS_PER_DOC = 5;

/**
 * Past incidents with a confirmed or corrected root cause, from the feedback store and the incidents it is about
 * (their services, published top cause and top cause's evidence text): the LLM reasoner's PastIncidentSource.
 */
export function storePastIncidents(feedback: FeedbackStore, reader: IncidentReader, where: string, max = CONFIRMED_DOCS_DEFAULTS.max): PastIncidentSource {
  return {
    where,
    load: async (): Promise<KnowledgeDoc[]> => {
      const rows = await feedback.corrections(null, max * CORRECTIONS_PER_DOC);
      const ids = [...new Set(rows.map((r) => r.incident_id))].slice(0, max);
      if (ids.length === 0) return [];
      const [list, causes] = await Promise.all([reader.list({ ids, limit: ids.length }), reader.rootCauses(ids)]);
      const facts = new Map<string, PastIncidentFacts>();
      for (const s of list) {
        const top = (causes.get(s.incident_id) ?? []).find((c) => c.rank === 1) ?? null;
        const refs = top?.evidence.slice(0, CONFIRMED_DOCS_DEFAULTS.evidenceItems) ?? [];
        const [byRef, tpl] = await Promise.all([reader.summariesByRef(s.incident_id, refs), reader.templates(refs.filter((r) => r.startsWith('tpl_')))]);
        let evidence = refs.flatMap((r) => {
          const t = tpl.get(r)?.template ?? byRef.get(r)?.summary;
          return t ? [t] : [];
        });
        // Evidence the store cannot resolve (older outputs cited signal ids): the incident's strongest signals instead.
        if (evidence.length === 0) evidence = (await reader.signals(s.incident_id, CONFIRMED_DOCS_DEFAULTS.evidenceItems)).map((x) => x.summary);
        facts.set(s.incident_id, {
          incident_id: s.incident_id,
          opened_at: s.opened_at,
          services: s.services,
          published: top ? { service: top.service, kind: top.kind } : null,
          evidence,
          templates: refs.filter((r) => r.startsWith('tpl_')),
        });
      }
      return confirmedIncidentDocs(rows, facts, { max });
    },
  };
}

/**
 * The past incidents of the analytics database a pipeline writes (`nightshift replay` with ClickHouse or chdb):
 * on unless NIGHTSHIFT_LLM_PAST_INCIDENTS=off; NIGHTSHIFT_LLM_PAST_INCIDENTS_MAX (default 200) documents,
 * re-read every NIGHTSHIFT_LLM_PAST_INCIDENTS_REFRESH_S seconds (default 300; 0 = once, at start).
 */
export function pastIncidentsFromEnv(env: NodeJS.ProcessEnv, ch: ClickHouseLike, db: string, where: string): { source: PastIncidentSource; refreshMs: number } | null {
  const on = env.NIGHTSHIFT_LLM_PAST_INCIDENTS?.trim().toLowerCase();
  if (on === 'off' || on === '0' || on === 'false') return null;
  if (on !== undefined && on !== '' && on !== 'on' && on !== '1' && on !== 'true') {
    throw new NightshiftError('CONFIG_INVALID', `NIGHTSHIFT_LLM_PAST_INCIDENTS must be on or off, got ${JSON.stringify(env.NIGHTSHIFT_LLM_PAST_INCIDENTS)}`);
  }
  const int = (name: string, dflt: number, lo: number, hi: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new NightshiftError('CONFIG_INVALID', `${name} must be an integer from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
    return n;
  };
  const max = int('NIGHTSHIFT_LLM_PAST_INCIDENTS_MAX', CONFIRMED_DOCS_DEFAULTS.max, 1, 5000);
  const refreshS = int('NIGHTSHIFT_LLM_PAST_INCIDENTS_REFRESH_S', 300, 0, 86_400);
  return { source: storePastIncidents(new TableFeedbackStore(ch, db), new IncidentReader(ch, db), where, max), refreshMs: refreshS * 1000 };
}
