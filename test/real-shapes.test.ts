/**
 * One test per defect class found on real recordings (issue 10), each on a small hand-made input. Every one of them
 * failed before the change it tests.
 */
import { describe, expect, it } from 'vitest';
import { AlertsConfig, CorrelatorConfig, LogsConfig, MetricsConfig, RedConfig } from '../perception/config.js';
import { Correlator } from '../perception/correlator.js';
import { buildBundle } from '../perception/bundle.js';
import { changeSignalOf, type Incident } from '../perception/incident.js';
import { LogPerception } from '../perception/logs.js';
import { seriesFamily, seriesMeaning } from '../perception/meaning.js';
import { MetricPerception, bucketQuantile } from '../perception/metrics.js';
import { RedPerception } from '../perception/red.js';
import { Topology } from '../perception/topology.js';
import { makeSignal } from '../perception/util.js';
import { DEFAULT_VERSION_CONFIG, VersionTracker } from '../perception/versions.js';
import { AlertPerception } from '../perception/alerts.js';
import { RankerConfig } from '../reasoning/config.js';
import { rankRootCauses } from '../reasoning/ranker.js';
import type { Alert, ChangeEvent, IncidentBundle, Signal, Span } from '../schemas/index.js';
import { IngestConfig, parseRecord } from '../ingest/index.js';
import { MIN, T0, alert, log, metric, rng, span } from './perception-fixtures.js';

const ranker = RankerConfig.parse({});

// front -> {cart, pay, ship}; checkout -> {cart, pay, email}; front -> checkout
const SHOP = {
  services: [
    { name: 'front', depends_on: ['cart', 'pay', 'ship', 'checkout'] },
    { name: 'checkout', depends_on: ['cart', 'pay', 'email'] },
    { name: 'cart' },
    { name: 'pay' },
    { name: 'ship' },
    { name: 'email' },
  ],
};

function sig(service: string, ts: number, ref: string, opts: Partial<Signal> = {}): Signal {
  return makeSignal({ type: 'metric_anomaly', ts, service, score: 0.9, hint: 'latency', summary: `${service} ${ref}`, ref, ...opts });
}

/** A bundle of these signals: services from the signals (both ends of edges), the rest as given. */
function bundleOf(signals: Signal[], extra: Partial<IncidentBundle> = {}): IncidentBundle {
  return {
    incident_id: 'i',
    opened_at: T0,
    updated_at: T0,
    status: 'open',
    services: [...new Set(signals.flatMap((x) => [x.service, x.peer ?? x.service]))].sort(),
    counts: { events: 1, alerts: 0, signals: signals.length },
    signals,
    templates: [],
    series: [],
    changes: [],
    edges: [],
    first_seen: {},
    truncated: { signals: 0, templates: 0 },
    ...extra,
  };
}

class Harness {
  readonly c: Correlator;
  readonly opened: Incident[] = [];
  wm = 0;
  constructor(cfg: Partial<CorrelatorConfig> = {}) {
    this.c = new Correlator(CorrelatorConfig.parse(cfg), new Topology(SHOP));
  }
  at(ts: number): void {
    this.wm = Math.max(this.wm, ts);
    this.c.advance(this.wm, MIN);
    for (const d of this.c.drain()) if (d.transition === 'opened') this.opened.push(d.incident);
  }
  add(s: Signal): void {
    this.at(s.ts);
    this.c.addSymptom(s);
    this.at(s.ts);
  }
}

/** A client/server call pair with separate durations: the caller's CLIENT span and the callee's SERVER span. */
function callPair(caller: string, callee: string, ts: number, trace: string, clientMs: number, serverMs: number): Span[] {
  return [span(callee, ts, trace, `${trace}-s`, `${trace}-c`, 'server', serverMs), span(caller, ts, trace, `${trace}-c`, undefined, 'client', clientMs, 'ok', `call ${callee}`)];
}

