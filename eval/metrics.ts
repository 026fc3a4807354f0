import type { GroundTruth, IncidentOutput, TopologyFile } from '../schemas/index.js';

/** How an incident is matched to a fault: overlapping in time (with slack) and sharing an affected service. */
export interface MatchOptions {
  /** An incident opened up to this long before the fault's start still matches (clock skew, early symptoms). */
  readonly earlySlackMs: number;
  /** An incident opened up to this long after the fault's end still matches (slow propagation, late detection). */
  readonly lateSlackMs: number;
}
export const DEFAULT_MATCH: MatchOptions = { earlySlackMs: 2 * 60_000, lateSlackMs: 10 * 60_000 };

export interface BundleStats {
  readonly emitted: number;
  readonly bytesTotal: number;
  readonly bytesMax: number;
}

export interface ScenarioInput {
  readonly name: string;
  readonly outputs: readonly IncidentOutput[];
  readonly truth: readonly GroundTruth[];
  readonly topology?: TopologyFile;
  readonly rawRecords: number;
  readonly rawAlerts: number;
  readonly bundles: BundleStats;
  readonly durationMs: number;
}

export interface FaultResult {
  readonly fault_id: string;
  readonly service: string;
  readonly kind: string;
  readonly detected: boolean;
  readonly incident_id: string | null;
  readonly rank: number | null;
  readonly predicted_top: string | null;
  readonly predicted_kind: string | null;
  readonly delay_ms: number | null;
}

export interface ScenarioReport {
  readonly name: string;
  readonly faults: number;
  readonly detected: number;
  readonly incidents: number;
  readonly false_incidents: number;
  readonly simulated_days: number;
  readonly raw_records: number;
  readonly raw_alerts: number;
  readonly bundles: BundleStats;
  readonly per_fault: readonly FaultResult[];
}

/** Final state per incident: the last line for each id wins. */
export function finalStates(outputs: readonly IncidentOutput[]): IncidentOutput[] {
  const last = new Map<string, IncidentOutput>();
  for (const o of outputs) last.set(o.incident_id, o);
  return [...last.values()];
}

/** The root plus every service that calls it, directly or transitively: where its fault can show. */
export function affectedServices(root: string, topology: TopologyFile | undefined): Set<string> | null {
  if (!topology) return null;
  const callers = new Map<string, string[]>();
  for (const s of topology.services) for (const d of s.depends_on ?? []) {
    if (!callers.has(d)) callers.set(d, []);
    callers.get(d)!.push(s.name);
  }
  const seen = new Set<string>([root]);
  const stack = [root];
  while (stack.length > 0) {
    for (const c of callers.get(stack.pop()!) ?? []) if (!seen.has(c)) {
      seen.add(c);
      stack.push(c);
    }
  }
  return seen;
}

export function scoreScenario(input: ScenarioInput, match: MatchOptions = DEFAULT_MATCH): ScenarioReport {
  const incidents = finalStates(input.outputs).sort((a, b) => a.opened_at - b.opened_at || (a.incident_id < b.incident_id ? -1 : 1));
  const matched = new Set<string>();
  const perFault: FaultResult[] = [];
  for (const f of [...input.truth].sort((a, b) => a.start - b.start)) {
    const affected = affectedServices(f.service, input.topology);
    const candidates = incidents.filter(
      (i) =>
        i.opened_at >= f.start - match.earlySlackMs &&
        i.opened_at <= f.end + match.lateSlackMs &&
        (affected === null || i.services.some((s) => affected.has(s))),
    );
    // One fault may be seen as several incidents (split by the correlator); all of them are true positives,
    // and the fault counts as found at its best-ranked one.
    for (const c of candidates) matched.add(c.incident_id);
    let best: { inc: IncidentOutput; rank: number | null } | null = null;
    for (const c of candidates) {
      const r = c.root_causes.find((rc) => rc.service === f.service)?.rank ?? null;
      if (!best || (r !== null && (best.rank === null || r < best.rank))) best = { inc: c, rank: r };
    }
    const first = candidates[0];
    perFault.push({
      fault_id: f.fault_id,
      service: f.service,
      kind: f.kind,
      detected: best !== null,
      incident_id: best?.inc.incident_id ?? null,
      rank: best?.rank ?? null,
      predicted_top: best?.inc.root_causes[0]?.service ?? null,
      predicted_kind: best?.inc.root_causes.find((rc) => rc.service === f.service)?.kind ?? null,
      delay_ms: first ? first.opened_at - f.start : null,
    });
  }
  return {
    name: input.name,
    faults: perFault.length,
    detected: perFault.filter((f) => f.detected).length,
    incidents: incidents.length,
    false_incidents: incidents.filter((i) => !matched.has(i.incident_id)).length,
    simulated_days: input.durationMs / 86_400_000,
    raw_records: input.rawRecords,
    raw_alerts: input.rawAlerts,
    bundles: input.bundles,
    per_fault: perFault,
  };
}

