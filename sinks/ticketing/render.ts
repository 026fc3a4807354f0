import type { EvidenceItem, IncidentOutput, RootCause, Severity } from '../../schemas/index.js';

/**
 * Ticket text, rendered from the output only (event-time stamps, no wall clock), so a replay renders the same text.
 * Bounded: at most 3 causes (the contract), 5 evidence ids each, 20 services listed.
 */
const MAX_SERVICES = 20;
const MAX_EVIDENCE = 5;
const MAX_EVIDENCE_LINES = 8;

const iso = (ms: number): string => new Date(ms).toISOString();
const pct = (x: number): string => `${Math.round(x * 100)}%`;

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

function serviceList(services: readonly string[]): string {
  const shown = services.slice(0, MAX_SERVICES).join(', ');
  return services.length > MAX_SERVICES ? `${shown} (+${services.length - MAX_SERVICES} more)` : shown;
}

export function causeLine(c: RootCause): string {
  const ev = c.evidence.slice(0, MAX_EVIDENCE).join(', ');
  const more = c.evidence.length > MAX_EVIDENCE ? ` (+${c.evidence.length - MAX_EVIDENCE})` : '';
  return `#${c.rank} ${c.service} (${c.kind}, ${pct(c.confidence)}): ${c.summary}${ev ? ` [evidence: ${ev}${more}]` : ''}`;
}

/** One line naming the incident: what a pager or a ticket list shows. */
export function title(o: IncidentOutput, severity: Severity): string {
  const top = o.root_causes[0];
  const where = top ? `${top.kind} in ${top.service}` : `incident on ${o.services[0] ?? 'unknown service'}`;
  const n = o.services.length;
  return `[nightshift ${severity}] ${where}${n > 1 ? ` (${n} services)` : ''}`;
}

export interface RenderedText {
  readonly heading: string;
  readonly facts: readonly string[];
  readonly causes: readonly string[];
  /** The cited evidence as a person reads it (empty for outputs without resolved evidence). */
  readonly evidence: readonly string[];
}

const NUM = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });
/** A figure as a person reads it: `1,292 ms`, `12%`, `0.25` (unit omitted when unknown or a plain ratio). */
export function figure(x: number, unit?: string): string {
  const n = NUM.format(x);
  if (unit === undefined || unit === 'ratio' || unit === '') return n;
  return unit === '%' ? `${n}%` : `${n} ${unit}`;
}

/** One line per evidence item: what it is, where, and its figures or text (telemetry text, quoted). */
export function evidenceLine(e: EvidenceItem): string {
  switch (e.type) {
    case 'log_template': {
      const split = e.before !== undefined && e.during !== undefined ? `template seen ${NUM.format(e.before)} before, ${NUM.format(e.during)} during${e.since !== undefined ? ` (since ${iso(e.since)})` : ''}; ` : '';
      return `log ${e.level} in ${e.service}, ${split}${e.count} lines since ${iso(e.first_seen)}: "${e.text}"`;
    }
    case 'series':
      return `series ${e.name} of ${e.service}: expected ${figure(e.expected, e.unit)}, observed ${figure(e.observed, e.unit)}`;
    case 'call_edge': {
      const figs: string[] = [];
      if (e.baseline_ms !== undefined && e.observed_ms !== undefined) figs.push(`p95 latency ${figure(e.baseline_ms, 'ms')} -> ${figure(e.observed_ms, 'ms')}`);
      if (e.baseline_error_ratio !== undefined && e.error_ratio !== undefined) figs.push(`error ratio ${figure(e.baseline_error_ratio)} -> ${figure(e.error_ratio)}`);
      return `calls ${e.caller} -> ${e.callee}${e.side ? ` (${e.side} side)` : ''}${figs.length > 0 ? `: ${figs.join(', ')}` : ''}: "${e.text}"`;
    }
    case 'alert': {
      const runbook = e.annotations?.runbook_url ?? e.annotations?.runbook;
      // The runbook link before the text, so the line's cut never takes it.
      return `alert ${e.name ? `${e.name} ` : ''}${e.severity ? `(${e.severity}) ` : ''}on ${e.service}${runbook ? ` (runbook: ${runbook})` : ''}: "${e.text}"`;
    }
    case 'change':
      return `${e.change_kind} of ${e.service}${e.version ? ` ${e.version}` : ''}${e.author ? ` by ${e.author}` : ''}: "${e.text}"${e.verdict ? ` (release ${e.verdict})` : ''}`;
    case 'signal':
      return `${e.signal} in ${e.service}: "${e.text}"`;
  }
}

function facts(o: IncidentOutput, severity: Severity): string[] {
  return [
    `Incident: ${o.incident_id}`,
    `Status: ${o.status}`,
    `Severity: ${severity}${o.severity ? ` (incident rated ${o.severity})` : ''}`,
    `Opened: ${iso(o.opened_at)}`,
    `Updated: ${iso(o.updated_at)}`,
    `Services: ${serviceList(o.services)}`,
    `Alerts: ${o.counts.alerts}, signals: ${o.counts.signals}, events: ${o.counts.events}`,
    `Reasoner: ${o.reasoner}`,
  ];
}

export type TextKind = 'open' | 'update' | 'resolve';

export function render(kind: TextKind, o: IncidentOutput, severity: Severity): RenderedText {
  const heading =
    kind === 'open'
      ? 'Opened by nightshift.'
      : kind === 'resolve'
        ? `Resolved by nightshift at ${iso(o.updated_at)}: no new symptoms.`
        : `Updated by nightshift at ${iso(o.updated_at)}.`;
  const causes = o.root_causes.length > 0 ? o.root_causes.map(causeLine) : ['No root cause ranked yet.'];
  const evidence = (o.evidence ?? []).slice(0, MAX_EVIDENCE_LINES).map((e) => truncate(`${e.id}: ${evidenceLine(e)}`, 500));
  return { heading, facts: facts(o, severity), causes, evidence };
}

export function toPlainText(t: RenderedText): string {
  const ev = t.evidence.length > 0 ? ['', 'Evidence:', ...t.evidence.map((e) => `- ${e}`)] : [];
  return [t.heading, '', ...t.facts, '', 'Likely root causes:', ...t.causes.map((c) => `- ${c}`), ...ev].join('\n');
}

/** Atlassian Document Format (Jira Cloud v3 descriptions and comments). */
export interface AdfDoc {
  readonly type: 'doc';
  readonly version: 1;
  readonly content: readonly AdfBlock[];
}
type AdfText = { readonly type: 'text'; readonly text: string };
type AdfParagraph = { readonly type: 'paragraph'; readonly content: readonly AdfText[] };
type AdfBlock =
  | AdfParagraph
  | { readonly type: 'bulletList'; readonly content: ReadonlyArray<{ readonly type: 'listItem'; readonly content: readonly AdfParagraph[] }> };

// ADF rejects empty text nodes.
const para = (text: string): AdfParagraph => ({ type: 'paragraph', content: [{ type: 'text', text: text || ' ' }] });
const bullets = (items: readonly string[]): AdfBlock => ({
  type: 'bulletList',
  content: items.map((i) => ({ type: 'listItem', content: [para(i)] })),
});

export function toAdf(t: RenderedText): AdfDoc {
  const ev = t.evidence.length > 0 ? [para('Evidence:'), bullets(t.evidence)] : [];
  return { type: 'doc', version: 1, content: [para(t.heading), bullets(t.facts), para('Likely root causes:'), bullets(t.causes), ...ev] };
}