describe('1. snowballing incidents and frozen bundles', () => {
  it('two faults minutes apart on one service become two incidents, although background anomalies go on', () => {
    const h = new Harness();
    // Fault A on cart: two families at once.
    h.add(sig('cart', T0, 'cart-lat'));
    h.add(sig('cart', T0 + 10_000, 'cart-cpu', { hint: 'saturation' }));
    // Steady background: a traffic swing on front every minute (weak) keeps nothing alive.
    for (let m = 1; m <= 12; m++) h.add(sig('front', T0 + m * MIN, 'front-rate', { hint: 'unknown' }));
    // Fault B on cart, 8 minutes later: new families.
    h.add(sig('cart', T0 + 8 * MIN, 'cart-errors', { hint: 'errors' }));
    h.add(sig('cart', T0 + 8 * MIN + 10_000, 'cart-p99', { hint: 'latency' }));
    expect(h.opened).toHaveLength(2);
    expect(h.opened[1]!.openedAt).toBeGreaterThanOrEqual(T0 + 8 * MIN);
    // The first one resolved: its last strong symptom was at T0 + 10 s.
    expect(h.c.stats().resolved).toBeGreaterThanOrEqual(1);
  });

  it("two siblings' unrelated blips do not open an incident together; a root and its caller do", () => {
    const blips = (h: Harness): void => {
      // email and pay are both called by checkout (two hops apart), each a noisy series of its own.
      h.add(sig('email', T0, 'email-p99'));
      h.add(sig('pay', T0 + MIN, 'pay-p99'));
    };
    const loose = new Harness();
    blips(loose);
    expect(loose.opened).toHaveLength(1);
    const h = new Harness({ openExplainedOnly: true });
    blips(h);
    expect(h.opened).toHaveLength(0);
    // checkout, which calls both, gets slow too: one root (either of them, with checkout its caller) explains two of
    // the three; the other sibling is not part of the opening core (it may still join as nearby evidence).
    h.add(sig('checkout', T0 + 2 * MIN, 'checkout-p99'));
    expect(h.opened).toHaveLength(1);
    const core = [...h.opened[0]!.core].sort();
    expect(core).toHaveLength(2);
    expect(core).toContain('checkout');
  });

  it("with explained-only opening, a starved caller's slow calls to several callees still open an incident", () => {
    const h = new Harness({ openExplainedOnly: true });
    h.add(sig('checkout', T0, 'cp', { type: 'red_latency', peer: 'pay', side: 'client' }));
    h.add(sig('checkout', T0 + 1000, 'ce', { type: 'red_latency', peer: 'email', side: 'client' }));
    expect(h.opened).toHaveLength(1);
  });

  it('a caller slow to some other service is a new onset, not more of the open fault', () => {
    const h = new Harness();
    h.add(sig('checkout', T0, 'cc', { type: 'red_latency', peer: 'cart', side: 'client' }));
    h.add(sig('front', T0 + 5000, 'fc', { type: 'red_latency', peer: 'cart', side: 'client' }));
    // A memory anomaly of cart persists (its family keeps the incident alive) ...
    for (const m of [2, 4, 6]) h.add(sig('cart', T0 + m * MIN, 'cart-mem', { hint: 'resource' }));
    // ... when checkout gets slow to payment and email (checkout's own fault).
    h.add(sig('checkout', T0 + 7 * MIN, 'cp', { type: 'red_latency', peer: 'pay', side: 'client' }));
    h.add(sig('checkout', T0 + 7 * MIN + 1000, 'ce', { type: 'red_latency', peer: 'email', side: 'client' }));
    expect(h.opened).toHaveLength(2);
    expect([...h.opened[1]!.core].sort()).toEqual(['email', 'pay']);
  });

  it('an anomaly that starts at the core minutes after the fault opened does not hold the door open for the next fault', () => {
    const h = new Harness();
    h.add(sig('checkout', T0, 'cc', { type: 'red_latency', peer: 'cart', side: 'client' }));
    h.add(sig('front', T0 + 5000, 'fc', { type: 'red_latency', peer: 'cart', side: 'client' }));
    // The fault goes on (its slow calls persist) ...
    for (const m of [2, 4]) h.add(sig('checkout', T0 + m * MIN, 'cc', { type: 'red_latency', peer: 'cart', side: 'client' }));
    // ... memory of cart rises only five minutes in and stays up (a new family at the core, strong, after the spread) ...
    for (const m of [5, 6, 7]) h.add(sig('cart', T0 + m * MIN, 'cart-mem', { hint: 'resource' }));
    // ... and checkout's own fault begins: slow to payment and email, which a fault in cart does not explain.
    h.add(sig('checkout', T0 + 7 * MIN + 30_000, 'cp', { type: 'red_latency', peer: 'pay', side: 'client' }));
    h.add(sig('checkout', T0 + 7 * MIN + 31_000, 'ce', { type: 'red_latency', peer: 'email', side: 'client' }));
    expect(h.opened).toHaveLength(2);
    expect([...h.opened[1]!.core].sort()).toEqual(['email', 'pay']);
    // The memory anomaly itself is the cart incident's (its core): it joined and kept it alive.
    expect(h.opened[0]!.best.has('cart-mem')).toBe(true);
  });

  it('the bundle carries the newest strong evidence first, whatever older scores were', () => {
    const best = new Map<string, Signal>();
    // An hour of old evidence at the score cap, then nine new strong anomalies at the root (scores a bit lower).
    for (let i = 0; i < 200; i++) best.set(`old-${i}`, sig(`svc${i % 5}`, T0 + i * 10_000, `old-${i}`, { score: 0.9, summary: 'x'.repeat(100) }));
    for (let i = 0; i < 9; i++) best.set(`new-${i}`, sig('root', T0 + 3600_000 + i * 1000, `new-${i}`, { score: 0.85 }));
    const inc = {
      seq: 0, id: 'inc', openedAt: T0, status: 'open', firstSymptom: T0, lastSymptom: T0 + 3600_000, services: new Set(['root', 'svc0']),
      core: new Set(['root']), seed: new Set(['root']), lastStrong: T0, familyLast: new Map(), lastGrowth: T0,
      best, changes: new Map(), firstSeen: new Map(), counts: { events: 1, alerts: 0, signals: 209 }, capped: 0, dirty: false, lastEmit: undefined,
    } as Incident;
    const src = { topology: new Topology(SHOP), template: () => undefined, series: () => undefined };
    const b = buildBundle(inc, T0 + 3600_000 + 10_000, src, { maxBytes: 4096, maxChanges: 5, maxEdges: 5, recentMs: 10 * MIN });
    expect(b.signals.filter((s) => s.service === 'root')).toHaveLength(9);
    // Without recency (everything "old"), the capped old scores fill the budget and none of the new ones fit.
    const frozen = buildBundle(inc, T0 + 3600_000 + 10_000, src, { maxBytes: 4096, maxChanges: 5, maxEdges: 5, recentMs: 1 });
    expect(frozen.signals.filter((s) => s.service === 'root')).toHaveLength(0);
  });
});

