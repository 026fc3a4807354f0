import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { NightshiftError } from '../core/errors.js';
import { RootCauseKind } from '../schemas/common.js';
import { serviceMatches } from '../reasoning/rag/kb.js';
import { ANALYST_QUERIES } from '../sinks/clickhouse/queries.js';
import { needReader, type McpContext } from './context.js';
import type { FeedbackInput, FeedbackRow, FeedbackSource } from './feedback.js';
import { truthFromFeedback } from '../eval/feedback.js';
import { DATA_NOTICE, guarded, iso, ok } from './result.js';
import { rankSimilar, type Fingerprint } from './similar.js';
import { MAX_LIST, MAX_SIGNALS, TEXT_CHARS, unknownIncident, type IncidentReader, type IncidentSummary, type RootCauseView } from './store.js';
import { clip } from './sql.js';

/** Who is calling: the token name over HTTP, the --actor name over stdio; read-only tokens get the read tools only. */
export interface Caller {
  readonly actor: string;
  readonly canWrite: boolean;
  readonly source: FeedbackSource;
}

export const IncidentId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'an incident id is letters, digits and . _ : -').describe('An incident id, e.g. from list_incidents.');
export const Service = z.string().min(1).max(256);
export const Note = z.string().min(1).max(2000);
const Limit = (dflt: number, max: number) => z.number().int().min(1).max(max).default(dflt);

/** How many recent incidents similar_incidents compares against: a bound on one call's work. */
export const SIMILAR_CANDIDATES = 2000;

function needWrite(caller: Caller): void {
  if (!caller.canWrite) throw new NightshiftError('FORBIDDEN', `token ${caller.actor} is read-only: it may call the read tools, not record feedback`);
}

function summaryView(s: IncidentSummary) {
  return { ...s, opened: iso(s.opened_at), updated: iso(s.updated_at) };
}

function feedbackView(f: FeedbackRow) {
  return { ...f, time: iso(f.at), note: f.note === null ? null : { untrusted_text: f.note } };
}

/** The knowledge documents about a cause (same service pattern or kind), as resource URIs an agent can read. */
function runbooksFor(ctx: McpContext, causes: readonly RootCauseView[]): string[] {
  const top = causes.find((c) => c.rank === 1);
  if (!top) return [];
  return ctx.kb.docs
    .filter((d) => d.services.some((p) => serviceMatches(p, top.service)) || (d.services.length === 0 && d.kinds.includes(top.kind)))
    .slice(0, 5)
    .map((d) => `runbook://${d.id}`);
}

/** A bound on the correction rows one similar_incidents call reads: several per candidate is already unusual. */
const MAX_CORRECTIONS = 20_000;

async function fingerprints(ctx: McpContext, reader: IncidentReader, list: readonly IncidentSummary[]): Promise<Fingerprint[]> {
  const ids = list.map((s) => s.incident_id);
  const [causes, templates, corrections] = await Promise.all([reader.rootCauses(ids), reader.templateRefs(ids), ctx.feedback.corrections(ids, MAX_CORRECTIONS)]);
  // The same rule as the evals: the latest correction per incident is its cause.
  const confirmed = truthFromFeedback(corrections);
  return list.map((summary) => ({
    summary,
    causes: causes.get(summary.incident_id) ?? [],
    templates: templates.get(summary.incident_id) ?? [],
    confirmed: confirmed.get(summary.incident_id) ?? null,
  }));
}

async function recordFeedback(ctx: McpContext, caller: Caller, input: FeedbackInput) {
  needWrite(caller);
  // Feedback about an incident the store never had is a typo, and would poison the evals: refuse it where we can.
  if (ctx.reader && !(await ctx.reader.get(input.incident_id))) throw unknownIncident(input.incident_id);
  const row = await ctx.feedback.record(input, caller.actor, caller.source);
  return ok({ recorded: feedbackView(row), stored_in: ctx.feedback.where });
}

