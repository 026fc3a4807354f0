import { describe, expect, it } from 'vitest';
import { affectedServices, finalStates, scoreScenario, summarize } from '../eval/metrics.js';
import type { GroundTruth, IncidentOutput, TopologyFile } from '../schemas/index.js';

const H = 3600_000;
const topo: TopologyFile = { services: [{ name: 'web', depends_on: ['api'] }, { name: 'api', depends_on: ['db'] }, { name: 'db' }, { name: 'batch' }] };

function inc(id: string, opened: number, services: string[], top: string[], status: 'open' | 'resolved' = 'resolved'): IncidentOutput {
  return {
    incident_id: id,
    opened_at: opened,
    updated_at: opened + 600_000,
    status,
    services,
    counts: { events: 10, alerts: 5, signals: 3 },
    root_causes: top.map((s, i) => ({ rank: i + 1, service: s, kind: 'latency' as const, summary: '', confidence: 0.2, evidence: [] })),
    reasoner: 'ranker',
  };
}

describe('eval metrics', () => {
  it('affected services are the root and its transitive callers', () => {
    expect([...(affectedServices('db', topo) ?? [])].sort()).toEqual(['api', 'db', 'web']);
    expect(affectedServices('db', undefined)).toBeNull();
  });

  it('final state is the last line per incident', () => {
    const a1 = inc('a', 0, ['web'], ['web'], 'open');
    const a2 = inc('a', 0, ['web', 'db'], ['db']);
    expect(finalStates([a1, a2])).toEqual([a2]);
  });

  it('matches incidents to faults by time and affected services; counts false incidents and ranks', () => {
    const truth: GroundTruth[] = [
      { fault_id: 'f1', service: 'db', kind: 'latency', start: 1 * H, end: 1 * H + 900_000 },
      { fault_id: 'f2', service: 'api', kind: 'errors', start: 3 * H, end: 3 * H + 600_000 },
      { fault_id: 'f3', service: 'db', kind: 'saturation', start: 5 * H, end: 5 * H + 600_000 },
    ];
    const outputs = [
      inc('i1', 1 * H + 60_000, ['web', 'api', 'db'], ['db', 'api']), // f1, rank 1
      inc('i2', 3 * H + 30_000, ['web', 'api'], ['web', 'db', 'api']), // f2, rank 3
      inc('i3', 3 * H + 40_000, ['batch'], ['batch']), // same time, unrelated service: false
      inc('i4', 8 * H, ['web'], ['web']), // no fault: false
    ];
    const r = scoreScenario({ name: 's', outputs, truth, topology: topo, rawRecords: 1000, rawAlerts: 200, bundles: { emitted: 8, bytesTotal: 8000, bytesMax: 2000 }, durationMs: 12 * H });
    expect(r.per_fault.map((f) => [f.fault_id, f.detected, f.rank])).toEqual([
      ['f1', true, 1],
      ['f2', true, 3],
      ['f3', false, null],
    ]);
    expect(r.false_incidents).toBe(2);
    expect(r.per_fault[0]?.delay_ms).toBe(60_000);
    const s = summarize([r]);
    expect(s.fault_recall).toBeCloseTo(2 / 3);
    expect(s.ac_at_1).toBeCloseTo(1 / 3);
    expect(s.ac_at_3).toBeCloseTo(2 / 3);
    expect(s.noise_reduction_alerts).toBeCloseTo(1 - 4 / 200);
    expect(s.noise_reduction_records).toBeCloseTo(1 - 8 / 1000);
    expect(s.false_incidents_per_day).toBeCloseTo(4);
    expect(s.bundle_bytes_mean).toBe(1000);
    expect(s.by_kind.latency).toEqual({ faults: 1, recall: 1, ac_at_1: 1, ac_at_3: 1, ac_at_1_at_end: 1, ac_at_3_at_end: 1 });
  });

  it('an incident opened long after the fault ended does not match it', () => {
    const truth: GroundTruth[] = [{ fault_id: 'f', service: 'db', kind: 'latency', start: H, end: H + 600_000 }];
    const r = scoreScenario({ name: 's', outputs: [inc('late', H + 600_000 + 11 * 60_000, ['db'], ['db'])], truth, topology: topo, rawRecords: 1, rawAlerts: 1, bundles: { emitted: 1, bytesTotal: 1, bytesMax: 1 }, durationMs: H });
    expect(r.detected).toBe(0);
    expect(r.false_incidents).toBe(1);
  });

  it('assigns each incident to one fault: the next fault\'s incident is not credited to the previous one', () => {
    const M = 60_000;
    const truth: GroundTruth[] = [
      { fault_id: 'a', service: 'db', kind: 'latency', start: H, end: H + 3 * M },
      { fault_id: 'b', service: 'api', kind: 'latency', start: H + 8 * M, end: H + 11 * M },
    ];
    // Only one incident, opened during fault b; it falls in both windows (a's ends 10 min after a's end).
    const only = inc('ib', H + 8 * M + 20_000, ['web', 'api', 'db'], ['db', 'api']);
    const r = scoreScenario({ name: 's', outputs: [only], truth, topology: topo, rawRecords: 1, rawAlerts: 1, bundles: { emitted: 1, bytesTotal: 1, bytesMax: 1 }, durationMs: H }, { earlySlackMs: M, lateSlackMs: 10 * M });
    // Under the old "best rank of any candidate" rule fault a would be found at rank 1 through b's incident.
    expect(r.per_fault.map((f) => [f.fault_id, f.detected, f.rank, f.incidents])).toEqual([
      ['a', false, null, 0],
      ['b', true, 2, 1],
    ]);
    expect(r.impure_incidents).toBe(1);
    // Two incidents for one fault: incidents per fault is 2.
    const split = scoreScenario({ name: 's', outputs: [inc('x', H + 10_000, ['db'], ['db']), inc('y', H + 70_000, ['api'], ['db'])], truth: truth.slice(0, 1), topology: topo, rawRecords: 1, rawAlerts: 1, bundles: { emitted: 2, bytesTotal: 2, bytesMax: 1 }, durationMs: H });
    expect(split.per_fault[0]?.incidents).toBe(2);
    expect(summarize([split]).incidents_per_fault).toBe(2);
  });

  it('scores the state at the end of the fault window apart from the final state, and the root-cause kind', () => {
    const truth: GroundTruth[] = [{ fault_id: 'c', service: 'db', kind: 'cpu_contention', start: H, end: H + 180_000 }];
    const early = { ...inc('i', H + 30_000, ['web', 'db'], ['web', 'api']), updated_at: H + 60_000 };
    const late = { ...inc('i', H + 30_000, ['web', 'db'], ['db', 'web']), updated_at: H + 400_000 };
    late.root_causes = late.root_causes.map((rc) => (rc.service === 'db' ? { ...rc, kind: 'saturation' as const } : rc));
    const r = scoreScenario({ name: 's', outputs: [early, late], truth, topology: topo, rawRecords: 1, rawAlerts: 1, bundles: { emitted: 2, bytesTotal: 2, bytesMax: 1 }, durationMs: H });
    const f = r.per_fault[0]!;
    expect([f.rank_at_end, f.rank, f.predicted_kind, f.kind_correct]).toEqual([null, 1, 'saturation', true]);
    const s = summarize([r]);
    expect([s.ac_at_1_at_end, s.ac_at_1, s.kind_accuracy]).toEqual([0, 1, 1]);
  });
});
