import { describe, expect, it } from 'vitest';
import { AlertPerception, alertRef } from '../perception/alerts.js';
import { AlertsConfig, LogsConfig, MetricsConfig, RedConfig } from '../perception/config.js';
import { alertHint, logHint, metricHint } from '../perception/hints.js';
import { LogPerception } from '../perception/logs.js';
import { MetricPerception, seriesId } from '../perception/metrics.js';
import { RedPerception, redRef } from '../perception/red.js';
import { Topology } from '../perception/topology.js';
import { Signal } from '../schemas/signal.js';
import { MIN, T0, alert, call, log, metric, rng, span } from './perception-fixtures.js';

describe('hints (conventions.md)', () => {
  it('maps metric names in rule order', () => {
    expect(metricHint('latency_p95_ms')).toEqual({ kind: 'latency', direction: 'up' });
    expect(metricHint('http_server_duration_p99')).toEqual({ kind: 'latency', direction: 'up' });
    expect(metricHint('error_rate')).toEqual({ kind: 'errors', direction: 'up' });
    expect(metricHint('memory_used_bytes')).toEqual({ kind: 'resource', direction: 'up' });
    expect(metricHint('cpu_utilization')).toEqual({ kind: 'saturation', direction: 'up' });
    expect(metricHint('connection_pool_utilization')).toEqual({ kind: 'saturation', direction: 'up' });
    expect(metricHint('request_rate')).toEqual({ kind: 'unknown', direction: 'both' });
    expect(metricHint('temperature')).toEqual({ kind: 'unknown', direction: 'both' });
  });
  it('maps alert names and log levels/texts', () => {
    expect(alertHint('HighLatency')).toBe('latency');
    expect(alertHint('HighErrorRate')).toBe('errors');
    expect(alertHint('InstanceDown')).toBe('unknown');
    expect(logHint('error', 'whatever')).toBe('errors');
    expect(logHint('fatal', 'whatever')).toBe('errors');
    expect(logHint('warn', 'request timed out after <*>')).toBe('latency');
    expect(logHint('warn', 'connection pool exhausted')).toBe('saturation');
    expect(logHint('warn', 'GC overhead limit exceeded')).toBe('resource');
    expect(logHint('warn', 'cache miss')).toBe('unknown');
    expect(logHint('info', 'request timed out')).toBe('unknown');
  });
});

describe('alerts', () => {
  const mk = (cfg: Partial<AlertsConfig> = {}) => new AlertPerception(AlertsConfig.parse(cfg));

  it('signals once per occurrence; re-sends of a firing alert are duplicates', () => {
    const a = mk();
    const first = a.observe(alert('api', T0, 'HighErrorRate', 'firing', 'critical', 'fp1'));
    expect(first).toHaveLength(1);
    expect(Signal.parse(first[0])).toBeTruthy();
    expect(first[0]).toMatchObject({ type: 'alert', service: 'api', hint: 'errors', ref: alertRef('api', 'HighErrorRate'), score: 0.9 });
    for (let i = 1; i <= 20; i++) expect(a.observe(alert('api', T0 + i * MIN, 'HighErrorRate', 'firing', 'critical', 'fp1'))).toHaveLength(0);
    expect(a.stats()).toMatchObject({ notifications: 21, duplicates: 20, signalled: 1 });
    // Resolved, then firing again: a new occurrence, same ref.
    a.observe(alert('api', T0 + 30 * MIN, 'HighErrorRate', 'resolved', 'critical', 'fp1'));
    const again = a.observe(alert('api', T0 + 40 * MIN, 'HighErrorRate', 'firing', 'critical', 'fp1'));
    expect(again).toHaveLength(1);
    expect(again[0]!.ref).toBe(first[0]!.ref);
    expect(again[0]!.id).not.toBe(first[0]!.id);
  });

  it('suppresses a flapping fingerprint beyond flapMax occurrences per window', () => {
    const a = mk({ flapMax: 3, flapWindowMs: 60 * MIN });
    let signals = 0;
    for (let i = 0; i < 10; i++) {
      signals += a.observe(alert('db', T0 + i * 4 * MIN, 'DiskIO', 'firing', 'warning', 'flap')).length;
      a.observe(alert('db', T0 + i * 4 * MIN + MIN, 'DiskIO', 'resolved', 'warning', 'flap'));
    }
    expect(signals).toBe(3);
    expect(a.stats().flapping).toBe(7);
    // After a quiet hour it may signal again.
    expect(a.observe(alert('db', T0 + 200 * MIN, 'DiskIO', 'firing', 'warning', 'flap'))).toHaveLength(1);
  });

  it('groups instances of one rule under one ref', () => {
    const a = mk();
    const refs = new Set<string>();
    for (let pod = 0; pod < 4; pod++) for (const s of a.observe(alert('api', T0, 'HighCPU', 'firing', 'warning', `api/HighCPU/pod-${pod}`))) refs.add(s.ref);
    expect(refs.size).toBe(1);
    expect(a.stats().signalled).toBe(4);
  });

  it('scores by severity; info never signals', () => {
    const a = mk();
    expect(a.observe(alert('x', T0, 'A', 'firing', 'warning', 'w'))[0]!.score).toBe(0.4);
    expect(a.observe(alert('x', T0, 'B', 'firing', 'info', 'i'))).toHaveLength(0);
    expect(a.stats().info).toBe(1);
  });

  it('bounds fingerprints (LRU)', () => {
    const a = mk({ maxFingerprints: 10 });
    for (let i = 0; i < 100; i++) a.observe(alert('x', T0 + i, 'A', 'firing', 'critical', `fp${i}`));
    expect(a.stats().fingerprints).toBe(10);
    expect(a.stats().evicted).toBe(90);
  });
});

