import { describe, expect, it } from 'vitest';
import { buildBundle, type BundleSources } from '../perception/bundle.js';
import type { Incident } from '../perception/incident.js';
import { Topology } from '../perception/topology.js';
import { makeSignal } from '../perception/util.js';
import { IncidentBundle } from '../schemas/incident.js';
import type { Signal } from '../schemas/signal.js';
import { T0, change } from './perception-fixtures.js';

function incident(nSignals: number, nServices: number, nChanges: number): Incident {
  const services = new Set(Array.from({ length: nServices }, (_, i) => `svc-${i}`));
  const best = new Map<string, Signal>();
  for (let i = 0; i < nSignals; i++) {
    const type = i % 3 === 0 ? 'template_new' : i % 3 === 1 ? 'metric_anomaly' : 'alert';
    const s = makeSignal({ type, ts: T0 + i, service: `svc-${i % nServices}`, score: (i % 97) / 100, hint: 'errors', summary: `signal ${i} ${'x'.repeat(120)}`, ref: `ref-${i}` });
    best.set(s.ref, s);
  }
  const changes = new Map(Array.from({ length: nChanges }, (_, i) => [`c${i}`, change(`svc-${i % nServices}`, T0 - i * 1000, `c${i}`, 'y'.repeat(200))] as const));
  return {
    seq: 0,
    id: 'inc_test',
    openedAt: T0,
    status: 'open',
    firstSymptom: T0,
    lastSymptom: T0 + nSignals,
    services,
    best,
    changes,
    firstSeen: new Map([...services].map((s, i) => [s, T0 + i])),
    counts: { events: 1000, alerts: 50, signals: nSignals + 10 },
    capped: 0,
    dirty: false,
    lastEmit: undefined,
  };
}

function sources(nServices: number): BundleSources {
  const topo = new Topology({ services: Array.from({ length: nServices }, (_, i) => ({ name: `svc-${i}`, depends_on: Array.from({ length: nServices }, (_, j) => `svc-${j}`).filter((_, j) => j !== i) })) });
  return {
    topology: topo,
    template: (service, id) => ({ id, service, template: `template of ${id} ${'t'.repeat(150)}`, level: 'error', count: 3, first_seen: T0 }),
    series: (id) => ({ id, service: 'svc-0', name: 'latency_p95_ms', baseline: 10, peak: 100 }),
  };
}

const size = (b: IncidentBundle) => Buffer.byteLength(JSON.stringify(b), 'utf8');

describe('bundle', () => {
  it('fits the byte budget, keeps the best signals first and counts the cut', () => {
    for (const maxBytes of [2048, 4096, 16384]) {
      const inc = incident(400, 12, 30);
      const b = buildBundle(inc, T0 + 10_000, sources(12), { maxBytes, maxChanges: 20, maxEdges: 200 });
      expect(() => IncidentBundle.parse(b)).not.toThrow();
      expect(size(b)).toBeLessThanOrEqual(maxBytes);
      expect(b.signals.length).toBeGreaterThan(0);
      for (let i = 1; i < b.signals.length; i++) expect(b.signals[i - 1]!.score).toBeGreaterThanOrEqual(b.signals[i]!.score);
      const kept = Math.min(...b.signals.map((s) => s.score));
      expect([...inc.best.values()].filter((s) => s.score > kept).every((s) => b.signals.includes(s))).toBe(true);
      expect(b.truncated.signals).toBe(inc.counts.signals - b.signals.length);
      expect(b.truncated.templates).toBeGreaterThan(0);
      expect(b.changes.length).toBeLessThanOrEqual(20);
      expect(b.services).toHaveLength(12);
    }
  });

  it('keeps everything when it fits, sorted and with details per signal', () => {
    const inc = incident(6, 2, 1);
    const b = buildBundle(inc, T0, sources(2), { maxBytes: 16384, maxChanges: 20, maxEdges: 200 });
    expect(b.signals).toHaveLength(6);
    expect(b.truncated).toEqual({ signals: 10, templates: 0 });
    expect(b.templates).toHaveLength(2);
    expect(b.series).toHaveLength(2);
    expect(b.edges).toEqual([
      ['svc-0', 'svc-1'],
      ['svc-1', 'svc-0'],
    ]);
    expect(Object.keys(b.first_seen)).toEqual(['svc-0', 'svc-1']);
  });

  it('cuts edges, then changes, when the fixed part alone is too big', () => {
    const inc = incident(5, 40, 20);
    const b = buildBundle(inc, T0, sources(40), { maxBytes: 4096, maxChanges: 20, maxEdges: 1000 });
    expect(size(b)).toBeLessThanOrEqual(4096);
    expect(b.edges.length).toBeLessThan(40 * 39);
  });
});