describe('2. network delay shows only on the caller side', () => {
  it("a delay between two services makes a client-edge signal naming both, while the callee's own spans stay fast", () => {
    const topo = new Topology(SHOP);
    const red = new RedPerception(RedConfig.parse({}), topo);
    const r = rng(7);
    const sigs: Signal[] = [];
    let n = 0;
    for (let m = 0; m < 40; m++) {
      const delayed = m >= 30;
      for (let k = 0; k < 25; k++) {
        const ts = T0 + m * MIN + k * 2400;
        for (const s of callPair('front', 'cart', ts, `t${n++}`, (delayed ? 1250 : 44) + r() * 3, 42 + r() * 3)) sigs.push(...red.observe(s));
      }
    }
    sigs.push(...red.flush());
    const client = sigs.filter((s) => s.type === 'red_latency' && s.side === 'client');
    expect(client.length).toBeGreaterThanOrEqual(1);
    for (const c of client) expect(c).toMatchObject({ service: 'front', peer: 'cart' });
    // Both views of the caller's calls: their duration and, sooner, their network time.
    expect(client.some((c) => /front -> cart as the caller sees them \(cart or the network between\)/.test(c.summary))).toBe(true);
    expect(client.some((c) => /front -> cart, time outside cart's own spans/.test(c.summary))).toBe(true);
    // The callee's own (server) spans never moved: no server-side latency signal.
    expect(sigs.filter((s) => s.type === 'red_latency' && s.side !== 'client')).toHaveLength(0);
  });

  it("a network delay hidden in a slow callee's variance shows in the calls' network time (client minus server)", () => {
    // checkout's own work takes 100-700 ms; from minute 30 each call spends 230 ms more on the network (real: a p50 of
    // ~200 ms becoming ~430 ms at the caller over 6-9 calls a bucket, the callee's spans unchanged).
    const run = (cfg: Partial<RedConfig>): Signal[] => {
      const red = new RedPerception(RedConfig.parse(cfg), new Topology(SHOP));
      const r = rng(11);
      const out: Signal[] = [];
      let n = 0;
      for (let m = 0; m < 40; m++) {
        for (let k = 0; k < 14; k++) {
          const work = 100 + r() * 600;
          const net = (m >= 30 ? 230 : 4) + r() * 2;
          for (const s of callPair('front', 'checkout', T0 + m * MIN + k * 4200, `t${n++}`, work + net, work)) out.push(...red.observe(s));
        }
      }
      return [...out, ...red.flush()];
    };
    const sigs = run({});
    const network = sigs.filter((s) => s.type === 'red_latency' && /time outside checkout's own spans/.test(s.summary));
    expect(network.length).toBeGreaterThanOrEqual(1);
    expect(network[0]).toMatchObject({ service: 'front', peer: 'checkout', side: 'client', hint: 'latency' });
    expect(network[0]!.ts).toBeGreaterThanOrEqual(T0 + 30 * MIN);
    // One family with the client edge's latency: the same calls are one piece of evidence.
    expect(network[0]!.family).toBeDefined();
    // The caller's p95 of the same calls does not see it: the callee's own variance hides it.
    expect(sigs.filter((s) => s.type === 'red_latency' && !/time outside/.test(s.summary))).toHaveLength(0);
    // Without network time the delay is invisible.
    expect(run({ networkTime: false }).filter((s) => s.type === 'red_latency')).toHaveLength(0);
  });

  it('the ranker blames the callee every caller sees slow, and a caller slow to all its callees', () => {
    const edge = (a: string, b: string): Signal => sig(a, T0, `${a}=>${b}`, { type: 'red_latency', peer: b, side: 'client' });
    const edges = SHOP.services.flatMap((x) => (x.depends_on ?? []).map((d) => [x.name, d] as [string, string]));
    const bundle = (signals: Signal[]): IncidentBundle => bundleOf(signals, { edges });
    // Network delay to cart: both of its callers see it; checkout's slowness to front is propagated.
    const net = rankRootCauses(bundle([edge('front', 'cart'), edge('checkout', 'cart'), edge('front', 'checkout')]), ranker);
    expect(net[0]?.service).toBe('cart');
    expect(net[0]?.kind).toBe('latency');
    // CPU starvation of checkout: its calls to every callee are slow, and those callees' other callers see them fine.
    const cpu = rankRootCauses(bundle([edge('checkout', 'cart'), edge('checkout', 'pay'), edge('checkout', 'email'), edge('front', 'checkout')]), ranker);
    expect(cpu[0]?.service).toBe('checkout');
  });

  it('a caller slow to several callees is blamed, also where a callee has no other caller to clear it', () => {
    const edge = (a: string, b: string): Signal => sig(a, T0, `${a}=>${b}`, { type: 'red_latency', peer: b, side: 'client' });
    const edges = SHOP.services.flatMap((x) => (x.depends_on ?? []).map((d) => [x.name, d] as [string, string]));
    // front (4 callees) is CPU-starved: two of its calls look slow; ship has front as its only caller, pay has
    // checkout too. Two callees failing at once is the less likely story.
    const rc = rankRootCauses(bundleOf([edge('front', 'pay'), edge('front', 'ship')], { edges }), ranker);
    expect(rc[0]?.service).toBe('front');
    // One slow call of such a caller is still the callee's (its other calls are fine).
    const one = rankRootCauses(bundleOf([edge('front', 'ship')], { edges }), ranker);
    expect(one[0]?.service).toBe('ship');
  });
});

describe('3. meaning from data, not names', () => {
  it('reads semantic conventions, units and nouns', () => {
    expect(seriesMeaning('http.server.request.duration', 's')).toMatchObject({ kind: 'latency', direction: 'up', source: 'semconv' });
    expect(seriesMeaning('SuccessRate', '%')).toMatchObject({ kind: 'errors', direction: 'down' });
    expect(seriesMeaning('FrontSuccessRate(%)')).toMatchObject({ kind: 'errors', direction: 'down', source: 'unit' });
    expect(seriesMeaning('CpuUsageRate(%)')).toMatchObject({ kind: 'saturation', direction: 'up' });
    expect(seriesMeaning('PodClientLatencyP90(s)')).toMatchObject({ kind: 'latency', direction: 'up', source: 'unit' });
    expect(seriesMeaning('grpc-mrt')).toMatchObject({ kind: 'latency', direction: 'up' });
    expect(seriesMeaning('container_memory_working_set', 'By')).toMatchObject({ kind: 'resource', direction: 'up' });
    expect(seriesMeaning('NetworkReceiveBytes', 'By')).toMatchObject({ kind: 'unknown', direction: 'both' });
    expect(seriesMeaning('system.cpu.utilization', '1')).toMatchObject({ kind: 'saturation', source: 'semconv' });
  });

  it('a success rate dropping from 100% to 33% is an errors symptom strong enough to open an incident', () => {
    const mp = new MetricPerception(MetricsConfig.parse({}));
    const out: Signal[] = [];
    for (let i = 0; i < 40; i++) out.push(...mp.observe(metric('api', 'SuccessRate(%)', T0 + i * 30_000, 100 - (i % 3) * 0.1)));
    for (let i = 40; i < 44; i++) out.push(...mp.observe(metric('api', 'SuccessRate(%)', T0 + i * 30_000, 33)));
    expect(out.length).toBeGreaterThanOrEqual(1);
    expect(out[0]).toMatchObject({ hint: 'errors' });
    expect(out[0]!.score).toBeGreaterThanOrEqual(0.7);
  });

  it('a series no name or unit explains, pinned at its ceiling, learns from its values that falling is bad', () => {
    expect(seriesMeaning('svc_up_flag')).toMatchObject({ kind: 'unknown', direction: 'both' });
    const run = (values: (i: number) => number, after: number): Signal[] => {
      const mp = new MetricPerception(MetricsConfig.parse({}));
      const out: Signal[] = [];
      for (let i = 0; i < 40; i++) out.push(...mp.observe(metric('api', 'svc_up_flag', T0 + i * 30_000, values(i))));
      for (let i = 40; i < 44; i++) out.push(...mp.observe(metric('api', 'svc_up_flag', T0 + i * 30_000, after)));
      return out;
    };
    // At 1 nearly always (a ready flag, `up`), then 0: an errors symptom, as strong as a named success rate's.
    const fell = run((i) => (i === 7 ? 0.5 : 1), 0);
    expect(fell.length).toBeGreaterThanOrEqual(1);
    expect(fell[0]).toMatchObject({ hint: 'errors' });
    expect(fell[0]!.score).toBeGreaterThanOrEqual(0.7);
    // Above its old ceiling is not a failure (a ratio cannot rise past 1; a count that does is not one).
    expect(run(() => 1, 3).filter((x) => x.hint === 'errors')).toHaveLength(0);
    // A gauge that wanders is not read as anything: its fall stays weak evidence.
    const wander = run((i) => 40 + (i % 7), 5);
    expect(wander.length).toBeGreaterThanOrEqual(1);
    expect(wander.every((x) => x.hint === 'unknown')).toBe(true);
  });
});

describe('4. warning alerts open incidents by corroboration', () => {
  const warn = (service: string, name: string, ts: number) => {
    const ap = new AlertPerception(AlertsConfig.parse({}));
    return ap.observe(alert(service, ts, name, 'firing', 'warning'));
  };
  it('three distinct warning alerts in one neighbourhood open an incident; one alone does not', () => {
    const h = new Harness();
    for (const s of warn('cart', 'HighLatency', T0)) h.add(s);
    h.at(T0 + 20 * MIN);
    expect(h.opened).toHaveLength(0);
    const h2 = new Harness();
    for (const [svc, name] of [['cart', 'HighLatency'], ['cart', 'ErrorBudgetBurn'], ['checkout', 'SlowCalls']] as const) for (const s of warn(svc, name, T0)) h2.add(s);
    expect(h2.opened).toHaveLength(1);
  });
  it('keeps Alertmanager runbook_url and description annotations as evidence text', () => {
    const hook = {
      receiver: 'nightshift',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'SlowCheckout', service: 'checkout', severity: 'warning' },
          annotations: { summary: 'checkout p95 above 2s', description: 'p95 latency of checkout has been above 2s for 5 minutes', runbook_url: 'https://runbooks.example/checkout-latency' },
          startsAt: new Date(T0).toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          fingerprint: 'abc123',
        },
      ],
    };
    const r = parseRecord({ topic: 'alerts', key: null, payload: JSON.stringify(hook), source: { line: 1 } }, IngestConfig.parse({}));
    const a = r.events[0] as Alert;
    expect(a.annotations).toMatchObject({ runbook_url: 'https://runbooks.example/checkout-latency' });
    const [s] = new AlertPerception(AlertsConfig.parse({})).observe(a);
    expect(s!.summary).toContain('[runbook https://runbooks.example/checkout-latency]');
    expect(s!.summary).toContain('has been above 2s for 5 minutes');
  });

  it('a warning alert with a measured latency symptom opens one', () => {
    const h = new Harness();
    for (const s of warn('cart', 'HighLatency', T0)) h.add(s);
    h.add(sig('cart', T0 + 20_000, 'cart-p95', { score: 0.65 }));
    expect(h.opened).toHaveLength(1);
  });
});

