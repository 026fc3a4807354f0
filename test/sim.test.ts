import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { RootCauseKind } from '../schemas/common.js';
import { ChangeKind } from '../schemas/events.js';
import { GroundTruth, ReplayRecord } from '../schemas/replay.js';
import { TopologyFile } from '../schemas/topology.js';
import { RecordBuffer } from '../sim/emit/sink.js';
import { NO_SHAPES, replayLine, simulate, simulateToFiles, type ReplayRecordLine } from '../sim/index.js';
import { alertFacts, logFacts, metricFacts, spanFacts } from '../sim/inspect.js';

const SMALL = { hours: 2, faults: 1, services: 14 } as const;
const HEX = (n: number): RegExp => new RegExp(`^[0-9a-f]{${n}}$`);
const NANOS = /^\d{19}$/;
const isIso = (s: unknown): boolean => typeof s === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s));
const METRIC_NAMES = new Set([
  'cpu_utilization', 'memory_used_bytes', 'request_rate', 'error_rate', 'latency_p95_ms', 'connection_pool_utilization',
  // shapes.ts: percentage and ratio styles, latency quantile families
  'CpuUsageRate(%)', 'MemoryUsageRate(%)', 'SuccessRate(%)', 'ConnectionPoolUsage(%)', 'http_success_ratio', 'container_cpu_usage_percent', 'container_memory_usage_percent',
  ...['50', '90', '95', '99'].flatMap((q) => [`ServerLatencyP${q}(s)`, `latency_p${q}_ms`]),
]);
const OTLP_UNITS = new Set(['%', '1', 's', 'ms', 'By', '{request}/s']);

function collect(cfg: Parameters<typeof simulate>[0]): { lines: ReplayRecordLine[]; result: ReturnType<ReturnType<typeof simulate>['result']> } {
  const sim = simulate(cfg);
  const lines = [...sim.records];
  return { lines, result: sim.result() };
}

function digest(lines: readonly ReplayRecordLine[]): string {
  const h = createHash('sha256');
  for (const l of lines) h.update(replayLine(l) + '\n');
  return h.digest('hex');
}

const base = collect({ seed: 11, ...SMALL });

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test walks untyped JSON