export interface Summary {
  readonly scenarios: number;
  readonly faults: number;
  readonly fault_recall: number;
  readonly ac_at_1: number;
  readonly ac_at_3: number;
  readonly incidents: number;
  readonly false_incidents: number;
  readonly false_incidents_per_day: number;
  readonly noise_reduction_alerts: number;
  readonly noise_reduction_records: number;
  readonly raw_alerts: number;
  readonly raw_records: number;
  readonly bundle_bytes_mean: number;
  readonly bundle_bytes_max: number;
  readonly bundle_tokens_mean: number;
  readonly detection_delay_p50_s: number | null;
  readonly detection_delay_p95_s: number | null;
  readonly by_kind: Readonly<Record<string, { faults: number; recall: number; ac_at_1: number; ac_at_3: number }>>;
}

function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? null;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** AC@k counts over ALL faults: a fault no incident found is a miss at every k. */
export function summarize(reports: readonly ScenarioReport[]): Summary {
  const faults = reports.flatMap((r) => r.per_fault);
  const sum = (f: (r: ScenarioReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
  const incidents = sum((r) => r.incidents);
  const rawAlerts = sum((r) => r.raw_alerts);
  const rawRecords = sum((r) => r.raw_records);
  const bundles = sum((r) => r.bundles.emitted);
  const bytes = sum((r) => r.bundles.bytesTotal);
  const days = sum((r) => r.simulated_days);
  const delays = faults.filter((f) => f.delay_ms !== null).map((f) => (f.delay_ms as number) / 1000);
  const byKind: Record<string, { faults: number; recall: number; ac_at_1: number; ac_at_3: number }> = {};
  for (const kind of [...new Set(faults.map((f) => f.kind))].sort()) {
    const fk = faults.filter((f) => f.kind === kind);
    byKind[kind] = {
      faults: fk.length,
      recall: ratio(fk.filter((f) => f.detected).length, fk.length),
      ac_at_1: ratio(fk.filter((f) => f.rank === 1).length, fk.length),
      ac_at_3: ratio(fk.filter((f) => f.rank !== null && f.rank <= 3).length, fk.length),
    };
  }
  return {
    scenarios: reports.length,
    faults: faults.length,
    fault_recall: ratio(faults.filter((f) => f.detected).length, faults.length),
    ac_at_1: ratio(faults.filter((f) => f.rank === 1).length, faults.length),
    ac_at_3: ratio(faults.filter((f) => f.rank !== null && f.rank <= 3).length, faults.length),
    incidents,
    false_incidents: sum((r) => r.false_incidents),
    false_incidents_per_day: ratio(sum((r) => r.false_incidents), days),
    noise_reduction_alerts: rawAlerts === 0 ? 0 : 1 - incidents / rawAlerts,
    noise_reduction_records: rawRecords === 0 ? 0 : 1 - bundles / rawRecords,
    raw_alerts: rawAlerts,
    raw_records: rawRecords,
    bundle_bytes_mean: ratio(bytes, bundles),
    bundle_bytes_max: reports.reduce((a, r) => Math.max(a, r.bundles.bytesMax), 0),
    // A common rule of thumb for English and JSON with OpenAI tokenizers: about 4 bytes a token.
    bundle_tokens_mean: ratio(bytes, bundles) / 4,
    detection_delay_p50_s: quantile(delays, 0.5),
    detection_delay_p95_s: quantile(delays, 0.95),
    by_kind: byKind,
  };
}