describe('5. one measurement is one piece of evidence', () => {
  it('P90, P95 and P99 of one latency, or one metric on each pod, are one family and open nothing alone', () => {
    expect(seriesFamily('api', 'PodServerLatencyP90(s)', { 'k8s.pod.name': 'a' })).toBe(seriesFamily('api', 'PodServerLatencyP99(s)', { 'k8s.pod.name': 'b' }));
    expect(seriesFamily('api', 'latency_p95', {})).toBe(seriesFamily('api', 'latency_p99', { quantile: '0.99' }));
    expect(seriesFamily('api', 'latency_p95', {})).not.toBe(seriesFamily('api', 'errors', {}));
    const h = new Harness();
    const fam = seriesFamily('ship', 'LatencyP90(s)', {});
    for (const [i, q] of ['P90', 'P95', 'P99'].entries()) h.add(sig('ship', T0 + i * 1000, `ship-${q}`, { family: fam }));
    expect(h.opened).toHaveLength(0);
  });
});

describe('6. warm-up and absence', () => {
  it('an error template seen during warm-up stays a suspect and signals', () => {
    const lp = new LogPerception(LogsConfig.parse({}));
    const out: Signal[] = [];
    // Start-up: a fault already under way logs its error from the first minute.
    for (let i = 0; i < 10; i++) {
      out.push(...lp.observe(log('cart', T0 + i * 10_000, 'info', `request ${i} served in ${i} ms`)));
      out.push(...lp.observe(log('cart', T0 + i * 10_000 + 1, 'error', `redis timeout after ${100 + i} ms`)));
    }
    const s = out.filter((x) => x.type === 'template_new');
    expect(s).toHaveLength(1);
    expect(s[0]!.summary).toMatch(/seen since start-up/);
    expect(s[0]!.score).toBeCloseTo(0.8 * 0.6, 5);
  });
  it('a regular log line that stops, while its service keeps logging, is a (weak) signal', () => {
    const lp = new LogPerception(LogsConfig.parse({}));
    const out: Signal[] = [];
    for (let m = 0; m < 40; m++) {
      for (let k = 0; k < 10; k++) {
        const ts = T0 + m * MIN + k * 6000;
        out.push(...lp.observe(log('billing', ts, 'info', `served request ${k} in ${k + 3} ms`)));
        // A heartbeat of the job runner, every 6 s, until minute 30.
        if (m < 30) out.push(...lp.observe(log('billing', ts + 1, 'info', `invoice job heartbeat seq=${m * 10 + k}`)));
      }
    }
    const stopped = out.filter((s) => s.summary.startsWith('log template stopped'));
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ type: 'template_burst', hint: 'unknown', service: 'billing', ts: T0 + 30 * MIN });
    expect(stopped[0]!.summary).toMatch(/invoice job heartbeat/);
  });

  it('calls to a callee that stop are a rate collapse on the edge', () => {
    const red = new RedPerception(RedConfig.parse({}), new Topology(SHOP));
    const sigs: Signal[] = [];
    let n = 0;
    for (let m = 0; m < 40; m++) {
      if (m < 30) for (let k = 0; k < 25; k++) for (const s of callPair('front', 'cart', T0 + m * MIN + k * 2400, `t${n++}`, 10, 9)) sigs.push(...red.observe(s));
      // front keeps serving other requests: event time moves on.
      for (let k = 0; k < 25; k++) sigs.push(...red.observe(span('front', T0 + m * MIN + k * 2400, `u${n++}`, `u${n}-s`, undefined, 'server', 5)));
    }
    const rate = sigs.filter((s) => s.type === 'red_rate' && s.peer === 'cart');
    expect(rate.length).toBeGreaterThanOrEqual(1);
    expect(rate[0]!.summary).toMatch(/0 requests/);
  });
});