function checkPayload(r: ReplayRecordLine): void {
  if (r.topic === 'logs' && !r.payload.startsWith('{')) {
    expect(r.key, 'raw text log key is the service').toBeTruthy();
    return;
  }
  const p = JSON.parse(r.payload) as J;
  switch (r.topic) {
    case 'alerts':
      if (p.version === '4') {
        for (const k of ['groupKey', 'status', 'receiver', 'groupLabels', 'commonLabels', 'commonAnnotations', 'externalURL']) expect(p).toHaveProperty(k);
        expect(p.truncatedAlerts).toBe(0);
        expect(p.alerts.length).toBeGreaterThan(0);
        for (const a of p.alerts) {
          expect(['firing', 'resolved']).toContain(a.status);
          expect(a.labels.alertname).toBeTruthy();
          expect(a.labels.service ?? a.labels.app ?? a.labels.job).toBeTruthy();
          expect(['critical', 'warning', 'info']).toContain(a.labels.severity);
          expect(a.labels.instance).toBeTruthy();
          expect(a.annotations.summary).toBeTruthy();
          expect(isIso(a.startsAt)).toBe(true);
          expect(a.status === 'firing' ? a.endsAt === '0001-01-01T00:00:00Z' : isIso(a.endsAt)).toBe(true);
          expect(a.fingerprint).toMatch(HEX(16));
          expect(a.generatorURL).toMatch(/^http/);
        }
      } else {
        expect(isIso(p.ts)).toBe(true);
        for (const k of ['service', 'name', 'severity', 'summary']) expect(typeof p[k]).toBe('string');
      }
      return;
    case 'logs':
      if (p.resourceLogs) {
        const rl = p.resourceLogs[0];
        expect(rl.resource.attributes.find((a: J) => a.key === 'service.name').value.stringValue).toBeTruthy();
        for (const lr of rl.scopeLogs[0].logRecords) {
          expect(lr.timeUnixNano).toMatch(NANOS);
          expect([5, 9, 13, 17, 21]).toContain(lr.severityNumber);
          expect(typeof lr.severityText).toBe('string');
          expect(typeof lr.body.stringValue).toBe('string');
        }
      } else {
        expect(typeof p.ts === 'number' || isIso(p.ts)).toBe(true);
        for (const k of ['service', 'level', 'message']) expect(typeof p[k]).toBe('string');
      }
      return;
    case 'metrics':
      if (p.resourceMetrics) {
        for (const m of p.resourceMetrics.flatMap((rm: J) => rm.scopeMetrics[0].metrics)) {
          expect(METRIC_NAMES.has(m.name), m.name).toBe(true);
          expect(OTLP_UNITS.has(m.unit), m.unit).toBe(true);
          expect(m.gauge.dataPoints[0].timeUnixNano).toMatch(NANOS);
          expect(Number.isFinite(m.gauge.dataPoints[0].asDouble)).toBe(true);
        }
      } else {
        expect(typeof p.ts).toBe('number');
        expect(METRIC_NAMES.has(p.name), p.name).toBe(true);
        expect(Number.isFinite(p.value)).toBe(true);
        expect(typeof p.service).toBe('string');
      }
      return;
    case 'traces':
      for (const rs of p.resourceSpans) {
        expect(rs.resource.attributes.find((a: J) => a.key === 'service.name')).toBeTruthy();
        for (const s of rs.scopeSpans[0].spans) {
          expect(s.traceId).toMatch(HEX(32));
          expect(s.spanId).toMatch(HEX(16));
          if (s.parentSpanId !== undefined) expect(s.parentSpanId).toMatch(HEX(16));
          expect([2, 3, 5]).toContain(s.kind);
          expect(s.startTimeUnixNano).toMatch(NANOS);
          expect(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)).toBe(true);
          expect([0, 2]).toContain(s.status.code);
        }
      }
      return;
    case 'changes':
      expect(typeof p.ts === 'number' || isIso(p.ts)).toBe(true);
      expect(ChangeKind.options).toContain(p.kind);
      for (const k of ['service', 'id', 'summary']) expect(typeof p[k]).toBe('string');
      return;
  }
}

