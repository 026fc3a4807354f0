import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { parseTicketingConfig } from '../sinks/ticketing/config.js';
import { codeForStatus, parseRetryAfter, retryDelay, TicketingHttpError, withRetry } from '../sinks/ticketing/http.js';
import { LruMap } from '../core/lru.js';
import { compareVersion, encodeVersion, incidentSeverity, parseVersion, ticketDigest, versionOf } from '../sinks/ticketing/policy.js';
import { cause, lifecycle, noise, output } from './fakes/incidents.js';

const cfg = parseTicketingConfig({});

describe('ticketing policy', () => {
  it('derives severity from the configured rules', () => {
    expect(incidentSeverity(noise('n')[0]!, cfg.severity)).toBe('warning');
    expect(incidentSeverity(output('a'), cfg.severity)).toBe('error');
    expect(incidentSeverity(output('a', { services: ['a', 'b', 'c'], counts: { events: 1, alerts: 3, signals: 1 } }), cfg.severity)).toBe('critical');
    const strict = parseTicketingConfig({ severity: { error: { minAlerts: 1, minTopConfidence: 0.9 }, warning: { minServices: 5 } } });
    expect(incidentSeverity(output('a'), strict.severity)).toBe('info');
    expect(incidentSeverity(output('a', { root_causes: [cause(1, 'db', 'errors', 0.95)] }), strict.severity)).toBe('error');
  });

  it('digest changes with what a responder reads, not with counts or small confidence drift', () => {
    const [, v2, v3, v4, v5] = lifecycle('i');
    const d = (o: typeof v2) => ticketDigest(o!, 'error');
    expect(d(v2)).toBe(d(v3));
    expect(d(v3)).not.toBe(d(v4));
    expect(d(v4)).not.toBe(d(v5));
    const base = output('i', { root_causes: [cause(1, 'db', 'errors', 0.71), cause(2, 'api', 'latency', 0.2), cause(3, 'web', 'errors', 0.03)] });
    const same = [
      { ...base, counts: { events: 9999, alerts: 77, signals: 50 } },
      { ...base, root_causes: [cause(1, 'db', 'errors', 0.78), cause(2, 'api', 'latency', 0.15), cause(3, 'cdn', 'deploy', 0.05)] },
    ];
    for (const o of same) expect(ticketDigest(o, 'error')).toBe(ticketDigest(base, 'error'));
    const different = [
      { ...base, root_causes: [cause(1, 'db', 'errors', 0.81)] },
      { ...base, root_causes: [cause(1, 'api', 'errors', 0.71)] },
      { ...base, root_causes: [cause(1, 'db', 'errors', 0.71), cause(2, 'cdn', 'latency', 0.2)] },
      { ...base, services: ['checkout', 'payments', 'db'] },
      { ...base, status: 'resolved' as const },
    ];
    for (const o of different) expect(ticketDigest(o, 'error')).not.toBe(ticketDigest(base, 'error'));
    expect(ticketDigest(base, 'critical')).not.toBe(ticketDigest(base, 'error'));
  });

  it('encodes versions that round-trip, inside a prefix, and rejects junk', () => {
    const v = versionOf(lifecycle('i')[4]!, 'error');
    expect(v.resolved).toBe(true);
    expect(parseVersion(`nightshift ${encodeVersion(v)}`)).toEqual(v);
    expect(parseVersion('set by a human')).toBeNull();
    expect(parseVersion(undefined)).toBeNull();
    expect(encodeVersion(v).length).toBeLessThan(90);
  });

  it('orders versions by event time, resolve after open at equal time', () => {
    const [v1, v2, v3, v4, v5] = lifecycle('i').map((o) => versionOf(o, 'error'));
    expect(compareVersion(v2!, v1!)).toBe('newer');
    expect(compareVersion(v1!, v2!)).toBe('stale');
    expect(compareVersion(v3!, v2!)).toBe('same');
    expect(compareVersion(v4!, v4!)).toBe('same');
    expect(compareVersion(v5!, v4!)).toBe('newer');
    expect(compareVersion(v1!, null)).toBe('newer');
    const openAtT = { ts: 100, resolved: false, digest: 'aaaaaa' };
    const resolvedAtT = { ts: 100, resolved: true, digest: 'bbbbbb' };
    expect(compareVersion(resolvedAtT, openAtT)).toBe('newer');
    expect(compareVersion(openAtT, resolvedAtT)).toBe('stale');
  });
});

describe('ticketing HTTP classification and retry', () => {
  it('classifies status codes', () => {
    expect(codeForStatus(429)).toBe('RATE_LIMITED');
    expect(codeForStatus(503)).toBe('IO_ERROR');
    expect(codeForStatus(408)).toBe('TIMEOUT');
    expect(codeForStatus(401)).toBe('CONFIG_INVALID');
    expect(codeForStatus(404)).toBe('CONFIG_INVALID');
    expect(codeForStatus(302)).toBe('CONFIG_INVALID');
    expect(codeForStatus(400)).toBe('SCHEMA_MISMATCH');
    expect(codeForStatus(422)).toBe('SCHEMA_MISMATCH');
  });

  it('reads Retry-After as seconds or an HTTP-date', () => {
    const now = Date.UTC(2024, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(new Date(now + 7000).toUTCString(), now)).toBe(7000);
    expect(parseRetryAfter(new Date(now - 7000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('backs off exponentially, honours Retry-After up to the cap, and stops at maxAttempts', async () => {
    const policy = parseTicketingConfig({ http: { maxAttempts: 4, backoffBaseMs: 10, backoffMaxMs: 25, maxRetryAfterMs: 1000 } }).http;
    const io = new TicketingHttpError('IO_ERROR', 'x', 503);
    expect([1, 2, 3].map((n) => retryDelay(io, n, policy))).toEqual([10, 20, 25]);
    expect(retryDelay(new TicketingHttpError('RATE_LIMITED', 'x', 429, 400), 1, policy)).toBe(400);
    expect(retryDelay(new TicketingHttpError('RATE_LIMITED', 'x', 429, 3_600_000), 1, policy)).toBe(1000);

    const waits: number[] = [];
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw io;
        },
        policy,
        { sleep: async (ms) => void waits.push(ms) },
      ),
    ).rejects.toBe(io);
    expect(calls).toBe(4);
    expect(waits).toEqual([10, 20, 25]);

    calls = 0;
    const permanent = new TicketingHttpError('SCHEMA_MISMATCH', 'bad', 400);
    await expect(withRetry(async () => (calls++, Promise.reject(permanent)), policy, { sleep: async () => undefined })).rejects.toBe(permanent);
    expect(calls).toBe(1);

    calls = 0;
    const r = await withRetry(async () => (++calls < 3 ? Promise.reject(new NightshiftError('TIMEOUT', 't')) : 'ok'), policy, { sleep: async () => undefined });
    expect(r).toBe('ok');
    expect(calls).toBe(3);
  });
});

describe('LRU cache', () => {
  it('holds at most its capacity and forgets the least recently used', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    expect(m.get('a')).toBe(1);
    m.set('c', 3);
    expect(m.size).toBe(2);
    expect(m.get('b')).toBeUndefined();
    expect(m.get('a')).toBe(1);
    expect(m.evictions).toBe(1);
    expect(() => new LruMap(0)).toThrow(RangeError);
  });
});
