import type { BundleDetails, BundleSeries, EvidenceItem, IncidentBundle, RootCause, Signal } from '../schemas/index.js';
import { stripCommands } from './commands.js';

const MAX_ITEMS = 24;
const MAX_TEXT = 400;
/**
 * Telemetry text as published: cut, and with anything that looks like a command replaced (no runbook vouches for
 * text a service logged, and this text reaches tickets). Done in `cited`, for the few items published, not for the
 * whole index.
 */
const published = (s: string): string => {
  const t = stripCommands(s, []).text;
  return t.length <= MAX_TEXT ? t : `${t.slice(0, MAX_TEXT - 1)}…`;
};

/**
 * Every evidence id of a bundle resolved to what a person reads: a template's text and count, a series' expected and
 * observed values, a call edge's ends and figures, an alert's and a change's text. Built once per bundle; outputs
 * take the cited ones (`cited`). Signals are walked strongest first, so a ref several signals share is described
 * by its strongest.
 */
export function evidenceIndex(b: IncidentBundle): Map<string, EvidenceItem> {
  const idx = new Map<string, EvidenceItem>();
  const d = b.details;
  for (const t of b.templates) {
    const split = d?.templates?.[t.id];
    idx.set(t.id, { type: 'log_template', id: t.id, service: t.service, text: t.template, level: t.level, count: t.count, first_seen: t.first_seen, ...(split ?? {}) });
  }
  // Series of call edges (RED signals with a peer) read as the edge, with its figures; the others as series.
  const edgeSignal = new Map<string, Signal>();
  for (const s of [...b.signals].sort((x, y) => y.score - x.score)) if (s.peer && s.type.startsWith('red_') && !edgeSignal.has(s.ref)) edgeSignal.set(s.ref, s);
  const seriesById = new Map(b.series.map((s) => [s.id, s]));
  for (const s of b.series) {
    if (edgeSignal.has(s.id)) continue;
    const extra = d?.series?.[s.id];
    idx.set(s.id, { type: 'series', id: s.id, service: s.service, name: s.name, expected: s.baseline, observed: s.peak, ...(extra?.unit !== undefined ? { unit: extra.unit } : {}), ...(extra?.points ? { points: extra.points } : {}) });
  }
  for (const c of b.changes) {
    idx.set(c.id, {
      type: 'change',
      id: c.id,
      service: c.service,
      change_kind: c.change_kind,
      text: c.summary,
      ...(c.author ? { author: c.author } : {}),
      ...(c.version ? { version: c.version } : {}),
      ...(c.verdict ? { verdict: c.comparison ? `${c.verdict}: ${c.comparison}` : c.verdict } : {}),
    });
  }
  for (const s of [...b.signals].sort((x, y) => y.score - x.score)) {
    if (idx.has(s.ref)) continue;
    if (s.peer && s.type.startsWith('red_')) {
      idx.set(s.ref, { type: 'call_edge', id: s.ref, caller: s.service, callee: s.peer, ...(s.side ? { side: s.side } : {}), signal: s.type, text: s.summary, ...edgeFigures(s, seriesById.get(s.ref), d) });
    } else if (s.type === 'alert') {
      const a = d?.alerts?.[s.ref];
      idx.set(s.ref, { type: 'alert', id: s.ref, service: s.service, text: s.summary, ...(a ? { name: a.name, severity: a.severity, ...(a.annotations ? { annotations: a.annotations } : {}) } : {}) });
    } else idx.set(s.ref, { type: 'signal', id: s.ref, service: s.service, signal: s.type, text: s.summary });
  }
  return idx;
}

/** A RED edge signal's series (its episode) as named figures: latency in ms or error ratios. */
function edgeFigures(s: Signal, series: BundleSeries | undefined, d: BundleDetails | undefined): Partial<Extract<EvidenceItem, { type: 'call_edge' }>> {
  const extra = d?.series?.[s.ref];
  const out: Partial<Extract<EvidenceItem, { type: 'call_edge' }>> = {};
  if (series && s.type === 'red_latency') {
    out.baseline_ms = series.baseline;
    out.observed_ms = series.peak;
  } else if (series && s.type === 'red_errors') {
    out.baseline_error_ratio = series.baseline;
    out.error_ratio = series.peak;
  }
  if (extra?.unit !== undefined) out.unit = extra.unit;
  if (extra?.points) out.points = extra.points;
  return out;
}

/** Annotation values as published: commands replaced (they were cut at perception); links are kept as they are. */
function publishedAnnotations(a: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(a)) out[k] = /^https?:\/\/\S+$/.test(a[k] ?? '') ? (a[k] as string) : published(a[k] ?? '');
  return out;
}

/** The items the causes cite, in order of citation, each once, bounded, their texts as published. */
export function cited(idx: ReadonlyMap<string, EvidenceItem>, causes: readonly RootCause[]): EvidenceItem[] {
  const out: EvidenceItem[] = [];
  const seen = new Set<string>();
  for (const c of causes) {
    for (const id of c.evidence) {
      if (seen.has(id) || out.length >= MAX_ITEMS) continue;
      seen.add(id);
      const item = idx.get(id);
      if (item) out.push(item.type === 'alert' && item.annotations ? { ...item, text: published(item.text), annotations: publishedAnnotations(item.annotations) } : 'text' in item ? { ...item, text: published(item.text) } : item);
    }
  }
  return out;
}

/** `latency in cartservice (3 services)`: what the incident is, from its top cause. */
export function incidentTitle(causes: readonly RootCause[], services: readonly string[]): string {
  const top = causes[0];
  const n = services.length;
  const what = top ? `${top.kind} in ${top.service}` : `incident on ${services[0] ?? 'unknown service'}`;
  return `${what}${n > 1 ? ` (${n} services)` : ''}`;
}