describe('6b. metric series that stop reporting', () => {
  /** Every 30 s from T0 to `until` (minutes), each (service, name, labels) a series; returns the signals of absence. */
  function feed(mp: MetricPerception, series: ReadonlyArray<readonly [string, string, Record<string, string>, number]>, minutes: number): Signal[] {
    const out: Signal[] = [];
    for (let t = T0; t <= T0 + minutes * MIN; t += 30_000) {
      for (const [svc, name, labels, stopAt] of series) if (t < T0 + stopAt * MIN) out.push(...mp.observe(metric(svc, name, t, 10 + ((t / 30_000) % 3), labels)));
      out.push(...mp.advance(t));
    }
    return out.filter((x) => /stopped/.test(x.summary));
  }
  const NEVER = 1e9;

  it('a service whose every series stops while others report is an errors symptom, signalled once', () => {
    const mp = new MetricPerception(MetricsConfig.parse({}));
    const got = feed(mp, [['db', 'connections', {}, 15], ['db', 'qps', {}, 15], ['api', 'qps', {}, NEVER], ['web', 'qps', {}, NEVER]], 30);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ service: 'db', hint: 'errors', score: 0.8 });
    expect(got[0]!.summary).toMatch(/db stopped reporting metrics: 2 series silent/);
    // Quiet series of a quiet service: before absence existed there was no signal at all; the old disabled switch still works.
    expect(feed(new MetricPerception(MetricsConfig.parse({ absentIntervals: 0 })), [['db', 'qps', {}, 15], ['api', 'qps', {}, NEVER]], 30)).toHaveLength(0);
  });

  it('a state series that stops while its service reports is weak evidence; a request-driven one is only counted', () => {
    const mp = new MetricPerception(MetricsConfig.parse({}));
    const got = feed(mp, [['api', 'worker_pool_utilization', { unit: 'x' }, 15], ['api', 'request_latency_seconds', {}, 15], ['api', 'qps', {}, NEVER], ['web', 'qps', {}, NEVER]], 30);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ service: 'api', hint: 'unknown', score: 0.5 });
    expect(got[0]!.summary).toMatch(/metric series stopped in api: worker_pool_utilization/);
    // The latency series stopped too: its requests stopped coming, which says nothing against api itself.
    expect(mp.stats().absence.requestSeriesStopped).toBe(1);
  });

  it('a replaced pod, and a collection gap, signal nothing', () => {
    const mp = new MetricPerception(MetricsConfig.parse({}));
    const pod = (p: string): Record<string, string> => ({ 'service.instance.id': p });
    const got = feed(mp, [['api', 'cpu', pod('api-1'), 15], ['api', 'mem', pod('api-1'), 15], ['api', 'cpu', pod('api-2'), NEVER], ['web', 'qps', {}, NEVER]], 30);
    expect(got).toHaveLength(0);
    expect(mp.stats().absence.instancesGone).toBe(2);
    const gap = new MetricPerception(MetricsConfig.parse({}));
    expect(feed(gap, [['a', 'x', {}, 15], ['b', 'x', {}, 15], ['c', 'x', {}, 15]], 30)).toHaveLength(0);
    expect(gap.stats().absence.collectionGaps).toBe(3);
  });
});

