import type { ChangeEvent, IncidentBundle, RootCause, RootCauseKind, Signal } from '../schemas/index.js';
import type { RankerConfig } from './config.js';
import { measuredServices } from './support.js';

/**
 * The deterministic topology ranker. Two ideas carry it:
 * - an anomalous service whose own dependencies are healthy explains its anomalous callers (symptoms flow upstream);
 * - a change on a service shortly before its first symptom is strong evidence.
 * It is the offline default and the fallback whenever the LLM is off, slow or wrong.
 */
interface Candidate {
  readonly service: string;
  evidence: number;
  /** Credit that came from client edges called by each service: evidence a caller's own slowness could explain. */
  readonly fromCaller: Map<string, number>;
  readonly kinds: Map<RootCauseKind, number>;
  readonly refs: Map<string, number>;
  firstSeen: number;
  change: ChangeEvent | null;
  ownSignals: number;
  /** Evidence from its own telemetry (not its callers' view of it), per kind. */
  readonly ownKinds: Map<RootCauseKind, number>;
}

function candidate(map: Map<string, Candidate>, service: string): Candidate {
  let c = map.get(service);
  if (!c) {
    c = { service, evidence: 0, fromCaller: new Map(), kinds: new Map(), refs: new Map(), firstSeen: Number.POSITIVE_INFINITY, change: null, ownSignals: 0, ownKinds: new Map() };
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
  if (own) {
    c.ownSignals++;
    c.ownKinds.set(kind, (c.ownKinds.get(kind) ?? 0) + amount);
  }
}

/** Own evidence of the given kinds (all kinds when omitted). */
function ownEvidence(c: Candidate, kinds?: readonly RootCauseKind[]): number {
  let sum = 0;
  for (const [k, v] of c.ownKinds) if (!kinds || kinds.includes(k)) sum += v;
  return sum;
}

/**
 * Deduplicate by evidence family keeping the strongest: a template firing 40 times, P90/P95/P99 of one latency, or
 * one metric on each pod of a service is one piece of evidence, not several.
 */
function strongestPerRef(signals: readonly Signal[]): Signal[] {
  const best = new Map<string, Signal>();
  for (const s of signals) {
    const key = `${s.service}\u0000${s.peer ?? ''}\u0000${s.side ?? ''}\u0000${s.family ?? s.ref}`;
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

/**
 * Anomalous services that call `root` through anomalous services only (bounded by the bundle's size). A path through
 * a healthy service explains nothing: counting every transitive caller made datastores and leaves win by position.
 */
function explainedCallers(root: string, callers: Map<string, Set<string>>, anomalous: Set<string>): number {
  const seen = new Set<string>([root]);
  const stack = [root];
  let n = 0;
  while (stack.length > 0) {
    const s = stack.pop()!;
    for (const c of callers.get(s) ?? []) {
      if (seen.has(c) || !anomalous.has(c)) continue;
      seen.add(c);
      n++;
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
  // A slow service that is also saturated or out of a resource: the saturation is the cause, the latency its effect
  // (its callers' edges add latency evidence for every kind of fault at it, so latency would always win on volume).
  // The same holds for errors: a pool or memory exhausted makes requests fail.
  if (best === 'latency' || best === 'errors') {
    const sat = c.kinds.get('saturation') ?? 0;
    const res = c.kinds.get('resource') ?? 0;
    const k = sat >= res ? 'saturation' : 'resource';
    const v = Math.max(sat, res);
    if (v >= 0.5 && v >= 0.2 * bestV) return k;
  }
  // Known only through its callers' view of it, failing (or nothing more specific): the service as a dependency
  // failed, with no telemetry of its own. Slow only through its callers' view stays latency (a network delay).
  if (c.ownSignals === 0 && (best === 'unknown' || best === 'errors')) return 'dependency';
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
  if (c.change) parts.push(`${c.change.change_kind} ${c.change.id} (${c.change.summary})${c.change.comparison && c.change.verdict === 'degraded' ? `; new instances worse: ${c.change.comparison}` : ''}`);
  if (explained > 0) parts.push(`explains ${explained} anomalous caller${explained === 1 ? '' : 's'}`);
  return parts.join('; ');
}

const NEUTRAL_MAGNITUDE = 1 + Math.log(3);
/** Kinds of a caller's own evidence that would make every call it makes look slow or failing. */
const STARVING: readonly RootCauseKind[] = ['saturation', 'resource'];

/** A signal's weight: its type's weight times its score, scaled by its magnitude where it measured one. */
function weightOf(s: Signal, cfg: RankerConfig): number {
  const w = cfg.typeWeights[s.type] * s.score;
  if (s.magnitude === undefined || cfg.magnitudeExponent === 0) return w;
  return w * Math.pow((1 + s.magnitude) / NEUTRAL_MAGNITUDE, cfg.magnitudeExponent);
}

export function rankRootCauses(bundle: IncidentBundle, cfg: RankerConfig): RootCause[] {
  const cands = new Map<string, Candidate>();
  const { deps, callers } = adjacency(bundle.edges);
  const clientEdges: Signal[] = [];
  /** Per callee, the callers whose own signals name it failing or slow (client spans, server edges, log text). */
  const seenFailing = new Map<string, Set<string>>();
  for (const s of strongestPerRef(bundle.signals)) {
    const w = weightOf(s, cfg);
    if (s.type === 'change') continue;
    // A caller's view of a callee failing or slow (a rate swing is not one).
    const callee = s.peer !== undefined && s.peer !== s.service && s.type !== 'red_rate' ? s.peer : undefined;
    if (callee !== undefined) {
      if (!seenFailing.has(callee)) seenFailing.set(callee, new Set());
      seenFailing.get(callee)!.add(s.service);
    }
    if (callee !== undefined && s.side === 'client') {
      clientEdges.push(s);
    } else if (s.peer && s.peer !== s.service) {
      // A call-edge signal on the callee's own spans: the caller observes the callee. Most of the blame goes to the callee.
      credit(candidate(cands, s.peer), s, w * cfg.edgeCalleeShare, s.hint, false);
      credit(candidate(cands, s.service), s, w * (1 - cfg.edgeCalleeShare), s.hint, true);
    } else {
      credit(candidate(cands, s.service), s, w, s.hint, true);
    }
  }
  // Own latency and errors of a service whose calls out are slow are inherited in the share its callees are blamed.
  const inheritedShare = attributeClientEdges(clientEdges, cands, deps, callers, cfg.callerViewsFromAllSignals ? seenFailing : new Map(), cfg);
  if (cands.size === 0) return [];

  const anomalous = new Set([...cands.values()].filter((c) => c.evidence > 0).map((c) => c.service));
  const earliest = Math.min(...[...cands.values()].map((c) => bundle.first_seen[c.service] ?? c.firstSeen));
  const latest = Math.max(...[...cands.values()].map((c) => bundle.first_seen[c.service] ?? c.firstSeen));

  // Changes are matched to candidates by service and time: before the first symptom, within the lookback.
  for (const ch of [...bundle.changes].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1))) {
    const c = cands.get(ch.service);
    // A release whose new instances behave like the old ones is not guilty, however close to the symptoms it came.
    if (!c || ch.verdict === 'healthy') continue;
    const first = bundle.first_seen[c.service] ?? c.firstSeen;
    if (ch.ts <= first + 60_000 && ch.ts >= first - cfg.changeLookbackMs) c.change = ch;
  }

  const scored = [...cands.values()].map((c) => {
    let score = c.evidence;
    const inh = inheritedShare.get(c.service);
    /** Share of this service's symptoms explained by a dependency (0: its own). */
    let inherited = 0;
    if (inh !== undefined) {
      // Measured: its calls out are slow, and that slowness is blamed on its callees in this share.
      const own = (c.kinds.get('latency') ?? 0) + (c.kinds.get('errors') ?? 0);
      score -= own * inh * (1 - cfg.inheritedPenalty);
      inherited = c.evidence > 0 ? (own / c.evidence) * inh : 0;
    } else {
      // No client-side view: a dependency with evidence of its own (not only what this service's calls to it
      // showed) makes this service's symptoms likely inherited.
      const failingDeps = [...(deps.get(c.service) ?? [])].filter((d) => {
        const dc = cands.get(d);
        return dc !== undefined && dc.evidence - (dc.fromCaller.get(c.service) ?? 0) >= cfg.independentEvidence;
      });
      if (failingDeps.length > 0) {
        score *= cfg.inheritedPenalty;
        // Only when its own signals name such a dependency is the link shown rather than assumed.
        if (failingDeps.some((d) => seenFailing.get(d)?.has(c.service) === true)) inherited = 1 - cfg.inheritedPenalty;
      }
    }
    const explained = explainedCallers(c.service, callers, anomalous);
    score *= 1 + cfg.explainsBonus * explained;
    const first = bundle.first_seen[c.service] ?? c.firstSeen;
    if (latest > earliest && Number.isFinite(first)) score *= 1 + cfg.timingBonus * ((latest - first) / (latest - earliest));
    // Measured guilt (new instances worse than old) is stronger evidence than timing alone.
    // A healthy-looking release on a service that only suffers its dependency's outage is timing, not guilt.
    if (c.change) {
      score *=
        c.change.verdict === 'degraded'
          ? cfg.changeBoost * cfg.degradedReleaseFactor
          : 1 + (cfg.changeBoost - 1) * (1 - cfg.inheritedChangeDiscount * inherited);
    }
    return { c, score: Math.max(0, score), explained };
  });
  scored.sort((a, b) => b.score - a.score || (a.c.service < b.c.service ? -1 : 1));
  const measured = measuredServices(bundle);
  const textOnly = (x: (typeof scored)[number]): boolean => !measured.has(x.c.service);
  const firstMeasured = scored.findIndex((x) => !textOnly(x));
  if (cfg.measuredFirst && firstMeasured > 0) {
    // Only the top is protected: a text-only candidate may follow at ranks 2-3 (labelled), since a root with no
    // telemetry of its own whose measured evidence was cut from the bundle is still better named than not.
    const [m] = scored.splice(firstMeasured, 1);
    scored.unshift(m!);
  }

  // Confidence: a tempered share of all candidates' scores, shrunk when the total evidence is thin.
  const powered = scored.map((x) => Math.pow(Math.max(x.score, 0), 1 / cfg.temperature));
  const total = powered.reduce((a, b) => a + b, 0);
  const strength = 1 - Math.exp(-scored.reduce((a, x) => a + x.c.evidence, 0));
  let cap = 1;
  return scored.slice(0, 3).map((x, i) => {
    const kind = dominantKind(x.c);
    const evidence = [...x.c.refs.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([ref]) => ref);
    if (x.c.change) evidence.unshift(x.c.change.id);
    // Never above the rank before it (a text-only candidate moved down keeps no more than what outranks it).
    const confidence = Math.min(cap, total > 0 ? Math.floor(((powered[i] ?? 0) / total) * strength * 1000) / 1000 : 0);
    cap = confidence;
    return {
      rank: i + 1,
      service: x.c.service,
      kind,
      summary: textOnly(x) ? `text evidence only: ${describe(x.c, kind, x.explained)}` : describe(x.c, kind, x.explained),
      confidence,
      evidence: evidence.slice(0, 8),
    };
  });
}

/**
 * Client-edge evidence (the caller's CLIENT spans to a callee are slow or failing) is shared between the two ends by
 * what else is seen:
 * - an edge whose callee has slow calls of its own further down is propagated: the cause is below, and the edges
 *   there carry the blame;
 * - otherwise the callee is blamed in proportion to how many of its known callers see it slow (a network delay or a
 *   slow callee shows to every caller), and the caller in proportion to how many of its known callees look slow
 *   from it (a CPU-starved caller makes every call it makes look slow, while each callee's other callers see it fine).
 * Returns, per caller with slow calls out, the share of that slowness blamed on others (1: all of it).
 */
function attributeClientEdges(
  edges: readonly Signal[],
  cands: Map<string, Candidate>,
  deps: Map<string, Set<string>>,
  callers: Map<string, Set<string>>,
  seenFailing: ReadonlyMap<string, ReadonlySet<string>>,
  cfg: RankerConfig,
): Map<string, number> {
  const outAnom = new Map<string, Set<string>>();
  const inAnom = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = e.service;
    const b = e.peer as string;
    if (!outAnom.has(a)) outAnom.set(a, new Set());
    outAnom.get(a)!.add(b);
    if (!inAnom.has(b)) inAnom.set(b, new Set());
    inAnom.get(b)!.add(a);
  }
  // Callers without traces still see a failing callee: their logs and server-side edges name it. Counted here, a
  // callee failing for every caller is not cleared by the silence of callers that export no client spans.
  for (const b of inAnom.keys()) for (const a of seenFailing.get(b) ?? []) inAnom.get(b)!.add(a);
  const known = (m: Map<string, Set<string>>, s: string, seen: Set<string> | undefined): number => {
    const n = new Set([...(m.get(s) ?? []), ...(seen ?? [])]);
    return Math.max(1, n.size);
  };
  const terminalOut = (a: string): number => [...(outAnom.get(a) ?? [])].filter((b) => (outAnom.get(b)?.size ?? 0) === 0).length;
  // Own evidence as it stood before any edge was shared out, so that the order of the edges does not matter.
  const ownAll = new Map<string, number>();
  const ownStarving = new Map<string, number>();
  for (const c of cands.values()) {
    ownAll.set(c.service, ownEvidence(c));
    ownStarving.set(c.service, ownEvidence(c, STARVING));
  }
  const blamedOnOthers = new Map<string, number[]>();
  for (const e of edges) {
    const a = e.service;
    const b = e.peer as string;
    const w = weightOf(e, cfg);
    const propagated = (outAnom.get(b)?.size ?? 0) > 0;
    let shareB: number;
    if (propagated) shareB = 1;
    else {
      // Each side's share of its edges that look slow, times how many slow edges it would explain alone: one cause
      // behind several slow calls is likelier than several callees failing at once (parsimony), so a caller slow
      // to most of its callees takes the blame even where each of them has no other caller to clear it.
      const nB = inAnom.get(b)?.size ?? 1;
      const nA = terminalOut(a);
      // Each end's own telemetry tilts it: a callee with evidence of its own (its own latency, errors, absence) is
      // likelier the cause; a caller is only when its own evidence is what starves every call it makes (saturation
      // or an exhausted resource), since its own errors and latency follow from either story.
      const tiltB = 1 + cfg.ownEvidenceTilt * (1 - Math.exp(-(ownAll.get(b) ?? 0)));
      const tiltA = 1 + cfg.ownEvidenceTilt * (1 - Math.exp(-(ownStarving.get(a) ?? 0)));
      const cB = (nB / known(callers, b, inAnom.get(b))) * nB * tiltB;
      const cA = (nA / known(deps, a, outAnom.get(a))) * nA * tiltA;
      shareB = cB / (cB + cA);
    }
    if (!blamedOnOthers.has(a)) blamedOnOthers.set(a, []);
    blamedOnOthers.get(a)!.push(shareB);
    if (propagated) {
      // The callee is slow because of its own calls: it gets a small part (it may also be slow itself); the rest
      // reaches the root through the edges below.
      credit(candidate(cands, b), e, w * cfg.propagatedShare, e.hint, false);
      continue;
    }
    const cb = candidate(cands, b);
    credit(cb, e, w * shareB, e.hint, false);
    cb.fromCaller.set(a, (cb.fromCaller.get(a) ?? 0) + w * shareB);
    // A caller blamed for its own calls: it is the one that is slow (CPU, GC, a full pool), whatever the hint.
    credit(candidate(cands, a), e, w * (1 - shareB), e.hint === 'latency' ? 'latency' : e.hint, true);
  }
  const out = new Map<string, number>();
  for (const [a, shares] of blamedOnOthers) out.set(a, shares.reduce((x, y) => x + y, 0) / shares.length);
  return out;
}