describe('simulate: determinism', () => {
  it('same seed gives identical records; another seed differs', () => {
    expect(digest(collect({ seed: 11, ...SMALL }).lines)).toBe(digest(base.lines));
    expect(digest(collect({ seed: 12, ...SMALL }).lines)).not.toBe(digest(base.lines));
  });

  const dir = mkdtempSync(join(tmpdir(), 'nightshift-sim-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes byte-identical files for the same seed, and they match the in-memory records', async () => {
    const paths = (k: string) => ({ replay: join(dir, `${k}.ndjson`), truth: join(dir, `${k}.truth.ndjson`) });
    const progress: number[] = [];
    const r1 = await simulateToFiles({ seed: 11, ...SMALL }, paths('a'), (p) => progress.push(p.records));
    await simulateToFiles({ seed: 11, ...SMALL }, paths('b'));
    for (const f of ['.ndjson', '.truth.ndjson', '.topology.json']) expect(readFileSync(join(dir, `a${f}`)).equals(readFileSync(join(dir, `b${f}`)))).toBe(true);
    const text = readFileSync(join(dir, 'a.ndjson'), 'utf8');
    expect(createHash('sha256').update(text).digest('hex')).toBe(digest(base.lines));
    expect(r1.records).toBe(base.lines.length);
    expect(progress.at(-1)).toBe(r1.records);
    const truth = readFileSync(join(dir, 'a.truth.ndjson'), 'utf8').trim().split('\n');
    expect(truth.map((l) => GroundTruth.parse(JSON.parse(l)))).toEqual(r1.faults);
    expect(TopologyFile.parse(JSON.parse(readFileSync(join(dir, 'a.topology.json'), 'utf8')))).toEqual(r1.topology);
  });

  it('does not move the world or the faults when only the trace rate changes', () => {
    const other = simulate({ seed: 11, ...SMALL, traceSamplesPerMinute: 2 }).result();
    expect(other.faults).toEqual(base.result.faults);
    expect(other.topology).toEqual(base.result.topology);
  });
});

describe('simulate: record shapes', () => {
  it('every line is a kcat -J record with a payload of the expected shape, sorted by ts', () => {
    const topics = new Set(['alerts', 'logs', 'metrics', 'traces', 'changes']);
    let prev = -Infinity;
    for (const r of base.lines) {
      const parsed = ReplayRecord.parse(JSON.parse(replayLine(r)));
      expect(topics.has(parsed.topic)).toBe(true);
      expect(r.ts).toBeGreaterThanOrEqual(prev);
      prev = r.ts;
      checkPayload(r);
    }
    for (const t of topics) expect(base.result.byTopic[t as keyof typeof base.result.byTopic], t).toBeGreaterThan(0);
    expect(base.result.records).toBe(base.lines.length);
  });

  it('mixes formats: OTLP and plain metrics, OTLP/JSON/text logs, webhook and plain alerts, ISO and ms times', () => {
    const has = (topic: string, pred: (p: string) => boolean) => base.lines.some((r) => r.topic === topic && pred(r.payload));
    expect(has('metrics', (p) => p.startsWith('{"resourceMetrics'))).toBe(true);
    expect(has('metrics', (p) => p.startsWith('{"ts"'))).toBe(true);
    expect(has('logs', (p) => p.startsWith('{"resourceLogs'))).toBe(true);
    expect(has('logs', (p) => p.startsWith('{"ts":"'))).toBe(true);
    expect(has('logs', (p) => /^\{"ts":\d/.test(p))).toBe(true);
    expect(has('logs', (p) => !p.startsWith('{'))).toBe(true);
    expect(has('alerts', (p) => p.includes('"version":"4"'))).toBe(true);
    expect(has('alerts', (p) => p.includes('"labels":{"alertname"') && /"(app|job)":/.test(p))).toBe(true);
  });

  it('spans come in CLIENT/SERVER pairs: a SERVER child of a CLIENT span of another service', () => {
    const spans = base.lines.filter((r) => r.topic === 'traces').flatMap(spanFacts);
    const byId = new Map(spans.map((s) => [`${s.traceId}/${s.spanId}`, s]));
    let pairs = 0;
    for (const s of spans) {
      if (s.parentSpanId === null) continue;
      const parent = byId.get(`${s.traceId}/${s.parentSpanId}`);
      expect(parent, 'parent span is in the same trace').toBeDefined();
      if (s.kind === 2) {
        expect(parent?.kind).toBe(3);
        expect(parent?.service).not.toBe(s.service);
        pairs++;
      }
    }
    expect(pairs).toBeGreaterThan(100);
  });

  it('metric points are on the scrape interval', () => {
    const { lines, result } = collect({ seed: 3, hours: 1, faults: 0, services: 10, metricIntervalMs: 60_000 });
    for (const r of lines.filter((l) => l.topic === 'metrics' && l.payload.startsWith('{"ts"'))) {
      expect(((JSON.parse(r.payload) as { ts: number }).ts - result.startMs) % 60_000).toBe(0);
    }
  });
});

describe('simulate: ground truth and topology', () => {
  it('has the requested faults on known services, with valid kinds, 5-40 min long and >= 45 min apart', () => {
    const r = simulate({ seed: 5, hours: 8, faults: 4, shapes: NO_SHAPES }).result();
    const names = new Set(r.topology.services.map((s) => s.name));
    expect(r.faults).toHaveLength(4);
    for (const f of r.faults) {
      GroundTruth.parse(f);
      expect(names.has(f.service)).toBe(true);
      expect(RootCauseKind.options).toContain(f.kind);
      expect(f.end - f.start).toBeGreaterThanOrEqual(5 * 60_000);
      expect(f.end - f.start).toBeLessThanOrEqual(40 * 60_000);
      expect(f.start).toBeGreaterThanOrEqual(r.startMs);
      expect(f.end).toBeLessThanOrEqual(r.endMs);
    }
    for (let i = 1; i < r.faults.length; i++) expect((r.faults[i] as GroundTruth).start - (r.faults[i - 1] as GroundTruth).end).toBeGreaterThanOrEqual(45 * 60_000);
  });

  it('rotates fault kinds across seeds and honours faultKinds', () => {
    const types = new Set<string>();
    for (let seed = 1; seed <= 7; seed++) for (const f of simulate({ seed, hours: 6, faults: 3 }).result().faultDetails) types.add(f.type);
    expect(types.size).toBe(7);
    const only = simulate({ seed: 2, hours: 6, faults: 3, faultKinds: ['memory_leak'] }).result();
    expect(only.faults.map((f) => f.kind)).toEqual(['resource', 'resource', 'resource']);
  });

  it('rejects configs it cannot honour with CONFIG_INVALID', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof NightshiftError ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(() => simulate({ hours: 1, faults: 3 }))).toBe('CONFIG_INVALID');
    expect(code(() => simulate({ services: 9 }))).toBe('CONFIG_INVALID');
    expect(code(() => simulate({ metricIntervalMs: 7000 }))).toBe('CONFIG_INVALID');
  });

  it('builds a layered DAG: 10-40 services, datastores are leaves, calls only go down the layers', () => {
    const rank = { edge: 0, api: 1, worker: 2, datastore: 3 } as Record<string, number>;
    for (const services of [10, 23, 40]) {
      const topo = simulate({ seed: services, services, faults: 0, noise: { staleTopologyEdges: 0 } }).result().topology;
      expect(topo.services).toHaveLength(services);
      const by = new Map(topo.services.map((s) => [s.name, s]));
      expect(by.size).toBe(services);
      for (const tier of ['edge', 'api', 'worker', 'datastore']) expect(topo.services.some((s) => s.tier === tier)).toBe(true);
      for (const s of topo.services) {
        if (s.tier === 'datastore') expect(s.depends_on).toEqual([]);
        for (const d of s.depends_on ?? []) {
          const t = by.get(d);
          expect(t, `${s.name} -> ${d}`).toBeDefined();
          expect(rank[t?.tier ?? ''] ?? -1).toBeGreaterThanOrEqual(rank[s.tier ?? ''] ?? 99);
        }
        if (s.tier !== 'edge') expect(topo.services.some((c) => c.depends_on?.includes(s.name)), `${s.name} has a caller`).toBe(s.tier !== 'worker');
      }
      // No cycles: a DFS never meets a node on its own stack.
      const state = new Map<string, 1 | 2>();
      const visit = (n: string): void => {
        expect(state.get(n)).not.toBe(1);
        if (state.get(n) === 2) return;
        state.set(n, 1);
        for (const d of by.get(n)?.depends_on ?? []) visit(d);
        state.set(n, 2);
      };
      for (const s of topo.services) visit(s.name);
    }
  });

  it('the topology file lists every call the traces show, unless told to be stale', () => {
    const edgesOf = (lines: readonly ReplayRecordLine[]): Set<string> => {
      const spans = lines.filter((r) => r.topic === 'traces').flatMap(spanFacts);
      const byId = new Map(spans.map((s) => [`${s.traceId}/${s.spanId}`, s]));
      const out = new Set<string>();
      for (const s of spans) {
        const p = s.parentSpanId ? byId.get(`${s.traceId}/${s.parentSpanId}`) : undefined;
        if (p && p.service !== s.service) out.add(`${p.service}>${s.service}`);
      }
      return out;
    };
    const fresh = collect({ seed: 4, hours: 1, faults: 0, services: 12, noise: { staleTopologyEdges: 0 } });
    const listed = new Set(fresh.result.topology.services.flatMap((s) => (s.depends_on ?? []).map((d) => `${s.name}>${d}`)));
    for (const e of edgesOf(fresh.lines)) expect(listed.has(e), e).toBe(true);
    const stale = simulate({ seed: 4, hours: 1, faults: 0, services: 12, noise: { staleTopologyEdges: 2 } }).result().topology;
    const staleCount = stale.services.reduce((n, s) => n + (s.depends_on?.length ?? 0), 0);
    expect(staleCount).toBe(listed.size - 2);
  });
});