export function registerTools(server: McpServer, ctx: McpContext, caller: Caller): void {
  server.registerTool(
    'list_incidents',
    {
      title: 'List incidents',
      description:
        'Lists incidents, newest first (by opened time), with status, services, counts and the top-ranked root cause (service, kind, confidence). ' +
        `Filters: status (open|resolved), service (exact name), since/until (epoch ms on opened time). Returns at most limit rows (default 20, max ${MAX_LIST}); ` +
        'use get_incident for causes, evidence text and feedback of one.',
      inputSchema: {
        status: z.enum(['open', 'resolved']).optional(),
        service: Service.optional(),
        since: z.number().int().nonnegative().optional().describe('epoch milliseconds, inclusive'),
        until: z.number().int().nonnegative().optional().describe('epoch milliseconds, exclusive'),
        limit: Limit(20, MAX_LIST),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (a) =>
      guarded(async () => {
        const rows = await needReader(ctx).list({ ...a, limit: a.limit + 1 });
        return ok({ incidents: rows.slice(0, a.limit).map(summaryView), truncated: rows.length > a.limit });
      }),
  );

  server.registerTool(
    'search_incidents',
    {
      title: 'Search incidents',
      description:
        'Finds incidents whose id, services, root-cause summaries or evidence signal summaries contain the text (case-insensitive substring, not a ranking model). ' +
        `Returns the matching incidents like list_incidents plus hits (matching rows), most hits first; at most limit (default 10, max ${MAX_LIST}). Text: 2 to 200 characters.`,
      inputSchema: { text: z.string().trim().min(2).max(200), limit: Limit(10, MAX_LIST) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (a) =>
      guarded(async () => {
        const reader = needReader(ctx);
        const hits = await reader.search(a.text, a.limit);
        const rows = new Map((await reader.list({ ids: hits.map((h) => h.id), limit: hits.length || 1 })).map((r) => [r.incident_id, r]));
        const incidents = hits.flatMap((h) => {
          const r = rows.get(h.id);
          return r ? [{ ...summaryView(r), hits: h.hits }] : [];
        });
        return ok({ incidents });
      }),
  );

  server.registerTool(
    'get_incident',
    {
      title: 'Get one incident with its evidence text',
      description:
        'One incident: its latest state, the top-3 root causes (service, kind, confidence, summary) with each evidence id resolved to readable text ' +
        '(the signal summaries the pipeline stored for it, and the log template text for template ids), the evidence signals strongest first ' +
        `(at most max_signals, default 30, max ${MAX_SIGNALS}), the feedback recorded so far (newest first, at most 50), and runbook:// resources about the top cause. ` +
        `Telemetry text is in fields named untrusted_text, each cut to ${TEXT_CHARS} characters. Evidence the store no longer has (signals expire after 90 days) is marked unresolved.`,
      inputSchema: { incident_id: IncidentId, max_signals: Limit(30, MAX_SIGNALS) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (a) =>
      guarded(async () => {
        const reader = needReader(ctx);
        const inc = await reader.get(a.incident_id);
        if (!inc) throw unknownIncident(a.incident_id);
        const causes = (await reader.rootCauses([inc.incident_id])).get(inc.incident_id) ?? [];
        const refs = [...new Set(causes.flatMap((c) => c.evidence))];
        const [byRef, templates, signals, feedback] = await Promise.all([
          reader.summariesByRef(inc.incident_id, refs),
          reader.templates(refs.filter((r) => r.startsWith('tpl_'))),
          reader.signals(inc.incident_id, a.max_signals),
          ctx.feedback.list(inc.incident_id, 50),
        ]);
        const evidence = (id: string) => {
          const t = templates.get(id);
          const s = byRef.get(id);
          if (t) return { id, resolved_as: 'log_template' as const, service: t.service, level: t.level, count: t.count, untrusted_text: clip(t.template, TEXT_CHARS), ...(s ? { signal_summary: { untrusted_text: clip(s.summary, TEXT_CHARS) } } : {}) };
          if (s) return { id, resolved_as: 'signal' as const, signals: s.n, untrusted_text: clip(s.summary, TEXT_CHARS) };
          return { id, resolved_as: 'unresolved' as const };
        };
        return ok({
          data_notice: DATA_NOTICE,
          incident: summaryView(inc),
          root_causes: causes.map((c) => ({ rank: c.rank, service: c.service, kind: c.kind, confidence: c.confidence, untrusted_text: clip(c.summary, TEXT_CHARS), evidence: c.evidence.map(evidence) })),
          signals: signals.map((s) => ({ signal_id: s.signal_id, time: iso(s.ts), service: s.service, type: s.type, score: s.score, hint: s.hint, ref: s.ref, peer: s.peer, untrusted_text: clip(s.summary, TEXT_CHARS) })),
          feedback: feedback.map(feedbackView),
          runbooks: runbooksFor(ctx, causes),
        });
      }),
  );

  server.registerTool(
    'similar_incidents',
    {
      title: 'Find similar past incidents',
      description:
        `Ranks other incidents (the ${SIMILAR_CANDIDATES} most recent in the store) by a simple additive score, with the reasons: ` +
        'shared services (Jaccard, 0..1); +2 same top root cause service and kind (+1 same service only); +0.5 per other shared (service, kind) in the top-3, at most 1; ' +
        '+0.25 per shared log template id in the evidence, at most 1. An incident whose root cause a responder confirmed or corrected (feedback) ' +
        'is compared by that cause, not the published one, and says so in confirmed_root_cause; at the same score confirmed matches come first. ' +
        'Only incidents opened before this one unless include_later is true. ' +
        `Returns at most limit (default 5, max 20), best first, each with its summary and its feedback; zero-score incidents are left out.`,
      inputSchema: { incident_id: IncidentId, limit: Limit(5, 20), include_later: z.boolean().default(false) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (a) =>
      guarded(async () => {
        const reader = needReader(ctx);
        const inc = await reader.get(a.incident_id);
        if (!inc) throw unknownIncident(a.incident_id);
        const pool = await reader.list({ limit: SIMILAR_CANDIDATES, ...(a.include_later ? {} : { until: inc.opened_at + 1 }) });
        const [target] = await fingerprints(ctx, reader, [inc]);
        const cands = await fingerprints(ctx, reader, pool);
        const ranked = rankSimilar(target!, cands, a.limit);
        const byId = new Map(pool.map((p) => [p.incident_id, p]));
        const similar = await Promise.all(
          ranked.map(async (r) => ({ ...r, incident: summaryView(byId.get(r.incident_id)!), feedback: (await ctx.feedback.list(r.incident_id, 50)).map(feedbackView) })),
        );
        return ok({ incident_id: inc.incident_id, compared: cands.length, similar });
      }),
  );

  const names = ANALYST_QUERIES.map((q) => q.name) as [string, ...string[]];
  server.registerTool(
    'run_saved_query',
    {
      title: 'Run a saved trend query',
      description:
        `Runs one of the saved analyst queries on the analytics store and returns its rows (at most limit, default 100, max 500; truncated says whether more exist). Queries: ${ANALYST_QUERIES.map((q) => `${q.name}: ${q.question}`).join(' ')}`,
      inputSchema: { name: z.enum(names), limit: Limit(100, 500) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (a) =>
      guarded(async () => {
        const q = ANALYST_QUERIES.find((x) => x.name === a.name)!;
        const r = await ctx.runSaved(a.name, a.limit);
        return ok({ query: q.name, question: q.question, notes: q.notes, ...r });
      }),
  );

  server.registerTool(
    'acknowledge_incident',
    {
      title: 'Acknowledge an incident',
      description:
        'Records that a responder is on this incident (feedback kind ack), with an optional note (at most 2000 characters), durably in the analytics store. ' +
        'Returns the stored row. Needs a write token over HTTP. Does not page, close tickets or change the incident itself.',
      inputSchema: { incident_id: IncidentId, note: Note.optional() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (a) => guarded(() => recordFeedback(ctx, caller, { kind: 'ack', incident_id: a.incident_id, ...(a.note ? { note: a.note } : {}) })),
  );

  server.registerTool(
    'record_feedback',
    {
      title: 'Record feedback on an incident',
      description:
        'Records what a responder found, durably in the analytics store (the evals score against it): kind resolve (fixed), correct_root_cause ' +
        '(the real cause: service and root_kind are then required), comment (a note), or ack. note: at most 2000 characters. Returns the stored row; ' +
        'list_feedback or get_incident read it back. Needs a write token over HTTP.',
      inputSchema: {
        incident_id: IncidentId,
        kind: z.enum(['ack', 'resolve', 'correct_root_cause', 'comment']),
        service: Service.optional().describe('correct_root_cause: the service that really caused it'),
        root_kind: RootCauseKind.optional().describe('correct_root_cause: what really happened there'),
        note: Note.optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (a) =>
      guarded(() => {
        const note = a.note ? { note: a.note } : {};
        if (a.kind === 'correct_root_cause') {
          if (!a.service || !a.root_kind) throw new NightshiftError('SCHEMA_MISMATCH', 'correct_root_cause needs service and root_kind (the real cause)');
          return recordFeedback(ctx, caller, { kind: a.kind, incident_id: a.incident_id, service: a.service, root_kind: a.root_kind, ...note });
        }
        if (a.service || a.root_kind) throw new NightshiftError('SCHEMA_MISMATCH', `service and root_kind belong to correct_root_cause, not ${a.kind}`);
        return recordFeedback(ctx, caller, { kind: a.kind, incident_id: a.incident_id, ...note });
      }),
  );

  server.registerTool(
    'list_feedback',
    {
      title: 'List feedback on an incident',
      description: `The feedback recorded on one incident (ack, resolve, correct_root_cause, comment), newest first, at most limit (default 20, max ${MAX_LIST}), with who recorded it (token or actor name) and when. Notes are untrusted_text.`,
      inputSchema: { incident_id: IncidentId, limit: Limit(20, MAX_LIST) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (a) => guarded(async () => ok({ data_notice: DATA_NOTICE, feedback: (await ctx.feedback.list(a.incident_id, a.limit)).map(feedbackView) })),
  );
}
