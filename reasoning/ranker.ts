import type { ChangeEvent, IncidentBundle, RootCause, RootCauseKind, Signal } from '../schemas/index.js';
import type { RankerConfig } from './config.js';

/**
 * The deterministic topology ranker. Two ideas carry it:
 * - an anomalous service whose own dependencies are healthy explains its anomalous callers (symptoms flow upstream);
 * - a change on a service shortly before its first symptom is strong evidence.
 * It is the offline default and the fallback whenever the LLM is off, slow or wrong.
 */
interface Candidate {
  readonly service: string;
  evidence: number;
  readonly kinds: Map<RootCauseKind, number>;
  readonly refs: Map<string, number>;
  firstSeen: number;
  change: ChangeEvent | null;
  ownSignals: number;
}

function candidate(map: Map<string, Candidate>, service: string): Candidate {
  let c = map.get(service);
  if (!c) {
    c = { service, evidence: 0, kinds: new Map(), refs: new Map(), firstSeen: Number.POSITIVE_INFINITY, change: null, ownSignals: 0 };
    map.set(service, c);
  }
  return c;
}

function credit(c: Candidate, s: Signal, amount: number, kind: RootCauseKind, own: boolean): void {
  if (amount <= 0) return;
  c.evidence += amount;
  c.kinds.set(kind, (c.kinds.get(kind) ?? 0) + amount);
  // Evidence ids: the signal's ref (template, series, alert group) is what a person can look up in the bundle.
  c.refs.set(s.ref, Math.max(c.refs.get(s.ref) ?? 0, amount));
  if (s.ts < c.firstSeen) c.firstSeen = s.ts;
  if (own) c.ownSignals++;
}

/** Deduplicate by ref keeping the strongest: a template firing 40 times is one piece of evidence, not 40. */
function strongestPerRef(signals: readonly Signal[]): Signal[] {
  const best = new Map<string, Signal>();
  for (const s of signals) {
    const key = `${s.service}\u0000${s.peer ?? ''}\u0000${s.ref}`;
    const prev = best.get(key);
    if (!prev || s.score > prev.score || (s.score === prev.score && s.ts < prev.ts)) best.set(key, s);
  }
  return [...best.values()];
}

/** Dependencies (callees) per service from the bundle's edges `[from, to]`: from calls to. */
function adjacency(edges: IncidentBundle['edges']): { deps: Map<string, Set<string>>; callers: Map<string, Set<string>> } {
  const deps = new Map<string, Set<string>>();
  const callers = new Map<string, Set<string>>();
  for (const [from, to] of edges) {
    if (from === to) continue;
    if (!deps.has(from)) deps.set(from, new Set());
    deps.get(from)!.add(to);
    if (!callers.has(to)) callers.set(to, new Set());
    callers.get(to)!.add(from);
  }
  return { deps, callers };
}

/** Anomalous services that transitively call `root` (bounded by the bundle's size). */
function explainedCallers(root: string, callers: Map<string, Set<string>>, anomalous: Set<string>): number {
  const seen = new Set<string>([root]);
  const stack = [root];
  let n = 0;
  while (stack.length > 0) {
    const s = stack.pop()!;
    for (const c of callers.get(s) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      if (anomalous.has(c)) n++;
      stack.push(c);
    }
  }
  return n;
}

