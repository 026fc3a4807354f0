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
  const spansFail = new Set<string>();
  const measurablyFailing = new Set<string>();
  const named = new Map<string, Set<string>>();
  for (const x of b.signals) {
    if (x.peer) {
      let n = named.get(x.service);
      if (!n) named.set(x.service, (n = new Set()));
      n.add(x.peer);
    }
    if (!MEASURED.has(x.type)) continue;
    s.add(x.service);
    if (x.peer && x.type.startsWith('red_')) s.add(x.peer);
    if (x.type === 'red_errors' || x.type === 'red_latency') spansFail.add(x.service);
    if (x.hint === 'errors' || x.hint === 'latency' || x.hint === 'dependency') measurablyFailing.add(x.service);
  }
  // Over a call edge (measured: traces or the CMDB): a caller whose own spans fail, or a measurably failing caller
  // whose own signals name this callee (its logs say which call fails). Not any failing caller: a gateway that calls
  // everything would then support every service behind it.
  for (const [from, to] of b.edges) if (spansFail.has(from) || (measurablyFailing.has(from) && named.get(from)?.has(to))) s.add(to);
  return s;
}
