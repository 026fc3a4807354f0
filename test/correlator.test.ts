import { describe, expect, it } from 'vitest';
import { CorrelatorConfig } from '../perception/config.js';
import { Correlator, type IncidentTransition } from '../perception/correlator.js';
import type { Incident } from '../perception/incident.js';
import { Topology } from '../perception/topology.js';
import { makeSignal } from '../perception/util.js';
import type { ChangeEvent } from '../schemas/events.js';
import type { Signal, SignalType } from '../schemas/signal.js';
import { changeSignalOf } from '../perception/incident.js';

const MIN = 60_000;
const T0 = 1_700_000_000_000;

// shop: web -> api -> {db, cache}; api -> pay -> bank; far: x1 -> x2 -> x3 -> x4 -> x5 (unrelated chain)
const topo = () =>
  new Topology({
    services: [
      { name: 'web', depends_on: ['api'] },
      { name: 'api', depends_on: ['db', 'cache', 'pay'] },
      { name: 'pay', depends_on: ['bank'] },
      { name: 'db' },
      { name: 'x1', depends_on: ['x2'] },
      { name: 'x2', depends_on: ['x3'] },
      { name: 'x3', depends_on: ['x4'] },
      { name: 'x4', depends_on: ['x5'] },
    ],
  });

function sig(service: string, ts: number, ref: string, score = 0.8, type: SignalType = 'metric_anomaly', peer?: string): Signal {
  return makeSignal({ type, ts, service, score, hint: 'latency', summary: `${type} ${service}`, ref, ...(peer ? { peer } : {}) });
}

function change(service: string, ts: number, id: string): ChangeEvent {
  return { kind: 'change', id, ts, service, change_kind: 'deploy', summary: `deploy ${id}` };
}

class Harness {
  readonly c: Correlator;
  readonly log: Array<{ transition: IncidentTransition; incident: Incident; at: number }> = [];
  wm = 0;
  constructor(cfg: Partial<CorrelatorConfig> = {}, readonly t = topo()) {
    this.c = new Correlator(CorrelatorConfig.parse(cfg), t);
  }
  tick(ts: number): void {
    this.wm = Math.max(this.wm, ts);
    this.c.advance(this.wm, MIN);
    for (const d of this.c.drain()) this.log.push({ ...d, at: this.wm });
  }
  symptom(s: Signal): void {
    this.tick(s.ts);
    this.c.addSymptom(s);
    this.tick(s.ts);
  }
  change(ev: ChangeEvent): void {
    this.tick(ev.ts);
    this.c.addChange(ev, changeSignalOf(ev, 0.5));
    this.tick(ev.ts);
  }
  opened(): Incident[] {
    return this.log.filter((l) => l.transition === 'opened').map((l) => l.incident);
  }
}