describe('7. only a release that degrades its service is guilty', () => {
  it("compares a release's new instances with the old ones and names the comparison", () => {
    const vt = new VersionTracker(10);
    const deploy = (service: string, id: string): ChangeEvent => ({ kind: 'change', id, ts: T0 + 20 * MIN, service, change_kind: 'deploy', summary: id });
    for (let m = 0; m < 40; m++) {
      for (let k = 0; k < 20; k++) {
        const ts = T0 + m * MIN + k * 3000;
        const after = m >= 20;
        for (const [svc, bad] of [['cart', true], ['pay', false]] as const) {
          const s = span(svc, ts, `t${m}-${k}-${svc}`, `s${m}${k}`, undefined, 'server', after && bad ? 300 : 20, after && bad && k % 3 === 0 ? 'error' : 'ok');
          s.version = after ? 'v2' : 'v1';
          vt.observe(s);
        }
      }
    }
    const bad = vt.verdict(deploy('cart', 'd-cart'), T0 + 40 * MIN);
    const good = vt.verdict(deploy('pay', 'd-pay'), T0 + 40 * MIN);
    expect(bad.verdict).toBe('degraded');
    expect(bad.comparison).toMatch(/v2 vs v1: errors 3\d\.\d% vs 0\.0%/);
    expect(good.verdict).toBe('healthy');
    // The ranker boosts the degraded release and ignores the healthy one.
    const signals = [sig('cart', T0 + 21 * MIN, 'cart-lat'), sig('pay', T0 + 21 * MIN, 'pay-lat'), changeSignalOf(deploy('cart', 'd-cart'), 0.5)];
    const b = bundleOf(signals, {
      changes: [
        { ...deploy('pay', 'd-pay'), verdict: 'healthy', comparison: good.comparison },
        { ...deploy('cart', 'd-cart'), verdict: 'degraded', comparison: bad.comparison },
      ],
      first_seen: { cart: T0 + 21 * MIN, pay: T0 + 21 * MIN },
    });
    const rc = rankRootCauses(b, ranker);
    expect(rc[0]).toMatchObject({ service: 'cart', kind: 'deploy' });
    expect(rc[0]!.summary).toMatch(/new instances worse/);
    expect(rc.find((r) => r.service === 'pay')?.kind).not.toBe('deploy');
  });
});