describe('logs', () => {
  const mk = (cfg: Partial<LogsConfig> = {}) => new LogPerception(LogsConfig.parse(cfg));
  /** 25 minutes of normal chatter: warm-up passes. */
  const warm = (p: LogPerception, svc: string) => {
    const out = [];
    for (let i = 0; i < 50; i++) {
      out.push(...p.observe(log(svc, T0 + i * 30_000, 'info', `user ${1000 + i} logged in from 10.0.0.${i % 250}`)));
      out.push(...p.observe(log(svc, T0 + i * 30_000 + 1, 'warn', `cache miss for key k${i}`)));
    }
    return out;
  };

  /** Logs `msg(i)` n times, 10 s apart, from t; returns the signals. */
  const repeat = (p: LogPerception, svc: string, t: number, level: 'warn' | 'error' | 'info', msg: (i: number) => string, n = 3) =>
    Array.from({ length: n }, (_, i) => p.observe(log(svc, t + i * 10_000, level, msg(i)))).flat();

  it('emits template_new once a new error/warn template recurs after warm-up, scored by level', () => {
    const p = mk();
    expect(warm(p, 'api')).toHaveLength(0);
    const before = p.stats().newDuringWarmup;
    // During warm-up (other service, first minute) a new error template is not learned as vocabulary: a fault may be
    // under way at start-up. It stays a suspect and signals, weaker than after warm-up.
    const suspect = repeat(p, 'db', T0, 'error', (i) => `disk slow on /dev/sda${i}`);
    expect(suspect).toHaveLength(1);
    expect(suspect[0]).toMatchObject({ type: 'template_new', service: 'db', hint: 'errors' });
    expect(suspect[0]!.score).toBeCloseTo(0.48, 5);
    expect(p.stats().newDuringWarmup).toBe(before + 1);
    // A warn template of the warm-up is still start-up chatter.
    expect(repeat(p, 'db', T0 + 1000, 'warn', (i) => `cache cold, warming shard ${i}`)).toHaveLength(0);
    const t = T0 + 26 * MIN;
    expect(repeat(p, 'api', t, 'info', (i) => `feature flag refreshed (${i} flags)`)).toHaveLength(0);
    const errs = repeat(p, 'api', t, 'error', (i) => `upstream timeout calling db after ${3000 + i}ms`, 5);
    expect(errs).toHaveLength(1);
    const e = errs[0]!;
    expect(e).toMatchObject({ type: 'template_new', service: 'api', score: 0.8, hint: 'errors', ts: t + 20_000 });
    const [w] = repeat(p, 'api', t, 'warn', (i) => `connection pool exhausted (${i}/50)`);
    expect(w).toMatchObject({ type: 'template_new', score: 0.5, hint: 'saturation' });
    const tpl = p.template('api', e.ref);
    expect(tpl).toMatchObject({ service: 'api', template: 'upstream timeout calling db after <*>', level: 'error', count: 5, first_seen: t });
    // Refs are per service: the same text in another service is another template.
    warm(p, 'web');
    const [other] = repeat(p, 'web', t, 'error', (i) => `upstream timeout calling db after ${10 + i}ms`);
    expect(other!.ref).not.toBe(e.ref);
  });

  it('a rare new line that does not recur is not news; text long known elsewhere scores low', () => {
    const p = mk({ newMinCount: 3, newWindowMs: 10 * MIN, globalKnownMs: 30 * MIN, globalKnownFactor: 0.3 });
    warm(p, 'api');
    warm(p, 'web');
    const t = T0 + 26 * MIN;
    // Three occurrences, but spread over more than the window.
    const spread = [0, 6, 12].flatMap((m) => p.observe(log('api', t + m * MIN, 'error', `request validation failed for user ${m}`)));
    expect(spread).toHaveLength(0);
    // web has logged this error since T0 (warm-up); api seeing it 40 minutes later is routine vocabulary.
    p.observe(log('web', T0 + 1000, 'error', 'failed to flush metrics to statsd: connection refused'));
    const routine = repeat(p, 'api', T0 + 40 * MIN, 'error', () => 'failed to flush metrics to statsd: connection refused');
    expect(routine).toHaveLength(1);
    expect(routine[0]!.score).toBeCloseTo(0.24, 5);
  });

  it('emits one template_burst per bucket when an error template rate jumps over its baseline', () => {
    const p = mk();
    warm(p, 'api');
    // A steady trickle of one error per minute for 30 minutes: the baseline.
    let out = [];
    for (let i = 0; i < 30; i++) out.push(...p.observe(log('api', T0 + i * MIN + 5, 'error', `retrying request ${i} to db`)));
    expect(out.filter((s) => s.type === 'template_burst')).toHaveLength(0);
    out = [];
    for (let i = 0; i < 40; i++) out.push(...p.observe(log('api', T0 + 31 * MIN + i * 1000, 'error', `retrying request ${i} to db`)));
    const bursts = out.filter((s) => s.type === 'template_burst');
    expect(bursts).toHaveLength(1);
    expect(bursts[0]!.hint).toBe('errors');
    expect(bursts[0]!.score).toBeGreaterThanOrEqual(0.5);
    // Info bursts never signal (traffic, not trouble).
    out = [];
    for (let i = 0; i < 200; i++) out.push(...p.observe(log('api', T0 + 33 * MIN + i * 100, 'info', `user ${i} logged in from 10.0.0.1`)));
    expect(out).toHaveLength(0);
  });

  it('bounds services and templates per service', () => {
    const p = mk({ maxServices: 3, maxTemplatesPerService: 5 });
    for (let s = 0; s < 10; s++) p.observe(log(`svc${s}`, T0, 'info', 'hello'));
    expect(p.stats().services).toBe(3);
    expect(p.stats().servicesEvicted).toBe(7);
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
    for (const w of words) p.observe(log('svc9', T0, 'info', `${w} ${w} ${w} happened here now`));
    expect(p.stats().templatesEvicted).toBeGreaterThanOrEqual(5);
  });
});