describe('correlator: opening', () => {
  it('a lone flapping alert (one ref, many signals) opens nothing and expires as noise', () => {
    const h = new Harness();
    for (let i = 0; i < 30; i++) h.symptom(sig('api', T0 + i * 2 * MIN, 'alertgrp_flappy', 0.9, 'alert'));
    h.tick(T0 + 200 * MIN);
    expect(h.opened()).toHaveLength(0);
    expect(h.c.stats().expired).toBe(30);
    expect(h.c.stats().pending).toBe(0);
  });

  it('a lone blip plus an unrelated blip far away in the topology open nothing', () => {
    const h = new Harness();
    h.symptom(sig('web', T0, 'r1', 0.9));
    h.symptom(sig('x5', T0 + MIN, 'r2', 0.9));
    h.tick(T0 + 60 * MIN);
    expect(h.opened()).toHaveLength(0);
  });

  it('two related symptoms with enough score open exactly one incident; weak ones do not', () => {
    const weak = new Harness();
    weak.symptom(sig('db', T0, 'r1', 0.5));
    weak.symptom(sig('api', T0 + MIN, 'r2', 0.5));
    weak.symptom(sig('api', T0 + 2 * MIN, 'r2', 0.7)); // same ref: max counts once
    expect(weak.opened()).toHaveLength(0);

    const h = new Harness();
    h.symptom(sig('db', T0, 'r1', 0.8));
    h.symptom(sig('api', T0 + MIN, 'r2', 0.8));
    const [inc] = h.opened();
    expect(h.opened()).toHaveLength(1);
    expect([...inc!.services].sort()).toEqual(['api', 'db']);
    expect(inc!.firstSeen.get('db')).toBe(T0);
    // A third symptom two hops away joins the same incident instead of opening a new one.
    h.symptom(sig('web', T0 + 2 * MIN, 'r3', 0.9));
    h.symptom(sig('web', T0 + 3 * MIN, 'r4', 0.9));
    expect(h.opened()).toHaveLength(1);
    expect([...inc!.services].sort()).toEqual(['api', 'db', 'web']);
    expect(inc!.counts.signals).toBe(4);
  });

  it('needs one strong symptom: saturation and rate signals alone open nothing', () => {
    const h = new Harness();
    const mk = (service: string, ts: number, ref: string, hint: 'saturation' | 'unknown' | 'errors', score = 0.95) =>
      makeSignal({ type: 'metric_anomaly', ts, service, score, hint, summary: ref, ref });
    h.symptom(mk('api', T0, 'cpu', 'saturation'));
    h.symptom(mk('api', T0, 'rate', 'unknown'));
    h.symptom(mk('db', T0, 'cpu2', 'saturation'));
    expect(h.opened()).toHaveLength(0);
    h.symptom(mk('db', T0 + 1000, 'err', 'errors', 0.75));
    expect(h.opened()).toHaveLength(1);
    // Weak hints count half: a strong signal plus two rate swings is not enough.
    const w = new Harness();
    w.symptom(mk('api', T0, 'err', 'errors', 0.8));
    w.symptom(mk('api', T0, 'r1', 'unknown', 0.6));
    expect(w.opened()).toHaveLength(0);
    w.symptom(mk('db', T0, 'r2', 'unknown', 0.8));
    expect(w.opened()).toHaveLength(1);
  });

  it('symptoms further apart than the open window do not add up', () => {
    const h = new Harness();
    h.symptom(sig('db', T0, 'r1', 0.9));
    h.symptom(sig('api', T0 + 11 * MIN, 'r2', 0.9));
    expect(h.opened()).toHaveLength(0);
  });

  it('unknown services only group with themselves', () => {
    const h = new Harness();
    h.symptom(sig('ghost-a', T0, 'r1', 0.9));
    h.symptom(sig('ghost-b', T0, 'r2', 0.9));
    expect(h.opened()).toHaveLength(0);
    h.symptom(sig('ghost-a', T0 + MIN, 'r3', 0.9));
    expect(h.opened()).toHaveLength(1);
    expect([...h.opened()[0]!.services]).toEqual(['ghost-a']);
  });

  it('two faults in unrelated parts of the topology at the same time give two incidents', () => {
    const h = new Harness();
    h.symptom(sig('db', T0, 'a1'));
    h.symptom(sig('x5', T0, 'b1'));
    h.symptom(sig('api', T0 + 30_000, 'a2'));
    h.symptom(sig('x4', T0 + 30_000, 'b2'));
    const opened = h.opened();
    expect(opened).toHaveLength(2);
    expect([...opened[0]!.services].sort()).toEqual(['api', 'db']);
    expect([...opened[1]!.services].sort()).toEqual(['x4', 'x5']);
    expect(opened[0]!.id).not.toBe(opened[1]!.id);
  });

  it('an edge signal touches caller and callee; first_seen goes to the callee', () => {
    const h = new Harness();
    h.symptom(sig('api', T0, 'e1', 0.9, 'red_latency', 'db'));
    h.symptom(sig('db', T0 + MIN, 'm1', 0.9));
    const [inc] = h.opened();
    expect([...inc!.services].sort()).toEqual(['api', 'db']);
    expect(inc!.firstSeen.get('db')).toBe(T0);
    expect(inc!.firstSeen.has('api')).toBe(false);
  });
});

