import { RootCauseKind, type GroundTruth, type IncidentOutput, type TopologyFile } from '../schemas/index.js';

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
  /** Rank of the true root in the incident's final state (null: not in the top 3, or not found). */
  readonly rank: number | null;
  /**
   * Rank of the true root in what on-call saw at the end of the fault window: the incident's last output at or before
   * the fault's end (its first output when it opened later).
   */
  readonly rank_at_end: number | null;
  readonly predicted_top: string | null;
  /** The kind given to the true root (final state), and whether it is the kind the fault's kind maps to. */
  readonly predicted_kind: string | null;
  readonly kind_correct: boolean | null;
  readonly delay_ms: number | null;
  /** Incidents assigned to this fault (1 is right; more is a fault split into several incidents). */
  readonly incidents: number;
}

export interface ScenarioReport {
  readonly name: string;
  readonly faults: number;
  readonly detected: number;
  readonly incidents: number;
  readonly false_incidents: number;
  /** Incidents matched by more than one fault (the correlator lumped faults together). */
  readonly impure_incidents: number;
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

/**
 * The output kind a fault kind should be reported as. Simulator kinds are output kinds already; the rest are the
 * fault-injection vocabularies of public datasets (chaos tools' names), mapped to what a responder would call them.
 */
const KIND_MAP: Readonly<Record<string, readonly RootCauseKind[]>> = {
  cpu_contention: ['saturation'],
  cpu_consumed: ['saturation'],
  cpu: ['saturation'],
  memory: ['resource'],
  mem: ['resource'],
  disk: ['resource'],
  network_delay: ['latency'],
  delay: ['latency'],
  latency: ['latency'],
  network_loss: ['errors', 'latency'],
  loss: ['errors', 'latency'],
  return: ['errors'],
  exception: ['errors'],
  error: ['errors'],
  errors: ['errors'],
  pod_failure: ['errors', 'dependency'],
};

export function expectedKinds(faultKind: string): readonly RootCauseKind[] | null {
  const k = faultKind.toLowerCase();
  const own = RootCauseKind.safeParse(k);
  if (own.success) return [own.data];
  return KIND_MAP[k] ?? null;
}


/**
 * Scores incidents against faults. Each incident is assigned to at most one fault: among the faults whose window
 * ([start - earlySlack, end + lateSlack]) holds its opening and whose affected services it touches, the one that
 * started last before it opened (start - earlySlack; or, if it opened before them all, the earliest). So when faults come minutes apart,
 * the incident of the next fault is not also credited to the previous one. A fault is found when an incident is
 * assigned to it; incidents assigned to no fault are false incidents.
 */
export function scoreScenario(input: ScenarioInput, match: MatchOptions = DEFAULT_MATCH): ScenarioReport {
  const byId = new Map<string, IncidentOutput[]>();
  for (const o of input.outputs) {
    const l = byId.get(o.incident_id);
    if (l) l.push(o);
    else byId.set(o.incident_id, [o]);
  }
  const incidents = finalStates(input.outputs).sort((a, b) => a.opened_at - b.opened_at || (a.incident_id < b.incident_id ? -1 : 1));
  const faults = [...input.truth].sort((a, b) => a.start - b.start);
  const affected = faults.map((f) => affectedServices(f.service, input.topology));
  const assigned = new Map<number, IncidentOutput[]>();
  let impure = 0;
  for (const inc of incidents) {
    const fits: number[] = [];
    faults.forEach((f, i) => {
      const aff = affected[i];
      if (inc.opened_at < f.start - match.earlySlackMs || inc.opened_at > f.end + match.lateSlackMs) return;
      if (aff !== null && aff !== undefined && !inc.services.some((s) => aff.has(s))) return;
      fits.push(i);
    });
    if (fits.length === 0) continue;
    if (fits.length > 1) impure++;
    // Started, by the same early slack the window allows: a detector's bucket may begin a few seconds before the fault.
    const started = fits.filter((i) => (faults[i] as GroundTruth).start - match.earlySlackMs <= inc.opened_at);
    const pick = started.length > 0 ? (started[started.length - 1] as number) : (fits[0] as number);
    const l = assigned.get(pick);
    if (l) l.push(inc);
    else assigned.set(pick, [inc]);
  }
  const rankIn = (o: IncidentOutput | undefined, service: string): number | null => o?.root_causes.find((rc) => rc.service === service)?.rank ?? null;
  const better = (r: number | null, best: number | null): boolean => r !== null && (best === null || r < best);
  const perFault: FaultResult[] = faults.map((f, i) => {
    const cands = assigned.get(i) ?? [];
    let best: { inc: IncidentOutput; rank: number | null } | null = null;
    let bestAtEnd: number | null = null;
    for (const c of cands) {
      const r = rankIn(c, f.service);
      if (!best || better(r, best.rank)) best = { inc: c, rank: r };
      const hist = byId.get(c.incident_id) ?? [c];
      const seen = [...hist].reverse().find((o) => o.updated_at <= f.end) ?? hist[0];
      const re = rankIn(seen, f.service);
      if (better(re, bestAtEnd)) bestAtEnd = re;
    }
    const rc = best?.inc.root_causes.find((x) => x.service === f.service);
    const want = expectedKinds(f.kind);
    const first = cands[0];
    return {
      fault_id: f.fault_id,
      service: f.service,
      kind: f.kind,
      detected: best !== null,
      incident_id: best?.inc.incident_id ?? null,
      rank: best?.rank ?? null,
      rank_at_end: bestAtEnd,
      predicted_top: best?.inc.root_causes[0]?.service ?? null,
      predicted_kind: rc?.kind ?? null,
      kind_correct: rc === undefined || want === null ? null : want.includes(rc.kind),
      delay_ms: first ? first.opened_at - f.start : null,
      incidents: cands.length,
    };
  });
  const matchedIds = new Set([...assigned.values()].flatMap((l) => l.map((x) => x.incident_id)));
  return {
    name: input.name,
    faults: perFault.length,
    detected: perFault.filter((f) => f.detected).length,
    incidents: incidents.length,
    false_incidents: incidents.filter((i) => !matchedIds.has(i.incident_id)).length,
    impure_incidents: impure,
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
  /** Ranked at the end of each fault window (what on-call saw then), over all faults. */
  readonly ac_at_1_at_end: number;
  readonly ac_at_3_at_end: number;
  /** Of the faults whose root is in the top 3, the share reported with the right kind (kinds that map to an output kind). */
  readonly kind_accuracy: number | null;
  /** Incidents per found fault (1 is ideal), and the share of matched incidents that more than one fault's window claims. */
  readonly incidents_per_fault: number;
  readonly impure_incidents: number;
  readonly by_kind: Readonly<Record<string, { faults: number; recall: number; ac_at_1: number; ac_at_3: number; ac_at_1_at_end: number; ac_at_3_at_end: number }>>;
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
  const byKind: Record<string, { faults: number; recall: number; ac_at_1: number; ac_at_3: number; ac_at_1_at_end: number; ac_at_3_at_end: number }> = {};
  for (const kind of [...new Set(faults.map((f) => f.kind))].sort()) {
    const fk = faults.filter((f) => f.kind === kind);
    byKind[kind] = {
      faults: fk.length,
      recall: ratio(fk.filter((f) => f.detected).length, fk.length),
      ac_at_1: ratio(fk.filter((f) => f.rank === 1).length, fk.length),
      ac_at_3: ratio(fk.filter((f) => f.rank !== null && f.rank <= 3).length, fk.length),
      ac_at_1_at_end: ratio(fk.filter((f) => f.rank_at_end === 1).length, fk.length),
      ac_at_3_at_end: ratio(fk.filter((f) => f.rank_at_end !== null && f.rank_at_end <= 3).length, fk.length),
    };
  }
  const kinded = faults.filter((f) => f.kind_correct !== null);
  const found = faults.filter((f) => f.detected);
  return {
    scenarios: reports.length,
    faults: faults.length,
    fault_recall: ratio(faults.filter((f) => f.detected).length, faults.length),
    ac_at_1: ratio(faults.filter((f) => f.rank === 1).length, faults.length),
    ac_at_3: ratio(faults.filter((f) => f.rank !== null && f.rank <= 3).length, faults.length),
    ac_at_1_at_end: ratio(faults.filter((f) => f.rank_at_end === 1).length, faults.length),
    ac_at_3_at_end: ratio(faults.filter((f) => f.rank_at_end !== null && f.rank_at_end <= 3).length, faults.length),
    kind_accuracy: kinded.length === 0 ? null : ratio(kinded.filter((f) => f.kind_correct).length, kinded.length),
    incidents_per_fault: ratio(found.reduce((a, f) => a + f.incidents, 0), found.length),
    impure_incidents: sum((r) => r.impure_incidents),
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
