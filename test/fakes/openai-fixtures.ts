import type { IncidentBundle, RootCause, Signal } from '../../schemas/index.js';

export const T0 = 1_780_000_000_000;

/** A template signal with its template, as perception puts them in a bundle. */
export function tplSignal(service: string, text: string, ts: number, score = 0.8, hint: Signal['hint'] = 'errors'): { signal: Signal; template: IncidentBundle['templates'][number] } {
  const id = `tpl_${Buffer.from(`${service}:${text}`).toString('hex').slice(0, 16)}`;
  return {
    signal: { id: `sig_${id.slice(4)}`, ts, service, type: 'template_new', score, hint, summary: `new error log template in ${service}: ${text}`, ref: id },
    template: { id, service, template: text, level: 'error', count: 12, first_seen: ts },
  };
}

export function metricSignal(service: string, name: string, hint: Signal['hint'], ts: number, score = 0.9): { signal: Signal; series: IncidentBundle['series'][number] } {
  const id = `series_${Buffer.from(`${service}:${name}`).toString('hex').slice(0, 16)}`;
  return {
    signal: { id: `sig_${id.slice(7)}`, ts, service, type: 'metric_anomaly', score, hint, summary: `${service} ${name} = 9, expected 1`, ref: id },
    series: { id, service, name, baseline: 1, peak: 9 },
  };
}

export function alertSignal(service: string, name: string, summary: string, ts: number, hint: Signal['hint'] = 'errors'): Signal {
  const ref = `alertgrp_${Buffer.from(`${service}:${name}`).toString('hex').slice(0, 16)}`;
  return { id: `sig_${ref.slice(9)}`, ts, service, type: 'alert', score: 0.9, hint, summary: `critical alert ${name} on ${service}: ${summary}`, ref };
}

export interface BundleParts {
  id?: string;
  signals?: Signal[];
  templates?: IncidentBundle['templates'];
  series?: IncidentBundle['series'];
  changes?: IncidentBundle['changes'];
  edges?: [string, string][];
  services?: string[];
  updatedAt?: number;
  status?: IncidentBundle['status'];
}

export function makeBundle(p: BundleParts): IncidentBundle {
  const signals = p.signals ?? [];
  const first_seen: Record<string, number> = {};
  for (const s of signals) first_seen[s.service] = Math.min(first_seen[s.service] ?? Infinity, s.ts);
  const services = p.services ?? [...new Set([...signals.map((s) => s.service), ...(p.changes ?? []).map((c) => c.service)])].sort();
  return {
    incident_id: p.id ?? 'inc_test',
    opened_at: T0,
    updated_at: p.updatedAt ?? T0 + 300_000,
    status: p.status ?? 'open',
    services,
    counts: { events: 1000, alerts: 10, signals: signals.length },
    signals,
    templates: p.templates ?? [],
    series: p.series ?? [],
    changes: p.changes ?? [],
    edges: p.edges ?? [],
    first_seen,
    truncated: { signals: 0, templates: 0 },
  };
}

/**
 * A datastore outage as the simulator shows it: payments-db silent with a Down warning, payments-api logging refused
 * connections, the gateway paging. The ranker's candidates are given as it would name them.
 */
export function dbOutage(extra: { summarySuffix?: string; id?: string; updatedAt?: number } = {}): { bundle: IncidentBundle; ranked: RootCause[] } {
  const refused = tplSignal('payments-api', `java.net.ConnectException: Connection refused: payments-db/<*>${extra.summarySuffix ?? ''}`, T0 + 20_000);
  const gw = tplSignal('api-gateway', '<*> [error] <*>: upstream timed out (110: Connection timed out) while reading response header from upstream', T0 + 40_000);
  const down = alertSignal('payments-db', 'PostgresDown', 'payments-db is unreachable', T0 + 10_000);
  const page = alertSignal('api-gateway', 'HighErrorRate', 'High error rate on api-gateway', T0 + 60_000);
  const errs = metricSignal('payments-api', 'error_rate', 'errors', T0 + 30_000);
  const bundle = makeBundle({
    ...(extra.id ? { id: extra.id } : {}),
    ...(extra.updatedAt ? { updatedAt: extra.updatedAt } : {}),
    signals: [down, refused.signal, errs.signal, gw.signal, page],
    templates: [refused.template, gw.template],
    series: [errs.series],
    changes: [{ kind: 'change', id: 'deploy-aa11bb22cc', ts: T0 - 300_000, service: 'checkout-api', change_kind: 'deploy', summary: 'deploy checkout-api v2.4.1 (commit 3f9a1c2): release train', author: 'alice.chen' }],
    edges: [
      ['api-gateway', 'payments-api'],
      ['payments-api', 'payments-db'],
      ['api-gateway', 'checkout-api'],
    ],
    services: ['api-gateway', 'checkout-api', 'payments-api', 'payments-db'],
  });
  const ranked: RootCause[] = [
    { rank: 1, service: 'payments-db', kind: 'errors', summary: 'payments-db: errors rose; explains 2 anomalous callers', confidence: 0.8, evidence: [down.ref, refused.signal.ref] },
    { rank: 2, service: 'payments-api', kind: 'errors', summary: 'payments-api: errors rose', confidence: 0.12, evidence: [errs.signal.ref, refused.signal.ref] },
    { rank: 3, service: 'api-gateway', kind: 'errors', summary: 'api-gateway: errors rose', confidence: 0.05, evidence: [page.ref, gw.signal.ref] },
  ];
  return { bundle, ranked };
}