describe('correlator: lifecycle', () => {
  it('resolves after the quiet period; a later fault opens a new incident with a new id', () => {
    const h = new Harness({ resolveAfterMs: 15 * MIN });
    h.symptom(sig('db', T0, 'r1'));
    h.symptom(sig('api', T0 + MIN, 'r2'));
    h.tick(T0 + 15 * MIN);
    expect(h.log.filter((l) => l.transition === 'resolved')).toHaveLength(0);
    h.tick(T0 + 16 * MIN);
    const resolved = h.log.filter((l) => l.transition === 'resolved');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]!.incident.status).toBe('resolved');
    expect(h.c.stats().open).toBe(0);

    h.symptom(sig('db', T0 + 120 * MIN, 'r1'));
    h.symptom(sig('api', T0 + 121 * MIN, 'r2'));
    const opened = h.opened();
    expect(opened).toHaveLength(2);
    expect(opened[1]!.id).not.toBe(opened[0]!.id);
  });

  it('keepAlive holds an incident open while its symptom persists, without adding evidence', () => {
    const h = new Harness({ resolveAfterMs: 15 * MIN, joinWindowMs: 10 * MIN });
    h.symptom(sig('db', T0, 'r1'));
    h.symptom(sig('api', T0 + 1000, 'r2'));
    for (let m = 5; m <= 40; m += 5) {
      h.tick(T0 + m * MIN);
      h.c.keepAlive('db', T0 + m * MIN);
      h.c.keepAlive('x1', T0 + m * MIN); // unrelated service: no effect
    }
    expect(h.log.filter((l) => l.transition === 'resolved')).toHaveLength(0);
    const [inc] = h.opened();
    expect(inc!.counts.signals).toBe(2);
    expect(inc!.lastSymptom).toBe(T0 + 40 * MIN);
    h.tick(T0 + 55 * MIN);
    expect(h.log.filter((l) => l.transition === 'resolved')).toHaveLength(1);
    // A keep-alive never opens anything.
    for (let m = 60; m < 80; m++) h.c.keepAlive('db', T0 + m * MIN);
    h.tick(T0 + 100 * MIN);
    expect(h.opened()).toHaveLength(1);
  });

  it('emits updates at most once per update interval and only when evidence changed', () => {
    const h = new Harness();
    h.symptom(sig('db', T0, 'r1'));
    h.symptom(sig('api', T0 + 1000, 'r2'));
    // Same refs again: no evidence change, no update.
    for (let i = 1; i <= 5; i++) h.symptom(sig('db', T0 + i * 10_000, 'r1'));
    expect(h.log.filter((l) => l.transition === 'updated')).toHaveLength(0);
    // New refs every 10 s for 3 minutes: updates at most once per minute.
    for (let i = 0; i < 18; i++) h.symptom(sig('api', T0 + 60_000 + i * 10_000, `n${i}`));
    const ups = h.log.filter((l) => l.transition === 'updated');
    expect(ups.length).toBeGreaterThanOrEqual(2);
    expect(ups.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < ups.length; i++) expect(ups[i]!.at - ups[i - 1]!.at).toBeGreaterThanOrEqual(MIN);
  });

  it('flush resolves quiet incidents and reports the final state of the others', () => {
    const h = new Harness();
    h.symptom(sig('db', T0, 'r1'));
    h.symptom(sig('api', T0 + 1000, 'r2'));
    h.symptom(sig('x1', T0 + 3 * MIN, 'q1'));
    h.symptom(sig('x2', T0 + 3 * MIN, 'q2'));
    expect(h.log.map((l) => l.transition)).toEqual(['opened', 'opened']);
    // resolveAfterMs (5 min): the first is quiet by T0 + 6 min, the second (last symptom T0 + 3 min) is not.
    h.c.flush(T0 + 6 * MIN);
    const tr = h.c.drain().map((d) => `${d.transition}:${[...d.incident.services].sort().join(',')}`);
    expect(tr).toEqual(['resolved:api,db', 'final:x1,x2']);
  });
});

