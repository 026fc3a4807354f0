import { EvidenceItem, type RootCauseKind, type SignalType } from '../schemas/index.js';
import { needReader, type McpContext } from '../mcp/context.js';
import type { FeedbackRow } from '../mcp/feedback.js';
import { clip } from '../mcp/sql.js';
import { MAX_SIGNALS, TEXT_CHARS, unknownIncident, type IncidentSummary, type TicketView } from '../mcp/store.js';
import { incidentTitle } from '../reasoning/evidence.js';

/** One point of a plotted series: what was observed and, where the detector knew it, the expected value and band. */
export interface PlotPoint {
  readonly ts: number;
  readonly value: number;
  readonly expected?: number;
  readonly lo?: number;
  readonly hi?: number;
}

export interface SeriesPlot {
  readonly id: string;
  readonly service: string;
  readonly name: string;
  readonly unit: string | null;
  readonly expected: number;
  readonly observed: number;
  readonly points: PlotPoint[];
}

/** A cited evidence id as a person reads it: a kind, a line of text, and the figures behind it. */
export interface EvidenceView {
  readonly id: string;
  readonly type: EvidenceItem['type'] | 'unresolved';
  readonly service: string | null;
  readonly text: string;
  readonly facts: Array<[string, string]>;
  readonly links: Array<{ label: string; url: string }>;
}

export interface CauseView {
  readonly rank: number;
  readonly service: string;
  readonly kind: RootCauseKind;
  readonly confidence: number;
  readonly explanation: string;
  readonly evidence: EvidenceView[];
}

export interface TimelineEntry {
  readonly ts: number;
  readonly service: string;
  readonly type: SignalType;
  readonly score: number;
  readonly text: string;
  readonly peer: string | null;
}

export interface TopologyView {
  readonly nodes: Array<{ service: string; role: 'root' | 'cause' | 'involved' }>;
  readonly edges: Array<{ caller: string; callee: string; anomalous: boolean }>;
}

/** Everything the incident page and `nightshift show` print about one incident. */
export interface IncidentDetail {
  readonly incident: IncidentSummary;
  readonly title: string;
  readonly severity: string | null;
  readonly causes: CauseView[];
  readonly timeline: TimelineEntry[];
  readonly plots: SeriesPlot[];
  readonly topology: TopologyView;
  readonly tickets: TicketView[];
  readonly feedback: FeedbackRow[];
}

const MAX_PLOTS = 4;
const MAX_PLOT_POINTS = 200;

const fin = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const fmt = (x: number): string => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(Math.round(x * 1000) / 1000));