describe('7c. new instances beside old ones, and per-pod metrics', () => {
  const deploy = (service: string): ChangeEvent => ({ kind: 'change', id: `d-${service}`, ts: T0 + 20 * MIN, service, change_kind: 'deploy', summary: 'rollout' });

  it('a rolling update during trouble below it is healthy side by side, though worse than before the change', () => {
    const vt = new VersionTracker(10);
    // Pods a and b run v1 throughout; pod c runs v2 from minute 20. From minute 20 everything is slow (a database
    // below), new and old pods alike: timing would blame the release, the pods beside it clear it.
    for (let m = 0; m < 40; m++) {
      for (let k = 0; k < 20; k++) {
        const ts = T0 + m * MIN + k * 3000;
        const pods = m >= 20 ? ['a', 'b', 'c'] : ['a', 'b'];
        for (const pod of pods) {
          const s = span('cart', ts, `t${m}-${k}-${pod}`, `s${m}-${k}-${pod}`, undefined, 'server', m >= 20 ? 200 : 20);
          s.instance = `cart-${pod}`;
          s.version = pod === 'c' ? 'v2' : 'v1';
          vt.observe(s);
        }
      }
    }
    const v = vt.verdict(deploy('cart'), T0 + 40 * MIN);
    expect(v.verdict).toBe('healthy');
    expect(v.comparison).toMatch(/^v2 \(1 instance\) vs v1 \(2 instances\): .*\(side by side over 20 min\)$/);
  });

  it('a new pod worse than the old pods beside it is degraded, and the text says it was side by side', () => {
    const vt = new VersionTracker(10);
    for (let m = 0; m < 40; m++) {
      for (let k = 0; k < 20; k++) {
        const ts = T0 + m * MIN + k * 3000;
        for (const pod of m >= 20 ? ['a', 'b', 'c'] : ['a', 'b']) {
          const s = span('cart', ts, `t${m}-${k}-${pod}`, `s${m}-${k}-${pod}`, undefined, 'server', pod === 'c' ? 90 : 20);
          s.instance = `cart-${pod}`;
          vt.observe(s);
        }
      }
    }
    // No version anywhere: the pod that appeared with the change is the new one.
    const v = vt.verdict(deploy('cart'), T0 + 40 * MIN);
    expect(v.verdict).toBe('degraded');
    expect(v.comparison).toMatch(/mean latency 90 ms vs 20 ms .*side by side/);
  });

  it('per-pod latency and success-rate metrics judge a release that sends no spans', () => {
    const run = (badNew: boolean): ReturnType<VersionTracker['verdict']> => {
      const vt = new VersionTracker(10);
      const mp = new MetricPerception(MetricsConfig.parse({}), undefined, (p) => vt.observeMetric(p));
      for (let m = 0; m < 40; m++) {
        const ts = T0 + m * MIN;
        // Old pod until minute 22 (a rolling update overlaps two minutes), new pod from minute 20.
        const pods = [...(m < 22 ? ['cart-old'] : []), ...(m >= 20 ? ['cart-new'] : [])];
        for (const pod of pods) {
          const worse = badNew && pod === 'cart-new';
          mp.observe(metric('cart', 'PodServerLatencyP90(s)', ts, worse ? 0.4 : 0.05, { 'service.instance.id': pod }));
          mp.observe(metric('cart', 'PodSuccessRate(%)', ts, worse ? 80 : 100, { 'service.instance.id': pod }));
          // Traffic is not a verdict's business: it may move with the rollout.
          mp.observe(metric('cart', 'PodRequests', ts, 50, { 'service.instance.id': pod }));
        }
      }
      return vt.verdict(deploy('cart'), T0 + 40 * MIN);
    };
    const bad = run(true);
    expect(bad.verdict).toBe('degraded');
    expect(bad.comparison).toMatch(/PodServerLatencyP90\(s\) 0\.400 vs 0\.0500/);
    expect(bad.comparison).toMatch(/PodSuccessRate\(%\) 80\.00 vs 100/);
    expect(run(false).verdict).toBe('healthy');
  });

  it('a change with neither versions nor instances stays unknown', () => {
    const vt = new VersionTracker(10);
    for (let m = 0; m < 40; m++) vt.observe(span('cart', T0 + m * MIN, `t${m}`, `s${m}`, undefined, 'server', m >= 20 ? 300 : 20));
    expect(vt.verdict(deploy('cart'), T0 + 40 * MIN).verdict).toBe('unknown');
  });
});

