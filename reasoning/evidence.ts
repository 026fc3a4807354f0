import type { EvidenceItem, IncidentBundle, RootCause } from '../schemas/index.js';
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
  for (const t of b.templates) idx.set(t.id, { type: 'log_template', id: t.id, service: t.service, text: t.template, level: t.level, count: t.count, first_seen: t.first_seen });
  for (const s of b.series) idx.set(s.id, { type: 'series', id: s.id, service: s.service, name: s.name, expected: s.baseline, observed: s.peak });
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
      idx.set(s.ref, { type: 'call_edge', id: s.ref, caller: s.service, callee: s.peer, ...(s.side ? { side: s.side } : {}), signal: s.type, text: s.summary });
    } else if (s.type === 'alert') idx.set(s.ref, { type: 'alert', id: s.ref, service: s.service, text: s.summary });
    else idx.set(s.ref, { type: 'signal', id: s.ref, service: s.service, signal: s.type, text: s.summary });
  }
  return idx;
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
      if (item) out.push('text' in item ? { ...item, text: published(item.text) } : item);
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
