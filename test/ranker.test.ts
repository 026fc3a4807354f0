import { describe, expect, it } from 'vitest';
import { RankerConfig } from '../reasoning/config.js';
import { rankRootCauses } from '../reasoning/ranker.js';
import { ReasoningStage, ReasoningConfig } from '../reasoning/stage.js';
import { IncidentOutput, type IncidentBundle, type Signal } from '../schemas/index.js';

const cfg = RankerConfig.parse({});
const T0 = 1_780_000_000_000;

function sig(service: string, type: Signal['type'], hint: Signal['hint'], ts: number, score = 0.9, peer?: string): Signal {
  return { id: `s-${service}-${type}-${ts}-${peer ?? ''}`, ts, service, type, score, hint, summary: `${type} on ${service}`, ref: `ref-${service}-${type}-${peer ?? ''}`, ...(peer ? { peer } : {}) };
}

function bundle(signals: Signal[], edges: [string, string][], extra: Partial<IncidentBundle> = {}): IncidentBundle {
  const first_seen: Record<string, number> = {};
  for (const s of signals) first_seen[s.service] = Math.min(first_seen[s.service] ?? Infinity, s.ts);
  return {
    incident_id: 'inc_1',
    opened_at: T0,
    updated_at: T0 + 600_000,
    status: 'open',
    services: [...new Set(signals.map((s) => s.service))].sort(),
    counts: { events: 100, alerts: 10, signals: signals.length },
    signals,
    templates: [],
    series: [],
    changes: [],
    edges,
    first_seen,
    truncated: { signals: 0, templates: 0 },
    ...extra,
  };
}

// web -> api -> db ; api -> cache
const EDGES: [string, string][] = [
  ['web', 'api'],
  ['api', 'db'],
  ['api', 'cache'],
];