describe('metrics', () => {
  const mk = (cfg: Partial<MetricsConfig> = {}) => new MetricPerception(MetricsConfig.parse(cfg));

  it('flags a spike once per cooldown, with baseline and peak for the bundle', () => {
    const p = mk();
    const r = rng(7);
    const sigs = [];
    for (let i = 0; i < 60; i++) sigs.push(...p.observe(metric('db', 'latency_p95_ms', T0 + i * 30_000, 20 + r() * 2)));
    expect(sigs).toHaveLength(0);
    for (let i = 60; i < 70; i++) sigs.push(...p.observe(metric('db', 'latency_p95_ms', T0 + i * 30_000, i === 65 ? 400 : 200 + r())));
    expect(sigs).toHaveLength(1);
    const s = sigs[0]!;
    const id = seriesId('db', 'latency_p95_ms', {});
    expect(s).toMatchObject({ type: 'metric_anomaly', service: 'db', hint: 'latency', ref: id, ts: T0 + 60 * 30_000 });
    expect(s.score).toBeGreaterThanOrEqual(0.8);
    const info = p.seriesInfo(id)!;
    expect(info.baseline).toBeGreaterThan(19);
    expect(info.baseline).toBeLessThan(23);
    expect(info.peak).toBe(400);
  });

  it('needs two anomalous points in a row and a material change', () => {
    const p = mk();
    const r = rng(9);
    for (let i = 0; i < 60; i++) p.observe(metric('db', 'latency_p95_ms', T0 + i * 30_000, 20 + r()));
    // A one-point blip: nothing.
    expect(p.observe(metric('db', 'latency_p95_ms', T0 + 60 * 30_000, 300))).toHaveLength(0);
    expect(p.observe(metric('db', 'latency_p95_ms', T0 + 61 * 30_000, 20.5))).toHaveLength(0);
    // An error ratio moving from ~0.1% to 1%: statistically odd, operationally nothing.
    for (let i = 0; i < 60; i++) p.observe(metric('w', 'error_rate', T0 + i * 30_000, 0.001 + r() * 0.0002));
    expect([61, 62, 63].flatMap((i) => p.observe(metric('w', 'error_rate', T0 + i * 30_000, 0.01)))).toHaveLength(0);
    expect([64, 65].flatMap((i) => p.observe(metric('w', 'error_rate', T0 + i * 30_000, 0.2)))).toHaveLength(1);
  });

  it('ignores a drop of an up-only metric and late points', () => {
    const p = mk();
    for (let i = 0; i < 60; i++) p.observe(metric('db', 'cpu_utilization', T0 + i * 30_000, 0.5 + (i % 3) * 0.01));
    expect(p.observe(metric('db', 'cpu_utilization', T0 + 61 * 30_000, 0.01))).toHaveLength(0);
    expect(p.observe(metric('db', 'cpu_utilization', T0, 0.99))).toHaveLength(0);
    expect(p.stats().outOfOrder).toBe(1);
  });

  it('labels make distinct series; series are LRU-bounded', () => {
    expect(seriesId('a', 'm', { x: '1', y: '2' })).toBe(seriesId('a', 'm', { y: '2', x: '1' }));
    expect(seriesId('a', 'm', { x: '1' })).not.toBe(seriesId('a', 'm', { x: '2' }));
    const p = mk({ maxSeries: 5 });
    for (let i = 0; i < 12; i++) p.observe(metric('a', 'm', T0, 1, { pod: `p${i}` }));
    expect(p.stats()).toMatchObject({ series: 5, seriesEvicted: 7 });
  });
});

