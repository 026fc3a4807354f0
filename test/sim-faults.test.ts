import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seriesFamily } from '../perception/meaning.js';
import type { GroundTruth } from '../schemas/replay.js';
import type { TopologyFile } from '../schemas/topology.js';
import { NO_SHAPES, simulate, type FaultType } from '../sim/index.js';
import { alertFacts, logFacts, metricFacts, spanFacts, type AlertFact, type LogFact, type MetricFact, type SpanFact } from '../sim/inspect.js';

const MIN = 60_000;

interface Run {
  truth: GroundTruth;
  topo: TopologyFile;
  metrics: MetricFact[];
  alerts: AlertFact[];
  logs: LogFact[];
  spans: SpanFact[];
  changes: { ts: number; service: string; kind: string; summary: string }[];
}

function run(type: FaultType, seed: number): Run {
  // The classic shapes: these tests read the classic metric names of one series per service (the new shapes: 'simulated real shapes' below).
  const sim = simulate({ seed, hours: 2.5, faults: 1, services: 16, faultKinds: [type], noise: { staleTopologyEdges: 0 }, shapes: NO_SHAPES });
  const out: Omit<Run, 'truth' | 'topo'> = { metrics: [], alerts: [], logs: [], spans: [], changes: [] };
  for (const r of sim.records) {
    if (r.topic === 'metrics') out.metrics.push(...metricFacts(r));
    else if (r.topic === 'alerts') out.alerts.push(...alertFacts(r));
    else if (r.topic === 'logs') out.logs.push(...logFacts(r));
    else if (r.topic === 'traces') out.spans.push(...spanFacts(r));
    else {
      const p = JSON.parse(r.payload) as { ts: string | number; service: string; kind: string; summary: string };
      out.changes.push({ ...p, ts: typeof p.ts === 'number' ? p.ts : Date.parse(p.ts) });
    }
  }
  const res = sim.result();
  return { ...out, truth: res.faults[0] as GroundTruth, topo: res.topology };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor(s.length / 2)] as number);
};

/** Median of a metric before the fault (30 min) and during it (after a settling time). */
function shift(r: Run, service: string, name: string, settle = 3 * MIN): { before: number; during: number; max: number } {
  const xs = r.metrics.filter((m) => m.service === service && m.name === name);
  const during = xs.filter((m) => m.ts >= r.truth.start + settle && m.ts < r.truth.end).map((m) => m.value);
  return { before: median(xs.filter((m) => m.ts >= r.truth.start - 30 * MIN && m.ts < r.truth.start).map((m) => m.value)), during: median(during), max: Math.max(...during) };
}

const callersOf = (r: Run, name: string): string[] => r.topo.services.filter((s) => s.depends_on?.includes(name)).map((s) => s.name);
const tagsOf = (r: Run, name: string): string[] => r.topo.services.find((s) => s.name === name)?.tags ?? [];
const tierOf = (r: Run, name: string): string => r.topo.services.find((s) => s.name === name)?.tier ?? '';
const inFault = (r: Run, ts: number, after = 10 * MIN): boolean => ts >= r.truth.start && ts < r.truth.end + after;

/** Everything upstream of a service (its callers, their callers, ...). */
function ancestors(r: Run, name: string): Set<string> {
  const out = new Set<string>();
  const todo = [name];
  while (todo.length > 0) for (const c of callersOf(r, todo.pop() as string)) if (!out.has(c)) todo.push(c), out.add(c);
  return out;
}

