import type { IncidentBundle } from '../schemas/index.js';

const MEASURED = new Set<string>(['metric_anomaly', 'red_latency', 'red_errors', 'red_rate', 'alert']);

/**
 * Services with measured support in a bundle: a series, span statistics or an alert of their own; a call edge on
 * which they are the callee; or a caller with a measured error, latency or dependency symptom calling them (a
 * datastore with no instrumentation of its own shows only in its callers). Text (log templates, change summaries)
 * never counts: anyone who can make a service log a line can write it, so it may support a cause but not name one.
 */
export function measuredServices(b: IncidentBundle): Set<string> {
  const s = new Set<string>();
  const failingCallers = new Set<string>();
  for (const x of b.signals) {
    if (!MEASURED.has(x.type)) continue;
    s.add(x.service);
    if (x.peer && x.type.startsWith('red_')) s.add(x.peer);
    // Only the caller's own spans: an alert or a metric on a gateway that calls everything would support every callee.
    if (x.type === 'red_errors' || x.type === 'red_latency') failingCallers.add(x.service);
  }
  for (const [from, to] of b.edges) if (failingCallers.has(from)) s.add(to);
  return s;
}