describe('simulate: noise', () => {
  it('sends far more raw alert notifications than there are faults, also while nothing is broken', () => {
    const { lines, result } = collect({ seed: 8, hours: 3, faults: 1 });
    const f = result.faults[0] as GroundTruth;
    const alerts = lines.filter((r) => r.topic === 'alerts').flatMap(alertFacts);
    expect(alerts.length).toBe(result.rawAlerts);
    expect(result.rawAlerts).toBeGreaterThan(50 * result.faults.length);
    const quiet = alerts.filter((a) => a.ts < f.start - 10 * 60_000 || a.ts > f.end + 15 * 60_000);
    const names = new Set(quiet.map((a) => a.name));
    expect(names.has('CPUThrottlingHigh')).toBe(true);
    expect(names.has('DiskSpaceLow') || names.has('CertificateExpiringSoon')).toBe(true);
    // Flapping: one alert that resolves and fires again several times.
    const flaps = quiet.filter((a) => a.name === 'CPUThrottlingHigh' && a.status === 'resolved');
    expect(flaps.length).toBeGreaterThanOrEqual(2);
    // Repeats: the same group is re-sent while it keeps firing.
    const longRunning = quiet.filter((a) => a.name === 'CertificateExpiringSoon' || a.name === 'DiskSpaceLow');
    expect(longRunning.length).toBeGreaterThanOrEqual(10);
  });

  it('has routine changes and, when asked, a red-herring deploy on a neighbour shortly before each fault', () => {
    const { lines, result } = collect({ seed: 9, hours: 4, faults: 2, noise: { redHerringProbability: 1, changesPerHour: 3 } });
    const changes = lines.filter((r) => r.topic === 'changes').map((r) => JSON.parse(r.payload) as { ts: string | number; service: string; id: string });
    expect(changes.length).toBeGreaterThanOrEqual(4);
    expect(result.redHerrings).toHaveLength(2);
    result.redHerrings.forEach((c, i) => {
      const f = result.faults[i] as GroundTruth;
      expect(c.service).not.toBe(f.service);
      expect(f.start - c.ts).toBeGreaterThanOrEqual(2 * 60_000);
      expect(f.start - c.ts).toBeLessThanOrEqual(15 * 60_000);
      expect(changes.some((x) => x.id === c.id)).toBe(true);
    });
  });
});