describe('faults: datastore outage', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: the root goes silent, its callers fail loudly and name it`, () => {
      const r = run('datastore_outage', seed);
      const root = r.truth.service;
      expect(r.truth.kind).toBe('errors');
      expect(tierOf(r, root)).toBe('datastore');
      expect(r.metrics.some((m) => m.service === root && m.ts >= r.truth.start + MIN && m.ts < r.truth.end)).toBe(false);
      const rootAlerts = r.alerts.filter((a) => a.service === root && inFault(r, a.ts));
      expect(rootAlerts.some((a) => a.name.endsWith('Down'))).toBe(true);
      expect(rootAlerts.some((a) => a.severity === 'critical')).toBe(false);
      const cache = tagsOf(r, root).includes('redis');
      if (!cache) {
        // A cache outage degrades quietly (callers fall back); anything else pages upstream, not at the root.
        const upstream = ancestors(r, root);
        const loud = r.alerts.filter((a) => upstream.has(a.service) && a.severity === 'critical' && inFault(r, a.ts));
        expect(loud.length).toBeGreaterThan(rootAlerts.length);
      }
      for (const c of callersOf(r, root)) {
        const during = r.logs.filter((l) => l.service === c && inFault(r, l.ts, 0) && l.message.includes(root));
        const before = r.logs.filter((l) => l.service === c && l.ts < r.truth.start && l.message.includes(root) && /refused|ECONNREFUSED|unavailable/.test(l.message));
        expect(during.length, `${c} names ${root}`).toBeGreaterThan(0);
        expect(before.length).toBe(0);
        if (cache) expect(during.some((l) => l.message.includes('bypassing cache'))).toBe(true);
        else {
          const e = shift(r, c, 'error_rate');
          expect(e.during, `${c} error_rate`).toBeGreaterThan(e.before + 0.02);
        }
      }
    });
  }
});

describe('faults: errors, bad deploy, external dependency', () => {
  it('an errors fault raises the root error ratio and spreads to its callers, in metrics and in spans', () => {
    const r = run('errors', 4);
    const root = r.truth.service;
    const e = shift(r, root, 'error_rate', MIN);
    expect(e.during).toBeGreaterThan(e.before + 0.05);
    for (const c of callersOf(r, root)) expect(shift(r, c, 'error_rate').during, c).toBeGreaterThan(shift(r, c, 'error_rate').before);
    const server = r.spans.filter((s) => s.service === root && s.kind === 2);
    const ratio = (xs: SpanFact[]): number => xs.filter((s) => s.error).length / Math.max(1, xs.length);
    const dur = server.filter((s) => s.startMs >= r.truth.start + MIN && s.startMs < r.truth.end);
    expect(dur.length).toBeGreaterThan(10);
    expect(ratio(dur)).toBeGreaterThan(ratio(server.filter((s) => s.startMs < r.truth.start)) + 0.03);
    expect(Math.abs(ratio(dur) - e.during)).toBeLessThan(0.25);
  });

  it('a bad deploy is a deploy change at the root at fault start, new error templates, then a rollback', () => {
    const r = run('bad_deploy', 5);
    const root = r.truth.service;
    expect(r.truth.kind).toBe('deploy');
    const deploys = r.changes.filter((c) => c.service === root && c.kind === 'deploy');
    expect(deploys.some((c) => Math.abs(c.ts - r.truth.start) < 2000)).toBe(true);
    expect(deploys.some((c) => Math.abs(c.ts - r.truth.end) < 2000 && c.summary.startsWith('rollback'))).toBe(true);
    const shape = (m: string): string => m.replace(/\d+/g, '#');
    const before = new Set(r.logs.filter((l) => l.service === root && l.ts < r.truth.start).map((l) => shape(l.message)));
    const fresh = r.logs.filter((l) => l.service === root && inFault(r, l.ts, 0) && /error/i.test(l.level) && !before.has(shape(l.message)));
    expect(fresh.length).toBeGreaterThan(5);
    expect(shift(r, root, 'error_rate', MIN).during).toBeGreaterThan(0.05);
  });

  it('an external dependency fault is kind dependency and the root names its provider', () => {
    const r = run('external_dependency', 6);
    expect(r.truth.kind).toBe('dependency');
    const ext = tagsOf(r, r.truth.service).find((t) => t.startsWith('external:'))?.slice('external:'.length);
    expect(ext).toBeTruthy();
    expect(r.logs.some((l) => l.service === r.truth.service && inFault(r, l.ts, 0) && l.message.includes(ext as string))).toBe(true);
    const lat = shift(r, r.truth.service, 'latency_p95_ms');
    expect(lat.during).toBeGreaterThan(lat.before * 3);
  });
});

describe('faults: latency, saturation, memory leak', () => {
  it('latency at the root shows up (later, attenuated) in its callers p95', () => {
    const r = run('latency', 7);
    const root = r.truth.service;
    const rl = shift(r, root, 'latency_p95_ms');
    expect(rl.during - rl.before).toBeGreaterThan(100);
    const callers = callersOf(r, root);
    expect(callers.length).toBeGreaterThan(0);
    for (const c of callers) {
      const cl = shift(r, c, 'latency_p95_ms');
      expect(cl.during - cl.before, c).toBeGreaterThan(0.2 * (rl.during - rl.before));
    }
    // Lag: a caller crosses half of its own shift no earlier than the root crosses half of its shift.
    const first = (svc: string): number => {
      const s = shift(r, svc, 'latency_p95_ms');
      const thr = s.before + 0.5 * (s.during - s.before);
      return r.metrics.find((m) => m.service === svc && m.name === 'latency_p95_ms' && m.ts >= r.truth.start && m.value > thr)?.ts ?? Infinity;
    };
    const rootFirst = first(root);
    expect(rootFirst).toBeLessThan(r.truth.start + 5 * MIN);
    for (const c of callers) expect(first(c), c).toBeGreaterThanOrEqual(rootFirst);
  });

  it('saturation pins the pool (datastore) or the CPU (service) and slows the callers', () => {
    for (const seed of [8, 9]) {
      const r = run('saturation', seed);
      const root = r.truth.service;
      if (tierOf(r, root) === 'datastore') expect(shift(r, root, 'connection_pool_utilization').during).toBeGreaterThan(0.9);
      else expect(shift(r, root, 'cpu_utilization').during).toBeGreaterThan(0.8);
      for (const c of callersOf(r, root)) {
        const cl = shift(r, c, 'latency_p95_ms');
        expect(cl.during, c).toBeGreaterThan(cl.before * 1.3);
      }
    }
  });

  it('a memory leak ramps memory to the limit, OOM-kills the pods and is kind resource', () => {
    const r = run('memory_leak', 10);
    const root = r.truth.service;
    expect(r.truth.kind).toBe('resource');
    const mem = shift(r, root, 'memory_used_bytes', 0);
    expect(mem.max).toBeGreaterThan(mem.before * 1.4);
    expect(r.logs.some((l) => l.service === root && inFault(r, l.ts, 0) && /out of memory|OutOfMemoryError|MemoryError/i.test(l.message))).toBe(true);
    expect(r.alerts.some((a) => a.service === root && a.name === 'ContainerOOMKilled' && inFault(r, a.ts))).toBe(true);
  });
});

describe('simulated network delay (a real shape: issue 10)', () => {
  it("a network delay in front of a service slows its callers' CLIENT spans to it, not its own SERVER spans", () => {
    // Two latency faults: the second (an even number) of a service that is not a datastore is a network delay.
    let checked = 0;
    for (const seed of [3, 5, 8, 11, 14]) {
      const sim = simulate({ seed, hours: 4, faults: 2, services: 16, faultKinds: ['latency'], noise: { staleTopologyEdges: 0 } });
      const res = sim.result();
      const f = res.faults[1] as GroundTruth;
      // A datastore's latency fault stays a slow datastore (network delays are for services).
      if (f.service.endsWith('-db') || f.service.includes('search')) continue;
      const spans: SpanFact[] = [];
      for (const r of sim.records) if (r.topic === 'traces') spans.push(...spanFacts(r));
      const byId = new Map(spans.map((s) => [`${s.traceId}/${s.spanId}`, s]));
      const during = (s: SpanFact) => s.startMs >= f.start + 3 * MIN && s.startMs < f.end;
      const before = (s: SpanFact) => s.startMs >= f.start - 40 * MIN && s.startMs < f.start;
      const server = spans.filter((s) => s.service === f.service && s.kind === 2);
      // The parents of the root's SERVER spans that are CLIENT spans: its callers' view of the same calls.
      const calls = server.map((s) => (s.parentSpanId ? byId.get(`${s.traceId}/${s.parentSpanId}`) : undefined)).filter((c): c is SpanFact => c !== undefined && c.kind === 3);
      const dur = (xs: SpanFact[]) => median(xs.map((s) => s.endMs - s.startMs));
      const srvBefore = dur(server.filter(before));
      const srvDuring = dur(server.filter(during));
      const cliBefore = dur(calls.filter(before));
      const cliDuring = dur(calls.filter(during));
      if (!(calls.filter(during).length > 5 && calls.filter(before).length > 5)) continue;
      expect(cliDuring - cliBefore).toBeGreaterThan(100);
      expect(srvDuring).toBeLessThan(srvBefore * 1.5 + 5);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('simulated real shapes (issue 10 part 11)', () => {
  const plan = (seed: number, shapes: Partial<typeof NO_SHAPES>) => simulate({ seed, hours: 4, faults: 3, services: 16, noise: { staleTopologyEdges: 0 }, shapes: { ...NO_SHAPES, ...shapes } }).result();
  const reach = (topo: TopologyFile, from: string, dir: 'down' | 'up'): Set<string> => {
    const out = new Set<string>();
    const next = (n: string): string[] => (dir === 'down' ? (topo.services.find((s) => s.name === n)?.depends_on ?? []) : topo.services.filter((s) => s.depends_on?.includes(n)).map((s) => s.name));
    const todo = [from];
    while (todo.length > 0) for (const c of next(todo.pop() as string)) if (!out.has(c)) todo.push(c), out.add(c);
    return out;
  };

  it('places two faults minutes apart: one after the other 5-10 min apart, or at once on different branches', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 10; seed++) {
      const r = plan(seed, { closeFaults: 1 });
      const fs = [...r.faults].sort((a, b) => a.start - b.start);
      const gaps = fs.slice(1).map((f, i) => f.start - (fs[i] as GroundTruth).end);
      const close = gaps.filter((g) => g < 45 * MIN);
      expect(close, `seed ${seed}: one close pair, the others >= 45 min apart`).toHaveLength(1);
      const k = gaps.findIndex((g) => g < 45 * MIN);
      const [a, b] = [fs[k] as GroundTruth, fs[k + 1] as GroundTruth];
      expect(b.start - a.start, 'the pair starts within 30 min').toBeLessThanOrEqual(30 * MIN);
      if (r.shapes.closeFaults === 'sequential') {
        expect(b.start - a.end).toBeGreaterThanOrEqual(5 * MIN);
        expect(b.start - a.end).toBeLessThanOrEqual(10 * MIN);
      } else {
        expect(r.shapes.closeFaults).toBe('concurrent');
        expect(b.start).toBeLessThan(a.end);
        expect(reach(r.topology, a.service, 'down').has(b.service) || reach(r.topology, a.service, 'up').has(b.service), 'different branches').toBe(false);
      }
      seen.add(r.shapes.closeFaults);
    }
    expect([...seen].sort()).toEqual(['concurrent', 'sequential']);
    // Off: every fault stays >= 45 min from the next.
    const off = plan(1, {});
    expect(off.shapes.closeFaults).toBe('none');
    const fs = [...off.faults].sort((a, b) => a.start - b.start);
    for (let i = 1; i < fs.length; i++) expect((fs[i] as GroundTruth).start - (fs[i - 1] as GroundTruth).end).toBeGreaterThanOrEqual(45 * MIN);
  });

  it('a warning-only fleet has no critical alert, and still warns during the fault', () => {
    const alertsOf = (warningOnly: number): AlertFact[] => {
      const sim = simulate({ seed: 4, hours: 2.5, faults: 1, services: 14, faultKinds: ['errors'], shapes: { ...NO_SHAPES, warningOnly } });
      const out = [...sim.records].filter((r) => r.topic === 'alerts').flatMap(alertFacts);
      expect(sim.result().shapes.warningOnly).toBe(warningOnly === 1);
      return out;
    };
    expect(alertsOf(0).some((a) => a.severity === 'critical')).toBe(true);
    const warn = alertsOf(1);
    expect(warn.filter((a) => a.severity === 'critical')).toEqual([]);
    expect(warn.filter((a) => a.severity === 'warning' && a.status === 'firing' && /Error|Synthetic|Budget/.test(a.name)).length).toBeGreaterThan(0);
  });

  it('percentage and ratio metrics: SuccessRate(%) and *_success_ratio fall during an errors fault, CPU/memory as % of limit', () => {
    const sim = simulate({ seed: 2, hours: 2.5, faults: 1, services: 16, faultKinds: ['errors'], shapes: { ...NO_SHAPES, percentMetrics: 1 } });
    const metrics = [...sim.records].filter((r) => r.topic === 'metrics').flatMap(metricFacts);
    const res = sim.result();
    const truth = res.faults[0] as GroundTruth;
    const styles = Object.values(res.shapes.styles);
    expect(styles).toContain('percent');
    expect(styles).toContain('ratio');
    const r: Run = { truth, topo: res.topology, metrics, alerts: [], logs: [], spans: [], changes: [] };
    const successName = res.shapes.styles[truth.service] === 'percent' ? 'SuccessRate(%)' : res.shapes.styles[truth.service] === 'ratio' ? 'http_success_ratio' : null;
    for (const m of metrics.filter((x) => x.name === 'SuccessRate(%)' || /%\)$|_percent$/.test(x.name))) expect(m.value >= 0 && m.value <= 100).toBe(true);
    for (const m of metrics.filter((x) => x.name === 'http_success_ratio')) expect(m.value >= 0 && m.value <= 1).toBe(true);
    for (const m of metrics.filter((x) => x.unit !== undefined && /%\)$|_percent$/.test(x.name))) expect(m.unit).toBe('%');
    for (const m of metrics.filter((x) => x.unit !== undefined && x.name.endsWith('(s)'))) expect(m.unit).toBe('s');
    expect(metrics.some((m) => m.name === 'CpuUsageRate(%)')).toBe(true);
    expect(metrics.some((m) => m.name === 'container_memory_usage_percent')).toBe(true);
    expect(successName, 'the root of seed 2 exports a success series').not.toBeNull();
    const s = shift(r, truth.service, successName as string);
    expect(s.during).toBeLessThan(s.before - (successName === 'SuccessRate(%)' ? 5 : 0.05));
  });

  it('quantile families: latency as P50/P90/P95/P99 of one measurement, ordered, all rising in a latency fault; one evidence family', () => {
    const sim = simulate({ seed: 1, hours: 2.5, faults: 1, services: 16, faultKinds: ['latency'], shapes: { ...NO_SHAPES, quantiles: 1, percentMetrics: 1 } });
    const metrics = [...sim.records].filter((r) => r.topic === 'metrics').flatMap(metricFacts);
    const res = sim.result();
    const truth = res.faults[0] as GroundTruth;
    expect(res.shapes.quantiles).toBe(true);
    const fam = (n: string): string[] => ['50', '90', '95', '99'].map((q) => n.replace('{q}', q));
    const names = res.shapes.styles[truth.service] === 'percent' ? fam('ServerLatencyP{q}(s)') : fam('latency_p{q}_ms');
    const r: Run = { truth, topo: res.topology, metrics, alerts: [], logs: [], spans: [], changes: [] };
    const shifts = names.map((n) => shift(r, truth.service, n));
    for (let i = 1; i < shifts.length; i++) expect((shifts[i] as { before: number }).before).toBeGreaterThan((shifts[i - 1] as { before: number }).before);
    for (const s of shifts) expect(s.during).toBeGreaterThan(s.before * 1.5);
    const families = new Set(names.map((n) => seriesFamily(truth.service, n, { 'k8s.cluster.name': 'prod-eu-1' })));
    expect(families.size).toBe(1);
    expect(metrics.some((m) => m.name === 'ServerLatencyP90(s)') && metrics.some((m) => m.name === 'latency_p90_ms')).toBe(true);
  });

  it('per-pod series: 2-3 pods each exported with k8s.pod.name / a pod label; a fault hits one pod, the others stay healthy', () => {
    const sim = simulate({ seed: 3, hours: 2.5, faults: 1, services: 16, faultKinds: ['errors'], shapes: { ...NO_SHAPES, perPod: 1 } });
    const metrics = [...sim.records].filter((r) => r.topic === 'metrics').flatMap(metricFacts);
    const res = sim.result();
    const truth = res.faults[0] as GroundTruth;
    const fault = res.faultDetails[0];
    expect(res.shapes.podServices).toContain(truth.service);
    expect(fault?.pod).not.toBeNull();
    const pods = [...new Set(metrics.filter((m) => m.service === truth.service).map((m) => m.pod))];
    expect(pods.length >= 2 && pods.length <= 3 && pods.every((p) => p !== undefined)).toBe(true);
    const r: Run = { truth, topo: res.topology, metrics, alerts: [], logs: [], spans: [], changes: [] };
    const during = pods.map((p) => shift({ ...r, metrics: metrics.filter((m) => m.pod === p) }, truth.service, 'error_rate'));
    const hit = during.filter((s) => s.during > s.before + 0.05);
    expect(hit, 'exactly one pod fails').toHaveLength(1);
    for (const s of during.filter((x) => !hit.includes(x))) expect(s.during).toBeLessThan(0.02);
    // Every pod's error series is one evidence family (pod labels name instances).
    const families = new Set(pods.map((p) => seriesFamily(truth.service, 'error_rate', { env: 'prod', cluster: 'prod-eu-1', pod: p as string })));
    expect(families.size).toBe(1);
    // Services with 4 pods or datastores keep one series per service.
    for (const s of res.topology.services.filter((x) => x.tier === 'datastore')) expect(res.shapes.podServices).not.toContain(s.name);
  });

  it('spiky: a healthy neighbour of a root jumps 8-15x in latency for 1-2 min every 8-15 min, faults included', () => {
    const sim = simulate({ seed: 2, hours: 3, faults: 2, services: 16, shapes: { ...NO_SHAPES, spiky: 1 } });
    const metrics = [...sim.records].filter((r) => r.topic === 'metrics').flatMap(metricFacts);
    const res = sim.result();
    const spiky = res.shapes.spiky;
    expect(spiky).not.toBeNull();
    const svc = spiky!.service;
    const roots = res.faults.map((f) => f.service);
    expect(roots).not.toContain(svc);
    const near = res.topology.services.filter((s) => roots.includes(s.name) || (s.depends_on ?? []).some((d) => roots.includes(d)));
    expect(near.some((s) => s.name === svc || (roots.includes(s.name) && (s.depends_on ?? []).includes(svc)))).toBe(true);
    const p95 = metrics.filter((m) => m.service === svc && m.name === 'latency_p95_ms' && m.pod === undefined).sort((a, b) => a.ts - b.ts);
    const median = [...p95].map((m) => m.value).sort((a, b) => a - b)[p95.length >> 1] as number;
    const spikeTs = new Set(spiky!.ts);
    const high = p95.filter((m) => m.value > 5 * median);
    expect(high.length).toBeGreaterThan(0);
    for (const m of high) expect(spikeTs.has(m.ts)).toBe(true);
    // Episodes (runs of consecutive spiked scrapes) of 2-4 points, 8-15 minutes apart.
    const starts = spiky!.ts.filter((t, i) => i === 0 || t - (spiky!.ts[i - 1] as number) > 30_000);
    expect(starts.length).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < starts.length; i++) expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(8 * 60_000);
    // Off: no spikes, and the same faults.
    const off = simulate({ seed: 2, hours: 3, faults: 2, services: 16, shapes: NO_SHAPES }).result();
    expect(off.shapes.spiky).toBeNull();
    expect(off.faults).toEqual(res.faults);
  });

  it('every shape on at once is still deterministic: same config, identical records and truth', () => {
    const cfg = { seed: 7, hours: 2.5, faults: 2, services: 14, shapes: { percentMetrics: 1, warningOnly: 1, closeFaults: 1, quantiles: 1, perPod: 1, spiky: 1 } };
    const digest = (): string => {
      const sim = simulate(cfg);
      const h = createHash('sha256');
      for (const r of sim.records) h.update(`${r.topic}|${r.key}|${r.ts}|${r.payload}\n`);
      return `${h.digest('hex')}|${JSON.stringify(sim.result().faults)}`;
    };
    expect(digest()).toBe(digest());
  });
});