function dominantKind(c: Candidate): RootCauseKind {
  if (c.change) return 'deploy';
  let best: RootCauseKind = 'unknown';
  let bestV = 0;
  for (const [k, v] of [...c.kinds.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (k === 'unknown' || k === 'deploy') continue;
    if (v > bestV) {
      best = k;
      bestV = v;
    }
  }
  // Known only through its callers' view of it: the service as a dependency failed, with no telemetry of its own.
  if (c.ownSignals === 0 && best === 'unknown') return 'dependency';
  return best;
}

function describe(c: Candidate, kind: RootCauseKind, explained: number): string {
  const parts: string[] = [];
  const what: Record<RootCauseKind, string> = {
    latency: 'latency rose',
    errors: 'errors rose',
    saturation: 'a resource is saturated',
    deploy: 'a change preceded the first symptom',
    resource: 'memory or another resource is exhausted',
    dependency: 'its callers see it failing',
    unknown: 'it is anomalous',
  };
  parts.push(`${c.service}: ${what[kind]}`);
  if (c.change) parts.push(`${c.change.change_kind} ${c.change.id} (${c.change.summary})`);
  if (explained > 0) parts.push(`explains ${explained} anomalous caller${explained === 1 ? '' : 's'}`);
  return parts.join('; ');
}

export function rankRootCauses(bundle: IncidentBundle, cfg: RankerConfig): RootCause[] {
  const cands = new Map<string, Candidate>();
  for (const s of strongestPerRef(bundle.signals)) {
    const w = cfg.typeWeights[s.type] * s.score;
    if (s.type === 'change') continue;
    if (s.peer && s.peer !== s.service) {
      // A call-edge signal: the caller observes the callee. Most of the blame goes to the callee.
      credit(candidate(cands, s.peer), s, w * cfg.edgeCalleeShare, s.hint, false);
      credit(candidate(cands, s.service), s, w * (1 - cfg.edgeCalleeShare), s.hint, true);
    } else {
      credit(candidate(cands, s.service), s, w, s.hint, true);
    }
  }
  if (cands.size === 0) return [];

  const anomalous = new Set([...cands.values()].filter((c) => c.evidence > 0).map((c) => c.service));
  const { deps, callers } = adjacency(bundle.edges);
  const earliest = Math.min(...[...cands.values()].map((c) => bundle.first_seen[c.service] ?? c.firstSeen));
  const latest = Math.max(...[...cands.values()].map((c) => bundle.first_seen[c.service] ?? c.firstSeen));

  // Changes are matched to candidates by service and time: before the first symptom, within the lookback.
  for (const ch of [...bundle.changes].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1))) {
    const c = cands.get(ch.service);
    if (!c) continue;
    const first = bundle.first_seen[c.service] ?? c.firstSeen;
    if (ch.ts <= first + 60_000 && ch.ts >= first - cfg.changeLookbackMs) c.change = ch;
  }

  const scored = [...cands.values()].map((c) => {
    let score = c.evidence;
    const ownDepsAnomalous = [...(deps.get(c.service) ?? [])].some((d) => anomalous.has(d));
    if (ownDepsAnomalous) score *= cfg.inheritedPenalty;
    const explained = explainedCallers(c.service, callers, anomalous);
    score *= 1 + cfg.explainsBonus * explained;
    const first = bundle.first_seen[c.service] ?? c.firstSeen;
    if (latest > earliest && Number.isFinite(first)) score *= 1 + cfg.timingBonus * ((latest - first) / (latest - earliest));
    if (c.change) score *= cfg.changeBoost;
    return { c, score, explained };
  });
  scored.sort((a, b) => b.score - a.score || (a.c.service < b.c.service ? -1 : 1));

  // Confidence: a tempered share of all candidates' scores, shrunk when the total evidence is thin.
  const powered = scored.map((x) => Math.pow(Math.max(x.score, 0), 1 / cfg.temperature));
  const total = powered.reduce((a, b) => a + b, 0);
  const strength = 1 - Math.exp(-scored.reduce((a, x) => a + x.c.evidence, 0));
  return scored.slice(0, 3).map((x, i) => {
    const kind = dominantKind(x.c);
    const evidence = [...x.c.refs.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([ref]) => ref);
    if (x.c.change) evidence.unshift(x.c.change.id);
    const confidence = total > 0 ? Math.floor(((powered[i] ?? 0) / total) * strength * 1000) / 1000 : 0;
    return {
      rank: i + 1,
      service: x.c.service,
      kind,
      summary: describe(x.c, kind, x.explained),
      confidence,
      evidence: evidence.slice(0, 8),
    };
  });
}
