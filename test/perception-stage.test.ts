import { describe, expect, it } from 'vitest';
import { createPerception, perceptionConfig, perceptionFactory, PerceptionStage } from '../perception/stage.js';
import type { Event } from '../schemas/events.js';
import { IncidentBundle } from '../schemas/incident.js';
import type { Signal } from '../schemas/signal.js';
import type { TopologyFile } from '../schemas/topology.js';
import { MIN, T0, alert, call, change, log, metric, rng } from './perception-fixtures.js';

const TOPOLOGY: TopologyFile = {
  services: [
    { name: 'web', depends_on: ['api'] },
    { name: 'api', depends_on: ['db', 'cache'] },
    { name: 'db' },
    { name: 'cache' },
    { name: 'billing', depends_on: ['ledger'] },
    { name: 'ledger' },
    { name: 'search', depends_on: ['index'] },
    { name: 'index' },
  ],
};
const SERVICES = TOPOLOGY.services.map((s) => s.name);
const EDGES: Array<[string, string]> = [
  ['web', 'api'],
  ['api', 'db'],
  ['api', 'cache'],
  ['billing', 'ledger'],
  ['search', 'index'],
];

interface Fault {
  /** The datastore that gets slow, and its callers that log errors and alert. */
  root: string;
  callers: string[];
  from: number;
  to: number;
  deploy?: string;
}

/**
 * A deterministic world: 3 metrics per service every 30 s, chatty info logs, 25 calls/min per edge, a flapping
 * warning alert on billing all along, a lone metric blip on search, an unrelated deploy on search, and the faults.
 */
function world(minutes: number, faults: Fault[]): Event[] {
  const r = rng(42);
  const ev: Event[] = [];
  const inFault = (svc: string, t: number) => faults.find((f) => (f.root === svc || f.callers.includes(svc)) && t >= f.from && t < f.to);
  for (let m = 0; m < minutes; m++) {
    const t0 = T0 + m * MIN;
    for (const f of faults) {
      if (f.deploy && m === Math.round((f.from - T0) / MIN) - 5) ev.push(change(f.root, t0, f.deploy));
    }
    if (m === 41) ev.push(change('search', t0, 'search-v7'));
    for (let half = 0; half < 2; half++) {
      const t = t0 + half * 30_000;
      for (const svc of SERVICES) {
        const f = inFault(svc, t);
        const slow = f?.root === svc;
        // One minute of high CPU on search: a signal, but alone (and not a strong hint) it opens nothing.
        const blip = svc === 'search' && m === 35;
        ev.push(metric(svc, 'latency_p95_ms', t, (slow ? 250 : 20) + r() * 2));
        ev.push(metric(svc, 'error_rate', t, (f && !slow ? 0.2 : 0.01) + r() * 0.002));
        ev.push(metric(svc, 'cpu_utilization', t, (blip ? 0.95 : 0.4) + r() * 0.02));
      }
    }
    for (let k = 0; k < 25; k++) {
      const t = t0 + k * 2400;
      for (const [a, b] of EDGES) {
        const f = inFault(b, t);
        const slow = f !== undefined && (f.root === b || f.callers.includes(b));
        for (const s of call(a, b, t, `${a}-${b}-${m}-${k}`, (slow ? 300 : 10) + r() * 2)) ev.push(s);
      }
      for (const svc of SERVICES) {
        ev.push(log(svc, t + 1, 'info', `request handled in ${Math.floor(r() * 50)}ms for user ${Math.floor(r() * 9999)}`));
        const f = inFault(svc, t);
        if (f && f.root !== svc) ev.push(log(svc, t + 2, 'error', `upstream timeout calling ${f.root} after ${3000 + k}ms`));
      }
    }
    // A flapping warning on billing: fires every 6 minutes, resolves 2 minutes later.
    if (m % 6 === 0) ev.push(alert('billing', t0 + 100, 'DiskIOHigh', 'firing', 'warning', 'billing-disk'));
    if (m % 6 === 2) ev.push(alert('billing', t0 + 100, 'DiskIOHigh', 'resolved', 'warning', 'billing-disk'));
    for (const f of faults) {
      const fm = Math.round((f.from - T0) / MIN);
      const tm = Math.round((f.to - T0) / MIN);
      for (const c of f.callers) {
        if (m >= fm + 2 && m < tm + 1) ev.push(alert(c, t0 + 200, 'HighErrorRate', 'firing', 'critical', `${c}-errors`));
        if (m === tm + 1) ev.push(alert(c, t0 + 200, 'HighErrorRate', 'resolved', 'critical', `${c}-errors`));
      }
    }
  }
  return ev.sort((a, b) => a.ts - b.ts);
}

