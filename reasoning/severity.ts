import type { IncidentBundle, IncidentSeverity, RootCause } from '../schemas/index.js';

/** What the severity rule reads of a bundle (kept per incident by the LLM stage, which re-rates with its own causes). */
export interface SeverityFacts {
  /** Strongest alert severity folded in (bundle details), or null. */
  readonly alert: 'critical' | 'error' | 'warning' | 'info' | null;
  readonly services: number;
  /** Strongest measured signal score (changes excluded), 0 without any. */
  readonly strongest: number;
}

const ALERT_RANK = { info: 0, warning: 1, error: 2, critical: 3 } as const;

export function severityFacts(b: IncidentBundle): SeverityFacts {
  let alert: SeverityFacts['alert'] = null;
  for (const a of Object.values(b.details?.alerts ?? {})) if (alert === null || ALERT_RANK[a.severity] > ALERT_RANK[alert]) alert = a.severity;
  let strongest = 0;
  for (const s of b.signals) if (s.type !== 'change' && s.score > strongest) strongest = s.score;
  return { alert, services: b.services.length, strongest };
}

/**
 * The incident's severity, the first rule that holds:
 *  - critical: a critical alert is folded in; or it spans at least 6 services with a measured signal of score
 *    >= 0.9 and a top cause of confidence >= 0.5;
 *  - high: an error alert is folded in; or at least 3 services with a signal >= 0.8; or a top cause of confidence
 *    >= 0.6 with a signal >= 0.9;
 *  - medium: a warning alert is folded in; or a measured signal >= 0.6;
 *  - low: anything else (weak or text-only evidence).
 * Alert severities are the producers' own judgement; the rest is the breadth and strength of what was measured.
 * Deterministic: it reads only the bundle and the causes.
 */
export function incidentSeverity(f: SeverityFacts, causes: readonly RootCause[]): IncidentSeverity {
  const top = causes[0]?.confidence ?? 0;
  if (f.alert === 'critical' || (f.services >= 6 && f.strongest >= 0.9 && top >= 0.5)) return 'critical';
  if (f.alert === 'error' || (f.services >= 3 && f.strongest >= 0.8) || (top >= 0.6 && f.strongest >= 0.9)) return 'high';
  if (f.alert === 'warning' || f.strongest >= 0.6) return 'medium';
  return 'low';
}