describe('RED from spans', () => {
  const mk = (cfg: Partial<RedConfig> = {}, topo = new Topology()) => ({ red: new RedPerception(RedConfig.parse(cfg), topo), topo });

  it('learns the edge from parent/child spans (child first) and flags edge and service latency', () => {
    const { red, topo } = mk();
    const r = rng(3);
    const sigs = [];
    let n = 0;
    for (let m = 0; m < 40; m++) {
      const slow = m >= 30;
      for (let k = 0; k < 20; k++) {
        const ts = T0 + m * MIN + k * 2500;
        for (const s of call('api', 'db', ts, `t${n++}`, (slow ? 300 : 10) + r() * 2)) sigs.push(...red.observe(s));
      }
    }
    sigs.push(...red.flush());
    expect(topo.hasEdge('api', 'db')).toBe(true);
    expect(topo.hasEdge('db', 'api')).toBe(false);
    const edge = sigs.filter((s) => s.type === 'red_latency' && s.peer === 'db' && s.side === 'server');
    expect(edge.length).toBeGreaterThanOrEqual(1);
    expect(edge[0]).toMatchObject({ service: 'api', peer: 'db', hint: 'latency', ref: redRef('api->db', 'latency'), ts: T0 + 30 * MIN });
    // The caller's CLIENT spans of the same calls: the client edge sees it too.
    const client = sigs.filter((s) => s.type === 'red_latency' && s.peer === 'db' && s.side === 'client');
    expect(client[0]).toMatchObject({ service: 'api', peer: 'db', ref: redRef('api=>db', 'latency'), ts: T0 + 30 * MIN });
    const svc = sigs.filter((s) => s.type === 'red_latency' && s.peer === undefined);
    expect(svc.map((s) => s.service)).toContain('db');
    // The client spans of api are not api's own RED.
    expect(svc.map((s) => s.service)).not.toContain('api');
    expect(red.seriesInfo(edge[0]!.ref)!.peak).toBeGreaterThan(250);
    expect(red.stats().pendingResolved).toBeGreaterThan(0);
  });

  it('a single slow minute is not enough (persistence)', () => {
    const { red } = mk();
    const sigs = [];
    let n = 0;
    for (let m = 0; m < 40; m++)
      for (let k = 0; k < 25; k++) for (const s of call('api', 'db', T0 + m * MIN + k * 2400, `t${n++}`, m === 30 ? 300 : 10 + (k % 3))) sigs.push(...red.observe(s));
    sigs.push(...red.flush());
    expect(sigs.filter((s) => s.type === 'red_latency')).toHaveLength(0);
  });

  /**
   * web calls pay (20 a minute, silent from minute `payStops`) while shop calls cart, cart calls stock and stock calls
   * db; no spans at all in minutes [gap[0], gap[1]).
   */
  const feed = (red: RedPerception, minutes: number, payStops: number, gap: readonly [number, number] = [Infinity, Infinity]): Signal[] => {
    const sigs: Signal[] = [];
    let n = 0;
    const pairs = [['shop', 'cart'], ['cart', 'stock'], ['stock', 'db']] as const;
    for (let m = 0; m < minutes; m++) {
      if (m < gap[0] || m >= gap[1]) {
        for (let k = 0; k < 20; k++) {
          const ts = T0 + m * MIN + k * 3000;
          if (m < payStops) {
            const failing = m >= 30 && k % 2 === 0;
            for (const s of call('web', 'pay', ts, `t${n++}`, 10 + (k % 5), failing ? 'error' : 'ok')) sigs.push(...red.observe(s));
          }
          for (const [a, b] of pairs) for (const s of call(a, b, ts + 500, `t${n++}`, 10 + (k % 5))) sigs.push(...red.observe(s));
        }
      }
      sigs.push(...red.advance(T0 + (m + 1) * MIN));
    }
    return sigs;
  };

  it('flags edge errors and a collapse of the request rate', () => {
    const { red } = mk();
    const sigs = feed(red, 45, 40);
    const errs = sigs.filter((s) => s.type === 'red_errors');
    expect(errs.map((s) => `${s.service}>${s.peer ?? ''}`)).toEqual(expect.arrayContaining(['web>pay', 'pay>']));
    const rate = sigs.filter((s) => s.type === 'red_rate');
    expect(rate.length).toBeGreaterThanOrEqual(1);
    expect(rate[0]!.summary).toContain('0 requests');
    expect(new Set(rate.map((s) => s.peer ?? s.service))).toEqual(new Set(['pay']));
    expect(red.stats().feedGaps).toBe(0);
  });

  it('a gap in the span feed (every scope silent at once) blames no service', () => {
    const { red } = mk();
    // Silent from minute 40 to 48, then back at the old rate: the gap taught the rate detectors nothing either.
    const sigs = feed(red, 60, Infinity, [40, 48]);
    expect(sigs.filter((s) => s.type === 'red_rate')).toEqual([]);
    expect(red.stats().feedGaps).toBeGreaterThan(0);
  });

  it('counts unanswered CLIENT spans (callee down) for the callee that answered that call name before', () => {
    const { red } = mk();
    const sigs = [];
    let n = 0;
    for (let m = 0; m < 40; m++) {
      const down = m >= 30;
      for (let k = 0; k < 6; k++) {
        const ts = T0 + m * MIN + k * 10_000;
        const trace = `t${n++}`;
        // Two kinds of calls from api: GET to cache (answered unless it is down), SELECT to db (always answered).
        if (!down) red.observe(span('cache', ts, trace, `${trace}-s`, `${trace}-c`, 'server', 1, 'ok', 'GET'));
        sigs.push(...red.observe(span('api', ts, trace, `${trace}-c`, undefined, 'client', down ? 2 : 1.5, down ? 'error' : 'ok', 'GET')));
        const tr2 = `u${n}`;
        for (const s of call('api', 'db', ts, tr2, 5)) sigs.push(...red.observe(s));
      }
      sigs.push(...red.advance(T0 + (m + 1) * MIN));
    }
    const errs = sigs.filter((s) => s.type === 'red_errors');
    expect(errs.length).toBeGreaterThanOrEqual(1);
    expect(errs[0]).toMatchObject({ service: 'api', peer: 'cache', hint: 'errors', ts: T0 + 30 * MIN });
    expect(red.stats().clientsAttributed).toBeGreaterThanOrEqual(50);
    // db calls were answered all along: nothing on api -> db.
    expect(sigs.some((s) => s.peer === 'db')).toBe(false);
  });

  it('drops children whose parent never comes, and bounds the pending and span index maps', () => {
    const { red } = mk({ maxPending: 10, maxSpanIndex: 50, pendingMs: 1000 });
    for (let i = 0; i < 100; i++) red.observe(span('db', T0 + i * 100, `t${i}`, `s${i}`, `missing${i}`, 'server', 5));
    const st = red.stats();
    expect(st.pendingEvicted + st.pendingExpired).toBe(90);
    expect(st.spanIndexEvicted).toBe(50);
    red.advance(T0 + 60_000);
    expect(red.stats().pendingExpired + red.stats().pendingEvicted).toBe(100);
  });

  it('the span index forgets its oldest span first (ring order), so only a child of an evicted parent waits', () => {
    const { red } = mk({ maxSpanIndex: 3, pendingMs: 60_000 });
    const edges = (): number => red.stats().edgesSeen;
    const evicted = (): number => red.stats().spanIndexEvicted;
    // Parents p0..p3 (a repeat of p1 is not a new entry): the index holds p1 p2 p3.
    for (const [i, id] of ['p0', 'p1', 'p2', 'p1', 'p3'].entries()) red.observe(span('api', T0 + i, 't', id, undefined, 'server', 5));
    expect(evicted()).toBe(1);
    // A span is indexed before its parent is looked up: c3 evicts p1 and finds p3 (api -> db).
    red.observe(span('db', T0 + 10, 't', 'c3', 'p3', 'server', 5));
    expect([edges(), evicted()]).toEqual([1, 2]);
    // c0 evicts p2; p0 left long ago: c0 waits for a parent.
    red.observe(span('db', T0 + 11, 't', 'c0', 'p0', 'server', 5));
    expect([edges(), evicted()]).toEqual([1, 3]);
    // c2 evicts p3; p2 is gone too.
    red.observe(span('db', T0 + 12, 't', 'c2', 'p2', 'server', 5));
    expect([edges(), evicted()]).toEqual([1, 4]);
    // d evicts c3 and finds c0, the newest but one (db -> cache).
    red.observe(span('cache', T0 + 13, 't', 'd', 'c0', 'server', 5));
    expect([edges(), evicted()]).toEqual([2, 5]);
  });

  it('bounds RED scopes (LRU) and open buckets', () => {
    const { red } = mk({ maxScopes: 3 });
    // Three new services a minute: older scopes are evicted.
    for (let m = 0; m < 3; m++) for (let s = 0; s < 3; s++) red.observe(span(`svc${m * 3 + s}`, T0 + m * MIN + s, `t${m}-${s}`, 'x', undefined, 'server', 5));
    // Ten services in one bucket: only three are aggregated.
    for (let s = 0; s < 10; s++) red.observe(span(`burst${s}`, T0 + 3 * MIN + s, `b${s}`, 'x', undefined, 'server', 5));
    red.flush();
    const st = red.stats();
    expect(st.scopes).toBe(3);
    expect(st.scopesEvicted).toBeGreaterThan(0);
    expect(st.bucketScopeCap).toBeGreaterThan(0);
  });

  it('measures services without span kinds on all their spans', () => {
    const { red } = mk();
    const sigs = [];
    for (let m = 0; m < 40; m++)
      for (let k = 0; k < 25; k++) sigs.push(...red.observe(span('legacy', T0 + m * MIN + k * 2000, `t${m}-${k}`, 'x', undefined, 'unspecified', m >= 30 ? 500 : 10)));
    sigs.push(...red.flush());
    expect(sigs.some((s) => s.type === 'red_latency' && s.service === 'legacy')).toBe(true);
  });
});

