import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIncidents, formatTruth, isoTime } from '../cli/demo-report.js';
import { scoreScenario, type FaultResult } from '../eval/metrics.js';
import { GroundTruth, IncidentOutput, type TopologyFile } from '../schemas/index.js';

const T0 = Date.UTC(2026, 2, 9, 1, 56, 9);
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/;

function output(updatedAt: number, causes: Array<[string, string]>): IncidentOutput {
  return IncidentOutput.parse({
    incident_id: 'inc_1',
    opened_at: T0 + 30_000,
    updated_at: updatedAt,
    status: 'open',
    services: causes.map(([s]) => s),
    counts: { events: 1, alerts: 1, signals: 1 },
    root_causes: causes.map(([service, kind], i) => ({ rank: i + 1, service, kind, summary: `${service}: ${kind}`, confidence: 0.5, evidence: ['series_1'] })),
    reasoner: 'ranker',
  });
}

const fault = (over: Partial<FaultResult>): FaultResult => ({
  fault_id: 'fault-1',
  service: 'db',
  kind: 'latency',
  detected: true,
  incident_id: 'inc_1',
  rank: 1,
  rank_at_end: 1,
  predicted_top: 'db',
  predicted_kind: 'latency',
  kind_correct: true,
  delay_ms: 30_000,
  incidents: 1,
  ...over,
});

describe('demo tables', () => {
  const outputs = [output(T0 + 60_000, [['api', 'errors']]), output(T0 + 120_000, [['db', 'saturation'], ['api', 'errors']])];
  const truth: GroundTruth[] = [{ fault_id: 'fault-1', service: 'db', kind: 'latency', start: T0, end: T0 + 600_000 }];

  it('prints ISO times: incident opening and last update, when each root cause was first named, the fault window', () => {
    const inc = formatIncidents(outputs, [fault({})]);
    expect(inc).toContain(`opened ${isoTime(T0 + 30_000)}, last update ${isoTime(T0 + 120_000)}`);
    expect(inc).toContain(`#1 db [saturation] 50%, named ${isoTime(T0 + 120_000)}`);
    expect(inc).toContain(`#2 api [errors] 50%, named ${isoTime(T0 + 60_000)}`);
    expect(isoTime(T0)).toBe('2026-03-09T01:56:09Z');
    const gt = formatTruth(truth, [fault({})], outputs);
    expect(gt).toContain('fault-1 latency at db 2026-03-09T01:56:09Z to 2026-03-09T02:06:09Z: found by inc_1 after 30 s, root ranked #1');
    expect(gt).not.toContain('WRONG KIND');
  });

  it('flags a root cause whose kind is not the fault kind, in both tables', () => {
    const wrong = fault({ predicted_kind: 'saturation', kind_correct: false });
    expect(formatIncidents(outputs, [wrong])).toContain('#1 db [saturation, WRONG KIND: the fault is latency]');
    expect(formatTruth(truth, [wrong], outputs)).toContain('WRONG KIND: reported as saturation, the fault is latency');
    // Unknown (null: a kind with no mapping, or the root not ranked) is not called wrong.
    expect(formatTruth(truth, [fault({ kind_correct: null })], outputs)).not.toContain('WRONG KIND');
  });

  it('a missed fault and a root outside the top 3 say so', () => {
    expect(formatTruth(truth, [fault({ detected: false, incident_id: null, rank: null })], outputs)).toContain('fault-1 latency at db 2026-03-09T01:56:09Z to 2026-03-09T02:06:09Z: MISSED');
    expect(formatTruth(truth, [fault({ rank: null, kind_correct: null })], outputs)).toContain('root not in the top 3');
  });
});

// The whole command as a user runs it (`npm start`): pino writes to file descriptor 2 directly, so only a child
// process shows whether a log line lands among the tables. `npm test` builds first.
describe.skipIf(!existsSync('dist/cli/main.js'))('nightshift demo, end to end', () => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'nightshift-demo-test-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('prints ISO dates, no JSON log line on stdout or stderr, and flags exactly the wrong kinds', () => {
    const env = { ...process.env };
    delete env.NIGHTSHIFT_LOG_LEVEL;
    delete env.NIGHTSHIFT_ANALYTICS; // the embedded store's start is what logged a JSON line among the tables
    const bin = path.resolve('bin/nightshift.js');
    const r = spawnSync(process.execPath, [bin, 'demo', '--dir', cwd], { cwd, env, encoding: 'utf8', timeout: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    const json = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trimStart().startsWith('{'));
    expect(json).toEqual([]);
    expect(r.stdout).toMatch(new RegExp(`opened ${ISO.source}, last update ${ISO.source}`));
    expect(r.stdout).toMatch(new RegExp(`#1 \\S+ \\[[^\\]]+\\] \\d+%, named ${ISO.source}`));

    // The flags must match the scoring of the files the demo wrote, fault by fault.
    const lines = (f: string): string[] => readFileSync(path.join(cwd, f), 'utf8').split('\n').filter((l) => l !== '');
    const outputs = lines('incidents.ndjson').map((l) => IncidentOutput.parse(JSON.parse(l)));
    const faults = lines('replay.truth.ndjson').map((l) => GroundTruth.parse(JSON.parse(l)));
    const topology = JSON.parse(readFileSync(path.join(cwd, 'replay.topology.json'), 'utf8')) as TopologyFile;
    const bundles = { emitted: 0, bytesTotal: 0, bytesMax: 0 };
    const report = scoreScenario({ name: 'demo', outputs, truth: faults, topology, rawRecords: 0, rawAlerts: 0, bundles, durationMs: 1 });
    expect(report.per_fault.length).toBe(3);
    for (const f of report.per_fault) {
      const line = r.stdout.split('\n').find((l) => l.startsWith(`  ${f.fault_id} `));
      expect(line, f.fault_id).toMatch(new RegExp(`${f.fault_id} \\S+ at \\S+ ${ISO.source} to ${ISO.source}`));
      expect(line!.includes('WRONG KIND'), `${f.fault_id}: kind_correct ${String(f.kind_correct)}`).toBe(f.kind_correct === false);
    }
  }, 200_000);
});