describe('rankRootCauses', () => {
  it('ranks the anomalous service whose dependencies are healthy first, although its callers are louder', () => {
    const b = bundle(
      [
        sig('db', 'metric_anomaly', 'latency', T0, 0.7),
        sig('api', 'red_latency', 'latency', T0 + 30_000, 0.95),
        sig('api', 'template_new', 'errors', T0 + 40_000, 0.9),
        sig('web', 'alert', 'errors', T0 + 60_000, 1),
        sig('web', 'red_errors', 'errors', T0 + 60_000, 1),
        sig('web', 'template_new', 'errors', T0 + 70_000, 0.9),
      ],
      EDGES,
    );
    const rc = rankRootCauses(b, cfg);
    expect(rc[0]?.service).toBe('db');
    expect(rc[0]?.kind).toBe('latency');
    expect(rc.map((r) => r.rank)).toEqual([1, 2, 3]);
    expect(rc.reduce((a, r) => a + r.confidence, 0)).toBeLessThanOrEqual(1);
    for (const r of rc) expect(r.confidence).toBeGreaterThanOrEqual(0);
    expect(rc[0]!.confidence).toBeGreaterThan(rc[1]!.confidence);
    // Evidence ids are refs present in the bundle.
    const refs = new Set(b.signals.map((s) => s.ref));
    for (const r of rc) for (const e of r.evidence) expect(refs.has(e)).toBe(true);
  });

  it('blames a callee seen only through its callers’ edge signals, as a dependency', () => {
    const b = bundle(
      [sig('api', 'red_errors', 'errors', T0, 0.9, 'cache'), sig('web', 'red_errors', 'errors', T0 + 20_000, 0.9, 'api'), sig('web', 'alert', 'errors', T0 + 30_000)],
      EDGES,
    );
    const rc = rankRootCauses(b, cfg);
    expect(rc[0]?.service).toBe('cache');
  });

  it('a change on a service just before its first symptom makes it the deploy root cause', () => {
    const change = { kind: 'change' as const, id: 'deploy-42', ts: T0 - 120_000, service: 'api', change_kind: 'deploy' as const, summary: 'api v2.3.1' };
    const base = [sig('api', 'template_new', 'errors', T0, 0.8), sig('web', 'red_errors', 'errors', T0 + 30_000, 0.95), sig('db', 'metric_anomaly', 'saturation', T0 + 10_000, 0.6)];
    const without = rankRootCauses(bundle(base, EDGES), cfg);
    expect(without[0]?.service).toBe('db');
    const withChange = rankRootCauses(bundle(base, EDGES, { changes: [change] }), cfg);
    expect(withChange[0]?.service).toBe('api');
    expect(withChange[0]?.kind).toBe('deploy');
    expect(withChange[0]?.evidence[0]).toBe('deploy-42');
  });

  it('withholds the change boost from a service whose own signals name a failing dependency', () => {
    const change = { kind: 'change' as const, id: 'cfg-7', ts: T0 - 120_000, service: 'api', change_kind: 'config' as const, summary: 'api: raise timeout' };
    const signals = [
      { ...sig('api', 'metric_anomaly', 'errors', T0 + 20_000), magnitude: 5 },
      // api's own log says its calls to db fail; db has evidence of its own.
      sig('api', 'template_new', 'errors', T0 + 10_000, 0.8, 'db'),
      sig('db', 'metric_anomaly', 'errors', T0, 0.8),
      { ...sig('web', 'metric_anomaly', 'errors', T0 + 40_000), magnitude: 4 },
    ];
    const b = bundle(signals, EDGES, { changes: [change] });
    const rc = rankRootCauses(b, cfg);
    expect(rc[0]?.service).toBe('db');
    expect(rc[1]?.service).toBe('api');
    expect(rc[1]?.kind).toBe('deploy');
    // The full boost (the behaviour before) hands the outage to the release.
    expect(rankRootCauses(b, RankerConfig.parse({ inheritedChangeDiscount: 0 }))[0]?.service).toBe('api');
  });

  it('counts callers that name a callee in their logs as seeing it fail, not only callers with client spans', () => {
    // a -> b is the only traced call; c and d call b too and log that b fails.
    const edges: [string, string][] = [['a', 'b'], ['c', 'b'], ['d', 'b'], ['a', 'e'], ['a', 'f']];
    const signals = [
      { ...sig('a', 'red_errors', 'errors', T0, 0.9, 'b'), side: 'client' as const, magnitude: 6.9 },
      { ...sig('a', 'metric_anomaly', 'errors', T0), magnitude: 6.5 },
      { ...sig('a', 'metric_anomaly', 'errors', T0), magnitude: 6.5, ref: 'ref-a-ratio' },
      sig('a', 'alert', 'errors', T0),
      sig('c', 'template_new', 'errors', T0 + 10_000, 0.8, 'b'),
      sig('d', 'template_new', 'errors', T0 + 10_000, 0.8, 'b'),
    ];
    const b = bundle(signals, edges);
    const rc = rankRootCauses(b, cfg);
    expect(rc[0]?.service).toBe('b');
    expect(rc[0]?.kind).toBe('dependency');
    // Judged by traced callers only, b looks fine to c and d, and a takes the blame for its own failing calls.
    expect(rankRootCauses(b, RankerConfig.parse({ callerViewsFromAllSignals: false }))[0]?.service).toBe('a');
  });

  it('tilts a failing call toward the end with evidence of its own', () => {
    // a's one dependency b fails from a's side; b's other caller x exports nothing. Who is at fault shows in each
    // end's own telemetry: b stopped reporting (own evidence) in one case, a's CPU is saturated in the other.
    const edges: [string, string][] = [['a', 'b'], ['x', 'b'], ['web', 'a']];
    const edge = { ...sig('a', 'red_errors', 'errors', T0, 0.9, 'b'), side: 'client' as const, magnitude: 6.9 };
    const aOwn = { ...sig('a', 'metric_anomaly', 'errors', T0), magnitude: 2 };
    const off = RankerConfig.parse({ ownEvidenceTilt: 0 });
    const bSilent = bundle([edge, aOwn, sig('b', 'metric_anomaly', 'errors', T0, 0.8)], edges);
    expect(rankRootCauses(bSilent, cfg)[0]?.service).toBe('b');
    expect(rankRootCauses(bSilent, off)[0]?.service).toBe('a');
    const aStarved = bundle([edge, aOwn, { ...sig('a', 'metric_anomaly', 'saturation', T0 + 5_000), magnitude: 2, ref: 'ref-a-cpu' }, sig('b', 'metric_anomaly', 'errors', T0, 0.8)], edges);
    const share = (b: IncidentBundle, c: RankerConfig): number => rankRootCauses(b, c).find((r) => r.service === 'a')?.confidence ?? 0;
    expect(share(aStarved, cfg)).toBeGreaterThan(share(bSilent, cfg));
    // The saturated caller takes more of its failing calls with the tilt than without it.
    expect(share(aStarved, cfg)).toBeGreaterThan(share(aStarved, off));
    expect(rankRootCauses(aStarved, cfg)[0]?.service).toBe('a');
  });

  it('ignores a change long before the first symptom', () => {
    const change = { kind: 'change' as const, id: 'deploy-old', ts: T0 - 3 * 3600_000, service: 'api', change_kind: 'deploy' as const, summary: 'old' };
    const rc = rankRootCauses(bundle([sig('api', 'template_new', 'errors', T0, 0.8)], EDGES, { changes: [change] }), cfg);
    expect(rc[0]?.kind).toBe('errors');
  });

  it('returns nothing for an empty bundle and is deterministic', () => {
    expect(rankRootCauses(bundle([], EDGES), cfg)).toEqual([]);
    const b = bundle([sig('x', 'metric_anomaly', 'resource', T0), sig('y', 'metric_anomaly', 'resource', T0)], []);
    expect(rankRootCauses(b, cfg)).toEqual(rankRootCauses(structuredClone(b), cfg));
  });
});

