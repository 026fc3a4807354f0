import type { FaultResult } from '../eval/metrics.js';
import { finalStates } from '../eval/metrics.js';
import type { GroundTruth, IncidentOutput } from '../schemas/index.js';

/** ISO 8601 in UTC to the second: a date a reader can paste into a query or a dashboard's time picker. */
export const isoTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * When each service first appeared among an incident's root causes: the moment on-call would have seen it named.
 * Keyed by incident id, then service.
 */
function firstNamed(outputs: readonly IncidentOutput[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const o of outputs) {
    let m = out.get(o.incident_id);
    if (!m) out.set(o.incident_id, (m = new Map()));
    for (const rc of o.root_causes) if (!m.has(rc.service)) m.set(rc.service, o.updated_at);
  }
  return out;
}

/** The faults whose true root was reported with a kind its kind does not map to, by incident id and service. */
function wrongKinds(perFault: readonly FaultResult[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of perFault) if (f.kind_correct === false && f.incident_id !== null) m.set(`${f.incident_id} ${f.service}`, f.kind);
  return m;
}

/** The incidents, oldest first, each with its top-3; a root cause of the wrong kind says what the truth's kind is. */
export function formatIncidents(outputs: readonly IncidentOutput[], perFault: readonly FaultResult[] = []): string {
  const named = firstNamed(outputs);
  const wrong = wrongKinds(perFault);
  let s = '';
  for (const inc of finalStates(outputs).sort((a, b) => a.opened_at - b.opened_at)) {
    s +=
      `\n${inc.incident_id} ${inc.status}, opened ${isoTime(inc.opened_at)}, last update ${isoTime(inc.updated_at)}: ` +
      `${inc.services.length} services, ${inc.counts.alerts} alerts, ${inc.counts.signals} signals\n`;
    for (const rc of inc.root_causes) {
      const at = named.get(inc.incident_id)?.get(rc.service);
      const truthKind = wrong.get(`${inc.incident_id} ${rc.service}`);
      const kind = truthKind === undefined ? `[${rc.kind}]` : `[${rc.kind}, WRONG KIND: the fault is ${truthKind}]`;
      s += `  #${rc.rank} ${rc.service} ${kind} ${(rc.confidence * 100).toFixed(0)}%, named ${at === undefined ? '?' : isoTime(at)}  ${rc.summary}\n`;
    }
  }
  return s;
}

/** One line per injected fault: when it ran, whether and when it was found, its root's rank, and a wrong kind. */
export function formatTruth(faults: readonly GroundTruth[], perFault: readonly FaultResult[], outputs: readonly IncidentOutput[]): string {
  const named = firstNamed(outputs);
  const byId = new Map(faults.map((f) => [f.fault_id, f]));
  let s = '\nground truth:\n';
  for (const f of perFault) {
    const t = byId.get(f.fault_id);
    const when = t ? ` ${isoTime(t.start)} to ${isoTime(t.end)}` : '';
    s += `  ${f.fault_id} ${f.kind} at ${f.service}${when}: `;
    if (!f.detected) {
      s += 'MISSED\n';
      continue;
    }
    const at = f.incident_id === null ? undefined : named.get(f.incident_id)?.get(f.service);
    const rank = f.rank === null ? 'root not in the top 3' : `root ranked #${f.rank}${at === undefined ? '' : ` (named ${isoTime(at)})`}`;
    const kind = f.kind_correct === false ? `; WRONG KIND: reported as ${f.predicted_kind ?? '?'}, the fault is ${f.kind}` : '';
    s += `found by ${f.incident_id ?? '?'} after ${Math.round((f.delay_ms ?? 0) / 1000)} s, ${rank}${kind}\n`;
  }
  return s;
}