function run(events: readonly Event[], stage: PerceptionStage): IncidentBundle[] {
  const out: IncidentBundle[] = [];
  const em = { emit: (b: IncidentBundle) => out.push(b) };
  for (const e of events) stage.process(e, em);
  stage.flush(em);
  return out;
}

/** The last bundle of each incident: its final state. */
function finals(bundles: IncidentBundle[]): IncidentBundle[] {
  const m = new Map<string, IncidentBundle>();
  for (const b of bundles) m.set(b.incident_id, b);
  return [...m.values()];
}

const DB_FAULT: Fault = { root: 'db', callers: ['api'], from: T0 + 45 * MIN, to: T0 + 55 * MIN, deploy: 'db-v2' };

describe('perception stage, end to end', () => {
  const events = world(90, [DB_FAULT]);

  it('a fault opens exactly one incident with its services and the deploy that preceded it; the noise opens none', () => {
    const signals: Signal[] = [];
    const stage = createPerception({}, undefined, TOPOLOGY, (s) => signals.push(s));
    const bundles = run(events, stage);
    for (const b of bundles) expect(() => IncidentBundle.parse(b)).not.toThrow();
    const incs = finals(bundles);
    expect(incs).toHaveLength(1);
    const inc = incs[0]!;
    expect(inc.services).toEqual(expect.arrayContaining(['api', 'db']));
    for (const s of ['billing', 'ledger', 'search', 'index']) expect(inc.services).not.toContain(s);
    expect(inc.changes.map((c) => c.id)).toEqual(['db-v2']);
    expect(inc.signals.some((s) => s.type === 'change' && s.ref === 'db-v2' && s.hint === 'deploy')).toBe(true);
    expect(inc.opened_at).toBeGreaterThanOrEqual(DB_FAULT.from);
    expect(inc.opened_at).toBeLessThan(DB_FAULT.from + 5 * MIN);
    // db's symptoms come first: the ranker's timing evidence.
    expect(inc.first_seen.db).toBeLessThanOrEqual(inc.first_seen.api ?? Infinity);
    expect(inc.edges).toEqual(expect.arrayContaining([['api', 'db']]));
    expect(inc.signals.some((s) => s.type === 'red_latency' && s.service === 'api' && s.peer === 'db')).toBe(true);
    expect(inc.templates.some((t) => t.service === 'api' && t.level === 'error' && t.template.includes('upstream timeout'))).toBe(true);
    expect(inc.series.some((s) => s.service === 'db' && s.name === 'latency_p95_ms' && s.peak > 200)).toBe(true);
    expect(inc.counts.alerts).toBeGreaterThanOrEqual(5);
    expect(inc.counts.events).toBeGreaterThan(inc.counts.alerts);
    expect(inc.counts.signals).toBeGreaterThanOrEqual(inc.signals.length);
    // Resolved after the quiet period, before the end of input.
    expect(inc.status).toBe('resolved');
    // resolveAfterMs (5 min) after the fault's last strong symptom.
    expect(inc.updated_at).toBeGreaterThanOrEqual(DB_FAULT.to + 5 * MIN - MIN);
    expect(inc.updated_at).toBeLessThan(T0 + 90 * MIN);
    // Noise was seen and dropped: the flapping alert and the blip produced signals that opened nothing.
    const st = stage.stats();
    expect(st.alerts.flapping).toBeGreaterThan(0);
    expect(signals.some((s) => s.service === 'search' && s.type === 'metric_anomaly')).toBe(true);
    expect(st.correlator.expired).toBeGreaterThan(0);
    expect(st.incidentsOpened).toBe(1);
    expect(st.signals).toBe(signals.length);
    expect(Object.values(st.signalsByType).reduce((a, b) => a + b, 0)).toBe(signals.length);
    expect(st.rawAlerts).toBe(events.filter((e) => e.kind === 'alert').length);
    expect(st.topology.learnedEdges).toBe(0); // all call edges were already in the CMDB
  });

  it('emits open, updates and resolve for one id; the first bundle is open', () => {
    const bundles = run(events, createPerception({}, undefined, TOPOLOGY));
    expect(new Set(bundles.map((b) => b.incident_id)).size).toBe(1);
    expect(bundles[0]!.status).toBe('open');
    expect(bundles.at(-1)!.status).toBe('resolved');
    expect(bundles.filter((b) => b.status === 'resolved')).toHaveLength(1);
    for (let i = 1; i < bundles.length; i++) expect(bundles[i]!.updated_at).toBeGreaterThanOrEqual(bundles[i - 1]!.updated_at);
  });

  it('the same input twice gives identical bundles', () => {
    const a = run(events, createPerception({}, undefined, TOPOLOGY));
    const b = run(events, createPerception({}, undefined, TOPOLOGY));
    expect(a.length).toBeGreaterThan(0);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('tolerates slightly out-of-order input (delivery delays of a few seconds)', () => {
    // Swap neighbours within 5 s of each other, as delayed batches would.
    const shuffled = [...events];
    for (let i = 0; i + 1 < shuffled.length; i += 2) {
      const a = shuffled[i]!;
      const b = shuffled[i + 1]!;
      if (b.ts - a.ts <= 5000) [shuffled[i], shuffled[i + 1]] = [b, a];
    }
    const incs = finals(run(shuffled, createPerception({}, undefined, TOPOLOGY)));
    expect(incs).toHaveLength(1);
    expect(incs[0]!.services).toEqual(expect.arrayContaining(['api', 'db']));
    expect(incs[0]!.changes.map((c) => c.id)).toEqual(['db-v2']);
  });

  it('without a CMDB it learns the call edges from spans and still groups the fault', () => {
    const stage = createPerception({});
    const incs = finals(run(events, stage));
    expect(stage.stats().topology.learnedEdges).toBe(EDGES.length);
    expect(incs).toHaveLength(1);
    expect(incs[0]!.services).toEqual(expect.arrayContaining(['api', 'db']));
    expect(incs[0]!.changes.map((c) => c.id)).toEqual(['db-v2']);
  });

  it('bundles carry display details beside the budget: template before/during, series units and points, alert annotations, edge figures', () => {
    const annotated = events.map((e) =>
      e.kind === 'alert' && e.name === 'HighErrorRate' ? { ...e, annotations: { runbook_url: 'https://runbooks.example/high-error-rate', description: 'x'.repeat(500) } } : e,
    );
    const bundles = run(annotated, createPerception({}, undefined, TOPOLOGY));
    for (const b of bundles) expect(() => IncidentBundle.parse(b)).not.toThrow();
    const inc = finals(bundles)[0]!;
    const d = inc.details!;
    const tpl = inc.templates.find((t) => t.service === 'api' && t.template.includes('upstream timeout'))!;
    // The error line only exists during the fault: nothing before, every line during.
    expect(d.templates?.[tpl.id]).toEqual({ before: 0, during: tpl.count, since: expect.any(Number) });
    const lat = inc.series.find((s) => s.service === 'db' && s.name === 'latency_p95_ms')!;
    const pts = d.series?.[lat.id]?.points ?? [];
    expect(d.series?.[lat.id]?.unit).toBe('ms');
    expect(pts.length).toBeGreaterThan(6);
    expect(pts.length).toBeLessThanOrEqual(40);
    // Points before the fault are normal, some during it are far above what the detector expected.
    expect(pts[0]!.value).toBeLessThan(50);
    expect(pts.some((p) => p.value > 200 && p.expected! < 50)).toBe(true);
    expect(pts.map((p) => p.ts)).toEqual([...pts.map((p) => p.ts)].sort((a, b) => a - b));
    const alert = Object.values(d.alerts ?? {}).find((a) => a.name === 'HighErrorRate')!;
    expect(alert.severity).toBe('critical');
    expect(alert.annotations!.runbook_url).toBe('https://runbooks.example/high-error-rate');
    expect(alert.annotations!.description!.length).toBeLessThanOrEqual(300);
    expect(Object.keys(alert.annotations!)[0]).toBe('runbook_url');
    const edge = d.edges?.find((e) => e.caller === 'api' && e.callee === 'db');
    expect(edge).toMatchObject({ side: 'server', observed_ms: expect.any(Number), baseline_ms: expect.any(Number) });
    expect(d.edges!.every((e) => inc.services.includes(e.caller) && inc.services.includes(e.callee))).toBe(true);
  });

  it('respects the bundle byte budget and counts what it cut', () => {
    const budget = 2048;
    const bundles = run(events, createPerception({ bundleMaxBytes: budget }, undefined, TOPOLOGY));
    expect(bundles.length).toBeGreaterThan(0);
    // The budget is what reasoning reads; display details ride beside it, bounded on their own.
    for (const { details: _d, ...b } of bundles) expect(Buffer.byteLength(JSON.stringify(b), 'utf8')).toBeLessThanOrEqual(budget);
    const last = bundles.at(-1)!;
    expect(last.truncated.signals).toBeGreaterThan(0);
    expect(last.signals.length).toBeGreaterThan(0);
    // The best evidence survives the cut: kept signals are the highest scored.
    const full = finals(run(events, createPerception({}, undefined, TOPOLOGY)))[0]!;
    const cutoff = Math.min(...last.signals.map((s) => s.score));
    expect(full.signals.filter((s) => s.score > cutoff).length).toBeLessThanOrEqual(last.signals.length);
    for (const b of bundles) expect(Buffer.byteLength(JSON.stringify(b), 'utf8')).toBeLessThanOrEqual(16 * 1024);
  });
});

describe('perception stage, several faults', () => {
  it('two faults far apart in time give two incidents', () => {
    const second: Fault = { root: 'db', callers: ['api'], from: T0 + 150 * MIN, to: T0 + 158 * MIN };
    const incs = finals(run(world(200, [DB_FAULT, second]), createPerception({}, undefined, TOPOLOGY)));
    expect(incs).toHaveLength(2);
    expect(incs[0]!.incident_id).not.toBe(incs[1]!.incident_id);
    expect(incs.map((i) => i.status)).toEqual(['resolved', 'resolved']);
    expect(incs[1]!.opened_at).toBeGreaterThanOrEqual(second.from);
    expect(incs[1]!.changes).toHaveLength(0);
  });

  it('two simultaneous faults in unrelated parts of the topology give separate incidents', () => {
    const other: Fault = { root: 'ledger', callers: ['billing'], from: DB_FAULT.from, to: DB_FAULT.to, deploy: 'ledger-v9' };
    const incs = finals(run(world(90, [DB_FAULT, other]), createPerception({}, undefined, TOPOLOGY)));
    expect(incs).toHaveLength(2);
    const byRoot = new Map(incs.map((i) => [i.services.includes('db') ? 'db' : 'ledger', i]));
    expect(byRoot.get('db')!.services).not.toContain('ledger');
    expect(byRoot.get('ledger')!.services).toEqual(expect.arrayContaining(['billing', 'ledger']));
    expect(byRoot.get('ledger')!.services).not.toContain('db');
    expect(byRoot.get('ledger')!.changes.map((c) => c.id)).toEqual(['ledger-v9']);
    expect(byRoot.get('db')!.changes.map((c) => c.id)).toEqual(['db-v2']);
  });

  it('flush reports an incident still open at end of input with status open', () => {
    const incs = finals(run(world(52, [DB_FAULT]), createPerception({}, undefined, TOPOLOGY)));
    expect(incs).toHaveLength(1);
    expect(incs[0]!.status).toBe('open');
  });
});

describe('perception config and factory', () => {
  it('every field is defaulted; bad config is a CONFIG_INVALID error', () => {
    const c = perceptionConfig({});
    expect(c.correlator.maxHops).toBe(2);
    expect(c.bundleMaxBytes).toBe(16 * 1024);
    expect(c.metrics.detector).toBeDefined();
    expect(perceptionFactory.defaultConfig()).toEqual(c);
    expect(() => perceptionConfig({ correlator: { maxHops: -1 } })).toThrow(/CONFIG|correlator\.maxHops/);
    try {
      perceptionConfig({ bundleMaxBytes: 'big' });
    } catch (e) {
      expect((e as { code?: string }).code).toBe('CONFIG_INVALID');
    }
  });

  it('the factory takes the CMDB from config.topology', () => {
    const stage = perceptionFactory.create(perceptionConfig({ topology: TOPOLOGY }), {
      log: { debug: () => undefined } as never,
      deadLetters: { write: () => undefined, count: 0, byCode: () => ({}) },
    });
    expect(stage.name).toBe('perception');
    expect((stage as PerceptionStage).stats().topology.staticEdges).toBe(5);
  });

  it('drops malformed events with a counted reason instead of crashing', () => {
    const stage = createPerception({});
    const em = { emit: () => undefined };
    stage.process({ kind: 'nope', ts: 1, service: 'x' } as unknown as Event, em);
    stage.process({ kind: 'log', ts: Number.NaN, service: 'x' } as unknown as Event, em);
    expect(stage.counters.snapshot().dropped).toEqual({ invalid_event: 1, unknown_kind: 1 });
  });
});