describe('7b. release verdicts are bounded', () => {
  it('keeps at most 16 versions per service and 120 minutes per version', () => {
    const vt = new VersionTracker(10);
    for (let v = 0; v < 20; v++) {
      for (let m = 0; m < 5; m++) {
        const s = span('cart', T0 + (v * 5 + m) * MIN, `t${v}-${m}`, `s${v}-${m}`, undefined, 'server', 10);
        s.version = `v${v}`;
        vt.observe(s);
      }
    }
    const deploy = (version: string, at: number): ChangeEvent => ({ kind: 'change', id: `d-${version}`, ts: at, service: 'cart', change_kind: 'deploy', summary: version, version });
    // v19 is kept; v0 (evicted with three others) is gone, so a change to it has no new version to judge.
    expect(vt.verdict(deploy('v19', T0 + 95 * MIN), T0 + 100 * MIN).comparison).toMatch(/^v19 vs v18/);
    expect(vt.verdict(deploy('v0', T0 - MIN), T0 + 5 * MIN).verdict).toBe('unknown');
    // A version seen for 150 minutes keeps its last 120: a baseline of 5 hours sums 120 of them.
    const one = new VersionTracker(10, { ...DEFAULT_VERSION_CONFIG, baselineMs: 300 * MIN });
    for (let m = 0; m < 160; m++) {
      const s = span('svc', T0 + m * MIN, `u${m}`, `x${m}`, undefined, 'server', 10);
      s.version = m < 150 ? 'old' : 'new';
      one.observe(s);
    }
    const c = one.verdict({ kind: 'change', id: 'd', ts: T0 + 150 * MIN, service: 'svc', change_kind: 'deploy', summary: '' }, T0 + 160 * MIN);
    expect(c.comparison).toMatch(/over 10 \/ 120 spans/);
  });
});

describe('8. leaf bias', () => {
  it('a datastore below a healthy caller does not win by counting every transitive caller', () => {
    // web -> api -> db; api is healthy, db has a weak signal, web is the loud root.
    const signals = [sig('web', T0, 'web-err', { hint: 'errors', score: 0.9 }), sig('web', T0, 'web-lat', { score: 0.9 }), sig('db', T0, 'db-lat', { score: 0.6 })];
    const b = bundleOf(signals, {
      edges: [
        ['web', 'api'],
        ['api', 'db'],
      ],
      first_seen: { web: T0, db: T0 },
    });
    expect(rankRootCauses(b, ranker)[0]?.service).toBe('web');
  });
});

describe('4b. OTLP histograms and summaries become quantile series', () => {
  it('a cumulative http.server.request.duration histogram is differenced into p50/p95/p99 and a count, and a latency rise signals', () => {
    const mp = new MetricPerception(MetricsConfig.parse({}));
    const bounds = [0.01, 0.05, 0.1, 0.5, 1, 5];
    let cum = [0, 0, 0, 0, 0, 0, 0];
    const out: Signal[] = [];
    for (let i = 0; i < 50; i++) {
      // 100 requests a minute; fast (under 50 ms) until minute 45, then most take 0.5-1 s.
      const add = i < 45 ? [20, 75, 5, 0, 0, 0, 0] : [0, 5, 5, 10, 80, 0, 0];
      cum = cum.map((c, k) => c + (add[k] as number));
      const count = cum.reduce((a, b) => a + b, 0);
      out.push(...mp.observe({ kind: 'metric', id: `h${i}`, ts: T0 + i * MIN, service: 'api', name: 'http.server.request.duration', value: 0, labels: {}, unit: 's', dist: { kind: 'histogram', temporality: 'cumulative', count, bounds, counts: cum } }));
    }
    const lat = out.filter((s) => s.hint === 'latency');
    expect(lat.length).toBeGreaterThanOrEqual(1);
    expect(lat[0]!.summary).toMatch(/quantile/);
    // The quantiles are one family: P50/P95/P99 of one histogram are one piece of evidence.
    expect(new Set(lat.map((s) => s.family)).size).toBe(1);
    expect(mp.stats().series).toBe(4); // p50, p95, p99 and the count
  });
  it('interpolates quantiles inside buckets like histogram_quantile', () => {
    expect(bucketQuantile([1, 2, 4], [0, 10, 10, 0], 0.5)).toBeCloseTo(2, 6);
    expect(bucketQuantile([1, 2, 4], [0, 10, 10, 0], 0.75)).toBeCloseTo(3, 6);
    expect(bucketQuantile([1, 2, 4], [0, 0, 0, 5], 0.99)).toBe(4);
  });
});