describe('ReasoningStage', () => {
  it('emits valid output-contract lines and suppresses unchanged repeats', () => {
    const st = new ReasoningStage(ReasoningConfig.parse({}));
    const out: IncidentOutput[] = [];
    const em = { emit: (o: IncidentOutput) => out.push(o) };
    const b = bundle([sig('db', 'metric_anomaly', 'latency', T0)], EDGES);
    st.process(b, em);
    st.process({ ...b, updated_at: b.updated_at + 1000 }, em);
    st.process({ ...b, status: 'resolved' }, em);
    expect(out).toHaveLength(2);
    for (const o of out) expect(IncidentOutput.safeParse(o).success).toBe(true);
    expect(out[1]?.status).toBe('resolved');
    expect(st.counters.snapshot().dropped).toEqual({ unchanged: 1 });
  });
});

describe('signal magnitude', () => {
  // web calls two leaves; both look slow from web, one 200-fold and one 3-fold, with the same saturated score.
  const edges: [string, string][] = [
    ['web', 'pay'],
    ['web', 'fx'],
  ];
  const client = (peer: string, magnitude: number): Signal => ({ ...sig('web', 'metric_anomaly', 'latency', T0, 0.9, peer), side: 'client', magnitude });
  const b = bundle([client('pay', Math.log(200)), client('fx', Math.log(3))], edges);

  const order = (bb: IncidentBundle, c: RankerConfig): string[] => rankRootCauses(bb, c).map((r) => r.service).filter((s) => s !== 'web');

  it('a 200x slowdown outweighs a 3x one with the same score', () => {
    expect(order(b, cfg)).toEqual(['pay', 'fx']);
    // Reversed magnitudes reverse the order: it is the magnitude, not the name, that decides.
    const flipped = bundle([client('pay', Math.log(3)), client('fx', Math.log(200))], edges);
    expect(order(flipped, cfg)).toEqual(['fx', 'pay']);
  });

  it('magnitudeExponent 0 turns it off (equal evidence, ties broken by name)', () => {
    const off = RankerConfig.parse({ magnitudeExponent: 0 });
    expect(order(b, off)).toEqual(['fx', 'pay']);
    const r = rankRootCauses(b, off).filter((x) => x.service !== 'web');
    expect(r[0]!.confidence).toBe(r[1]!.confidence);
  });
});