describe('topology', () => {
  const file = {
    services: [
      { name: 'web', depends_on: ['api'] },
      { name: 'api', depends_on: ['db', 'db-replica'] },
      { name: 'db' },
    ],
  };

  it('knows dependencies, callers, neighbours and bounded hop distances', () => {
    const t = new Topology(file);
    expect(t.dependencies('api')).toEqual(['db', 'db-replica']);
    expect(t.callers('api')).toEqual(['web']);
    expect(t.neighbours('api')).toEqual(['db', 'db-replica', 'web']);
    expect(t.distance('web', 'db', 2)).toBe(2);
    expect(t.distance('web', 'db', 1)).toBeUndefined();
    expect(t.distance('ghost', 'ghost', 2)).toBe(0);
    expect(t.distance('ghost', 'web', 5)).toBeUndefined();
    expect([...t.dependenciesWithin('web', 2)].sort()).toEqual(['api', 'db', 'db-replica']);
    expect(t.edgesAmong(new Set(['web', 'api', 'db']))).toEqual([
      ['api', 'db'],
      ['web', 'api'],
    ]);
  });

  it('learns edges up to its cap, then refuses and counts', () => {
    const t = new Topology(file, 2);
    expect(t.learn('api', 'db')).toBe(false); // already static
    expect(t.learn('api', 'cache')).toBe(true);
    expect(t.learn('web', 'cdn')).toBe(true);
    expect(t.learn('web', 'auth')).toBe(false);
    expect(t.stats()).toMatchObject({ staticEdges: 3, learnedEdges: 2, learnedRefused: 1 });
    // Distances see learned edges (the cache is invalidated).
    expect(t.distance('cache', 'db', 2)).toBe(2);
  });

  it('finds the dependency a log text names, as a whole word, longest name first', () => {
    const t = new Topology(file);
    expect(t.dependencyNamedIn('api', 'connection refused to db:5432')).toBe('db');
    expect(t.dependencyNamedIn('api', 'timeout reading from db-replica after 3s')).toBe('db-replica');
    expect(t.dependencyNamedIn('api', 'dbx is slow')).toBeUndefined();
    expect(t.dependencyNamedIn('web', 'connection refused to db:5432')).toBeUndefined(); // not web's dependency
  });

  it('log signals carry the named dependency as peer', () => {
    const t = new Topology(file);
    const p = new LogPerception(LogsConfig.parse({ warmupMs: 0, warmupLogs: 0 }), (s, text) => t.dependencyNamedIn(s, text));
    p.observe(log('api', T0, 'info', 'started'));
    const sigs = [0, 1, 2].flatMap((i) => p.observe(log('api', T0 + 1000 + i, 'error', `connection refused to db:${5432 + i}`)));
    expect(sigs).toHaveLength(1);
    expect(sigs[0]).toMatchObject({ service: 'api', peer: 'db', type: 'template_new' });
  });
});
