import { IncidentOutput, type RootCause } from '../../schemas/index.js';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

export function cause(rank: number, service: string, kind: RootCause['kind'], confidence: number): RootCause {
  return { rank, service, kind, summary: `${kind} on ${service}`, confidence, evidence: [`sig_${service}_${kind}`] };
}

/** A valid output (checked against the schema), with overrides. */
export function output(id: string, over: Partial<IncidentOutput> = {}): IncidentOutput {
  return IncidentOutput.parse({
    incident_id: id,
    opened_at: T0,
    updated_at: T0,
    status: 'open',
    services: ['checkout', 'payments'],
    counts: { events: 120, alerts: 2, signals: 5 },
    root_causes: [cause(1, 'payments', 'latency', 0.5)],
    reasoner: 'ranker',
    ...over,
  });
}

/**
 * One incident's outputs over its life, as reasoning emits them:
 * v1 opened, v2 new top cause, v3 only more events (a ticket shows nothing new), v4 more alerts and services,
 * v5 resolved.
 */
export function lifecycle(id: string, startMin = 0): IncidentOutput[] {
  const at = (m: number): number => T0 + (startMin + m) * 60_000;
  const base = { opened_at: at(0) };
  return [
    output(id, { ...base, updated_at: at(0) }),
    output(id, { ...base, updated_at: at(2), counts: { events: 300, alerts: 2, signals: 7 }, root_causes: [cause(1, 'db', 'saturation', 0.6), cause(2, 'payments', 'latency', 0.3)] }),
    output(id, { ...base, updated_at: at(4), counts: { events: 500, alerts: 2, signals: 7 }, root_causes: [cause(1, 'db', 'saturation', 0.6), cause(2, 'payments', 'latency', 0.3)] }),
    output(id, {
      ...base,
      updated_at: at(6),
      services: ['checkout', 'db', 'payments'],
      counts: { events: 900, alerts: 6, signals: 11 },
      root_causes: [cause(1, 'db', 'saturation', 0.7), cause(2, 'payments', 'latency', 0.2)],
    }),
    output(id, {
      ...base,
      updated_at: at(20),
      status: 'resolved',
      services: ['checkout', 'db', 'payments'],
      counts: { events: 950, alerts: 6, signals: 11 },
      root_causes: [cause(1, 'db', 'saturation', 0.7), cause(2, 'payments', 'latency', 0.2)],
    }),
  ];
}

/** A noise incident: no alert, one service, so below the default `error` threshold. */
export function noise(id: string, startMin = 0): IncidentOutput[] {
  const at = (m: number): number => T0 + (startMin + m) * 60_000;
  const o = { opened_at: at(0), services: ['cdn'], counts: { events: 10, alerts: 0, signals: 1 }, root_causes: [cause(1, 'cdn', 'errors', 0.2)] };
  return [output(id, { ...o, updated_at: at(0) }), output(id, { ...o, updated_at: at(10), status: 'resolved' })];
}