describe('simulate: quiet-time noise and delivery', () => {
  it('a healthy world pages nobody: without faults every alert comes from the planned noise', () => {
    const off = { flappers: 0, longRunning: 0, changesPerHour: 0, redHerringProbability: 0, blipsPerHour: 0, maintenance: false };
    expect(collect({ seed: 23, hours: 3, faults: 0, noise: off }).result.rawAlerts).toBe(0);
    const { lines } = collect({ seed: 23, hours: 3, faults: 0 });
    const names = new Set(lines.filter((r) => r.topic === 'alerts').flatMap(alertFacts).map((a) => a.name));
    expect([...names].every((n) => ['CPUThrottlingHigh', 'DiskSpaceLow', 'CertificateExpiringSoon', 'BackupJobRunning'].includes(n))).toBe(true);
  });

  it('blips are one-point spikes of a single metric on a healthy service', () => {
    const { lines, result } = collect({ seed: 21, hours: 3, faults: 0, noise: { blipsPerHour: 6 } });
    expect(result.noise.blips.length).toBeGreaterThan(5);
    const metrics = lines.filter((r) => r.topic === 'metrics').flatMap(metricFacts);
    for (const b of result.noise.blips) {
      const series = metrics.filter((m) => m.service === b.service && m.name === b.metric && Math.abs(m.ts - b.ts) <= 10 * 60_000);
      const at = series.find((m) => m.ts === b.ts);
      const rest = series.filter((m) => m.ts !== b.ts).map((m) => m.value);
      expect(at, 'without faults every service is scraped').toBeDefined();
      if (!at) continue;
      if (b.metric === 'request_rate') expect(at.value).toBeLessThan(Math.min(...rest));
      else expect(at.value).toBeGreaterThan(Math.max(...rest));
    }
  });

  it('a nightly backup window loads a database and logs its start and end, without being a fault', () => {
    const startMs = Date.UTC(2026, 2, 2, 0, 0);
    const { lines, result } = collect({ seed: 22, hours: 4, faults: 0, startMs });
    const [w] = result.noise.maintenance;
    expect(w).toBeDefined();
    const logs = lines.filter((r) => r.topic === 'logs' && r.key === w?.service).map((r) => r.payload);
    expect(logs.some((l) => l.includes('starting nightly backup'))).toBe(true);
    expect(logs.some((l) => l.includes('nightly backup completed'))).toBe(true);
    expect(lines.filter((r) => r.topic === 'alerts').flatMap(alertFacts).some((a) => a.name === 'BackupJobRunning' && a.plain)).toBe(true);
    expect(result.faults).toEqual([]);
  });

  it('delivers records at most maxDelayMs after their event time (raw text logs: exactly at it)', () => {
    for (const r of base.lines) {
      let eventTs: number[] = [];
      if (r.topic === 'metrics') eventTs = metricFacts(r).map((m) => m.ts);
      else if (r.topic === 'logs') eventTs = logFacts(r).map((l) => l.ts);
      else if (r.topic === 'changes') {
        const { ts } = JSON.parse(r.payload) as { ts: string | number };
        eventTs = [typeof ts === 'number' ? ts : Date.parse(ts)];
      }
      for (const e of eventTs) {
        expect(r.ts - e).toBeGreaterThanOrEqual(0);
        expect(r.ts - e).toBeLessThanOrEqual(5000);
      }
      if (r.topic === 'logs' && !r.payload.startsWith('{')) expect(eventTs).toEqual([r.ts]);
    }
    const strict = collect({ seed: 11, ...SMALL, noise: { maxDelayMs: 0 } });
    for (const r of strict.lines.filter((l) => l.topic === 'metrics')) expect(metricFacts(r).every((m) => m.ts === r.ts)).toBe(true);
  });
});

describe('simulate: volume', () => {
  it('a default scenario (6 h, 20 services) has 100k-300k records', () => {
    let n = 0;
    for (const _ of simulate({ seed: 1 }).records) n++;
    expect(n).toBeGreaterThan(100_000);
    expect(n).toBeLessThan(300_000);
  });
});

describe('RecordBuffer', () => {
  it('releases records sorted by ts with ties in push order, and refuses records older than what it released', () => {
    const b = new RecordBuffer();
    b.push('logs', 'a', '1', 20);
    b.push('logs', 'b', '2', 10);
    b.push('logs', 'c', '3', 10);
    b.push('logs', 'd', '4', 40);
    expect(b.drain(30).map((r) => r.key)).toEqual(['b', 'c', 'a']);
    expect(b.size).toBe(1);
    expect(() => b.push('logs', 'e', '5', 25)).toThrow(RangeError);
    expect(b.drain(Infinity).map((r) => r.key)).toEqual(['d']);
  });
});