/** Readable facts of a stored evidence item, whatever optional figures its version of the contract carried. */
function viewOf(item: EvidenceItem): EvidenceView {
  const raw = item as Record<string, unknown>;
  const facts: Array<[string, string]> = [];
  const links: Array<{ label: string; url: string }> = [];
  const add = (k: string, v: unknown, unit = '') => {
    if (fin(v)) facts.push([k, `${fmt(v)}${unit}`]);
    else if (typeof v === 'string' && v !== '') facts.push([k, clip(v, 200)]);
  };
  let text: string;
  let service: string | null = null;
  switch (item.type) {
    case 'log_template':
      text = item.text;
      service = item.service;
      add('level', item.level);
      add('before', raw.before);
      add('during', raw.during);
      add('seen', item.count);
      break;
    case 'series': {
      const unit = typeof raw.unit === 'string' ? ` ${raw.unit}` : '';
      text = `${item.name}: expected ${fmt(item.expected)}${unit}, observed ${fmt(item.observed)}${unit}`;
      service = item.service;
      break;
    }
    case 'call_edge':
      text = item.text;
      service = item.caller;
      facts.push(['edge', `${item.caller} → ${item.callee}${item.side ? ` (${item.side} spans)` : ''}`]);
      for (const k of ['baseline_ms', 'observed_ms', 'baseline_error_ratio', 'error_ratio']) add(k.replaceAll('_', ' '), raw[k]);
      break;
    case 'alert': {
      text = item.text;
      service = item.service;
      add('alert', raw.name);
      add('severity', raw.severity);
      const ann = raw.annotations;
      if (ann && typeof ann === 'object') {
        for (const [k, v] of Object.entries(ann as Record<string, unknown>)) {
          if (typeof v !== 'string') continue;
          // Only http(s) links become links: an annotation is telemetry, and a javascript: URL in it is an attack.
          if (/^https?:\/\//i.test(v) && /url|link|runbook|dashboard/i.test(k)) links.push({ label: k, url: v });
          else add(k, v);
        }
      }
      break;
    }
    case 'change':
      text = item.text;
      service = item.service;
      add('change', item.change_kind);
      add('author', item.author);
      add('version', item.version);
      add('verdict', item.verdict);
      break;
    case 'signal':
      text = item.text;
      service = item.service;
      add('signal', item.signal);
      break;
  }
  return { id: item.id, type: item.type, service, text: clip(text, TEXT_CHARS), facts, links };
}

function plotOf(item: EvidenceItem): SeriesPlot | null {
  if (item.type !== 'series') return null;
  const raw = item as Record<string, unknown>;
  const pts = Array.isArray(raw.points) ? (raw.points as Array<Record<string, unknown>>) : [];
  const points: PlotPoint[] = [];
  for (const p of pts.slice(0, MAX_PLOT_POINTS)) {
    if (!fin(p.ts) || !fin(p.value)) continue;
    points.push({ ts: p.ts, value: p.value, ...(fin(p.expected) ? { expected: p.expected } : {}), ...(fin(p.lo) ? { lo: p.lo } : {}), ...(fin(p.hi) ? { hi: p.hi } : {}) });
  }
  points.sort((a, b) => a.ts - b.ts);
  return { id: item.id, service: item.service, name: item.name, unit: typeof raw.unit === 'string' ? raw.unit : null, expected: item.expected, observed: item.observed, points };
}

/** Stored items that still parse under today's contract (a row is data from an older or newer writer). */
function parseItems(raw: readonly unknown[]): EvidenceItem[] {
  return raw.flatMap((x) => {
    const r = EvidenceItem.safeParse(x);
    // safeParse strips unknown keys; the figures newer writers add are read from the raw object.
    return r.success ? [{ ...(x as object), ...r.data } as EvidenceItem] : [];
  });
}

function topologyOf(causes: readonly CauseView[], services: readonly string[], storedEdges: readonly unknown[], timeline: readonly TimelineEntry[]): TopologyView {
  const edges = new Map<string, { caller: string; callee: string; anomalous: boolean }>();
  for (const e of storedEdges) {
    const r = e as Record<string, unknown>;
    const caller = typeof r.caller === 'string' ? r.caller : typeof r.from === 'string' ? r.from : null;
    const callee = typeof r.callee === 'string' ? r.callee : typeof r.to === 'string' ? r.to : null;
    if (caller && callee) edges.set(`${caller}\u0000${callee}`, { caller, callee, anomalous: false });
  }
  // Call-edge signals name both ends: an edge the topology file lacked is still part of the picture.
  for (const t of timeline) {
    if (!t.peer) continue;
    const k = `${t.service}\u0000${t.peer}`;
    edges.set(k, { caller: t.service, callee: t.peer, anomalous: true });
  }
  const root = causes.find((c) => c.rank === 1)?.service;
  const causeSet = new Set(causes.map((c) => c.service));
  const inIncident = new Set(services);
  const kept = [...edges.values()].filter((e) => inIncident.has(e.caller) || inIncident.has(e.callee));
  const used = new Set<string>(services);
  for (const e of kept) used.add(e.caller).add(e.callee);
  return {
    nodes: [...used].sort().map((service) => ({ service, role: service === root ? ('root' as const) : causeSet.has(service) ? ('cause' as const) : ('involved' as const) })),
    edges: kept.sort((a, b) => a.caller.localeCompare(b.caller) || a.callee.localeCompare(b.callee)),
  };
}

/**
 * One incident as the page shows it. Evidence comes from the readable items the incident sink stored with the
 * incident (migration 7); for incidents written before that, from the stored signal summaries and template texts.
 */
export async function incidentDetail(ctx: McpContext, id: string): Promise<IncidentDetail> {
  const reader = needReader(ctx);
  const inc = await reader.get(id);
  if (!inc) throw unknownIncident(id);
  const [causesById, details, signals, tickets, feedback] = await Promise.all([
    reader.rootCauses([id]),
    reader.details(id),
    reader.signals(id, MAX_SIGNALS),
    reader.tickets(id),
    ctx.feedback.list(id, 50),
  ]);
  const causes = causesById.get(id) ?? [];
  const items = new Map(parseItems(details?.evidence ?? []).map((i) => [i.id, i]));
  const missing = [...new Set(causes.flatMap((c) => c.evidence))].filter((r) => !items.has(r));
  const [byRef, templates] = missing.length > 0 ? await Promise.all([reader.summariesByRef(id, missing), reader.templates(missing.filter((r) => r.startsWith('tpl_')))]) : [new Map(), new Map()];
  const resolve = (ref: string): EvidenceView => {
    const item = items.get(ref);
    if (item) return viewOf(item);
    const t = templates.get(ref);
    if (t) return { id: ref, type: 'log_template', service: t.service, text: clip(t.template, TEXT_CHARS), facts: [['level', t.level], ['seen', String(t.count)]], links: [] };
    const s = byRef.get(ref);
    if (s) return { id: ref, type: 'signal', service: null, text: clip(s.summary, TEXT_CHARS), facts: [['signals', String(s.n)]], links: [] };
    return { id: ref, type: 'unresolved', service: null, text: 'no longer in the store', facts: [], links: [] };
  };
  const causeViews: CauseView[] = causes.map((c) => ({ rank: c.rank, service: c.service, kind: c.kind, confidence: c.confidence, explanation: clip(c.summary, 4 * TEXT_CHARS), evidence: c.evidence.map(resolve) }));
  const timeline: TimelineEntry[] = signals
    .map((s) => ({ ts: s.ts, service: s.service, type: s.type, score: s.score, text: clip(s.summary, TEXT_CHARS), peer: s.peer }))
    .sort((a, b) => a.ts - b.ts || b.score - a.score);
  const plots = [...items.values()].flatMap((i) => plotOf(i) ?? []).slice(0, MAX_PLOTS);
  // Incidents stored before the details table get the title the reasoner would have given them.
  const title = details?.title || incidentTitle(causes, inc.services);
  return {
    incident: inc,
    title,
    severity: details?.severity ?? null,
    causes: causeViews,
    timeline,
    plots,
    topology: topologyOf(causeViews, inc.services, details?.edges ?? [], timeline),
    tickets,
    feedback,
  };
}