describe('correlator: changes', () => {
  it('a change alone never opens an incident', () => {
    const h = new Harness();
    for (let i = 0; i < 10; i++) h.change(change('db', T0 + i * 1000, `d${i}`));
    h.tick(T0 + 60 * MIN);
    expect(h.opened()).toHaveLength(0);
  });

  it('attaches a recent change of an incident service or a dependency, not stale or unrelated ones', () => {
    const h = new Harness({ changeLookbackMs: 30 * MIN });
    h.change(change('db', T0 - 50 * MIN, 'stale'));
    h.change(change('db', T0 - 10 * MIN, 'db-deploy'));
    h.change(change('x3', T0 - 5 * MIN, 'unrelated'));
    h.change(change('web', T0 - 5 * MIN, 'caller-deploy')); // a caller, not a dependency of api
    h.symptom(sig('api', T0, 'r1'));
    h.symptom(sig('api', T0 + MIN, 'r2'));
    const [inc] = h.opened();
    expect([...inc!.services]).toEqual(['api']);
    expect([...inc!.changes.keys()]).toEqual(['db-deploy']);
    expect(inc!.best.get('db-deploy')?.type).toBe('change');
    expect(inc!.best.get('db-deploy')?.hint).toBe('deploy');
    // A change made while it is open attaches too.
    h.change(change('api', T0 + 2 * MIN, 'hotfix'));
    expect([...inc!.changes.keys()].sort()).toEqual(['db-deploy', 'hotfix']);
  });

  it('keeps at most maxChangesPerService changes per service', () => {
    const h = new Harness({ maxChangesPerService: 3 });
    for (let i = 0; i < 10; i++) h.change(change('db', T0 - 10 * MIN + i * 1000, `d${i}`));
    h.symptom(sig('db', T0, 'r1'));
    h.symptom(sig('db', T0 + 1000, 'r2'));
    expect([...h.opened()[0]!.changes.keys()]).toEqual(['d7', 'd8', 'd9']);
    expect(h.c.stats().changesDropped).toBe(7);
  });
});

describe('correlator: bounds', () => {
  it('pending symptoms are capped (oldest dropped)', () => {
    const h = new Harness({ maxPending: 50 });
    for (let i = 0; i < 200; i++) h.symptom(sig(`lonely-${i}`, T0 + i, `r${i}`, 0.9));
    expect(h.c.stats().pending).toBe(50);
    expect(h.c.stats().pendingEvicted).toBe(150);
  });

  it('open incidents are capped: the quietest is resolved early', () => {
    const h = new Harness({ maxOpen: 3 });
    for (let i = 0; i < 5; i++) {
      h.symptom(sig(`svc-${i}`, T0 + i * 1000, `a${i}`));
      h.symptom(sig(`svc-${i}`, T0 + i * 1000, `b${i}`));
    }
    expect(h.opened()).toHaveLength(5);
    expect(h.c.stats().open).toBe(3);
    expect(h.c.stats().forcedResolved).toBe(2);
    expect(h.log.filter((l) => l.transition === 'resolved').map((l) => [...l.incident.services][0])).toEqual(['svc-0', 'svc-1']);
  });

  it('refs and services per incident are capped', () => {
    const h = new Harness({ maxRefsPerIncident: 10, maxServicesPerIncident: 2 });
    h.symptom(sig('api', T0, 'r0'));
    h.symptom(sig('api', T0, 'r1'));
    for (let i = 2; i < 30; i++) h.symptom(sig(i % 2 ? 'db' : 'web', T0 + i * 1000, `r${i}`));
    const [inc] = h.opened();
    expect(inc!.best.size).toBe(10);
    expect(inc!.services.size).toBe(2);
    expect(inc!.counts.signals).toBe(30);
  });
});
