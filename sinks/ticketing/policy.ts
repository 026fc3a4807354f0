import { createHash } from 'node:crypto';
import type { IncidentOutput, Severity } from '../../schemas/index.js';
import type { SeverityRule, SeverityRules } from './config.js';
import type { TicketVersion } from './types.js';

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2, critical: 3 };

export function severityAtLeast(s: Severity, min: Severity): boolean {
  return RANK[s] >= RANK[min];
}

export function topConfidence(o: IncidentOutput): number {
  let best = 0;
  for (const c of o.root_causes) if (c.confidence > best) best = c.confidence;
  return best;
}

function holds(o: IncidentOutput, r: SeverityRule): boolean {
  return (
    o.services.length >= r.minServices &&
    o.counts.alerts >= r.minAlerts &&
    o.counts.signals >= r.minSignals &&
    topConfidence(o) >= r.minTopConfidence - 1e-12
  );
}

/** Derived from the output alone, so a replay derives the same severity. */
export function incidentSeverity(o: IncidentOutput, rules: SeverityRules): Severity {
  if (holds(o, rules.critical)) return 'critical';
  if (holds(o, rules.error)) return 'error';
  if (holds(o, rules.warning)) return 'warning';
  return 'info';
}

/** Causes below this confidence are too uncertain to be worth a note when they come and go. */
const NOTABLE_CONFIDENCE = 0.1;

/**
 * What a responder reads in a ticket: status, severity, the services involved, the top cause and its confidence in
 * tenths, and the other causes of at least 10% confidence. A new note is written only when this changes. Counts are
 * left out on purpose: alerts and events grow with nearly every output and would turn each into a note (every note
 * still shows the current counts).
 */
export function ticketDigest(o: IncidentOutput, severity: Severity): string {
  const [top, ...rest] = o.root_causes;
  const head = top ? [top.service, top.kind, Math.floor(top.confidence * 10 + 1e-9)] : null;
  const others = rest.filter((c) => c.confidence >= NOTABLE_CONFIDENCE).map((c) => `${c.service}/${c.kind}`);
  const text = JSON.stringify([o.status, severity, [...o.services].sort(), head, others]);
  return createHash('sha1').update(text).digest('hex').slice(0, 12);
}

export function versionOf(o: IncidentOutput, severity: Severity): TicketVersion {
  return { ts: o.updated_at, resolved: o.status === 'resolved', digest: ticketDigest(o, severity) };
}

/** `<updated_at>.<0|1>.<digest>`: short enough for ServiceNow's 100-character correlation_display. */
export function encodeVersion(v: TicketVersion): string {
  return `${v.ts}.${v.resolved ? 1 : 0}.${v.digest}`;
}

export function parseVersion(s: string | null | undefined): TicketVersion | null {
  if (typeof s !== 'string') return null;
  const m = /(\d{1,16})\.([01])\.([0-9a-f]{6,40})$/.exec(s);
  if (!m) return null;
  const ts = Number(m[1]);
  if (!Number.isSafeInteger(ts)) return null;
  return { ts, resolved: m[2] === '1', digest: m[3] as string };
}

export type VersionOrder = 'newer' | 'same' | 'stale';

/**
 * Whether `next` should be written to a ticket that holds `stored`. Event time orders outputs of one incident;
 * at equal time a resolve follows an open state. Unknown stored versions (a ticket nightshift cannot read back)
 * accept every update: the service's own key makes repeats harmless there.
 */
export function compareVersion(next: TicketVersion, stored: TicketVersion | null): VersionOrder {
  if (stored === null) return 'newer';
  if (next.digest === stored.digest && next.resolved === stored.resolved) return 'same';
  if (next.ts > stored.ts) return 'newer';
  if (next.ts < stored.ts) return 'stale';
  if (next.resolved !== stored.resolved) return next.resolved ? 'newer' : 'stale';
  return 'newer';
}
