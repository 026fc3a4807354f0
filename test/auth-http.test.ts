import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { warnIfExposed } from '../core/auth/index.js';
import { silentLogger } from '../core/log.js';
import { MetricsRegistry } from '../core/metrics.js';
import { startOpsServer, type OpsServer } from '../core/ops.js';
import { defaultIngestConfig, type InputKind } from '../ingest/config.js';
import { GatewayHandler, ROUTES } from '../ingest/gateway/index.js';
import { startGateway, type Gateway } from '../pipeline/kafka/gateway.js';
import { captureLog, tokenFixture, type TokenFixture } from './helpers/auth.js';
import { readTopic, testCluster } from './helpers/kafka.js';

/**
 * Authentication on the real HTTP servers with a real client (fetch): the gateway's write endpoints and the ops
 * server's /metrics refuse requests without a valid bearer token when tokens are configured, the probes stay open,
 * tokens rotate without a restart, each token has its rate limit, and every accepted write is audited by name.
 */
const CI = 'ci-0123456789abcdef0123456789abcdef';
const PROM = 'prom-0123456789abcdef0123456789abcdef';
const NEW = 'new-0123456789abcdef0123456789abcdef';

const servers: Server[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const c of closers.reverse()) await c();
});

async function fixture(tokens: Record<string, string>, log = silentLogger(), limit?: { perSecond: number; burst: number }, readOnly: string[] = []): Promise<TokenFixture> {
  const f = await tokenFixture(tokens, log, limit, readOnly);
  closers.push(() => f.close());
  return f;
}

/** The gateway's handler on a real HTTP server, with a publish function that records what it was given. */
async function gateway(f: TokenFixture | null, log = silentLogger()): Promise<{ url: string; published: Array<[InputKind, string]> }> {
  const published: Array<[InputKind, string]> = [];
  const h = new GatewayHandler({ ingest: defaultIngestConfig(), maxBodyBytes: 64 * 1024, ackTimeoutMs: 2000, log, ...(f ? { auth: f.auth } : {}) }, async (kind, _key, body) => {
    published.push([kind, body]);
  });
  const s = createServer((req, res) => void h.handle(req, res));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, published };
}

async function ops(f: TokenFixture | null, host?: string): Promise<OpsServer & { url: string }> {
  const o = await startOpsServer({ port: 0, ...(host ? { host } : {}), healthy: () => true, ready: () => true, metrics: () => 'nightshift_up 1\n', ...(f ? { auth: f.auth } : {}) });
  closers.push(() => o.close());
  return { ...o, url: `http://127.0.0.1:${o.port}` };
}

const T = Date.UTC(2026, 2, 2, 12);
const LOGS = JSON.stringify({
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout-api' } }] },
      scopeLogs: [{ logRecords: [0, 1, 2].map((i) => ({ timeUnixNano: String((T + i) * 1e6), severityText: 'ERROR', body: { stringValue: `payment failed ${i}` } })) }],
    },
  ],
});
const CHANGE = JSON.stringify({ ts: T, service: 'checkout-api', kind: 'deploy', id: 'd-1', summary: 'v2', author: 'ci' });
const ALERTS = JSON.stringify({ version: '4', alerts: [{ status: 'firing', labels: { alertname: 'X', service: 'checkout-api' }, startsAt: '2026-03-02T12:00:00Z' }] });
const BODY: Record<string, string> = { logs: LOGS, changes: CHANGE, alerts: ALERTS, metrics: '{"resourceMetrics":[]}', traces: '{"resourceSpans":[]}' };

function post(url: string, body: string, token?: string, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra } });
}

describe('gateway writes with tokens configured', () => {
  it('refuse every write endpoint without a token, with a wrong one or another scheme (401, WWW-Authenticate); accept a good one', async () => {
    const f = await fixture({ ci: CI });
    const gw = await gateway(f);
    for (const [path, route] of Object.entries(ROUTES)) {
      const none = await post(`${gw.url}${path}`, BODY[route.kind]!);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="nightshift"');
      expect(await none.text()).toMatch(/Authorization: Bearer/);
      const bad = await post(`${gw.url}${path}`, BODY[route.kind]!, CI.replace('ci-0', 'ci-1'));
      expect(bad.status, path).toBe(401);
      expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="nightshift", error="invalid_token"');
      const basic = await post(`${gw.url}${path}`, BODY[route.kind]!, undefined, { authorization: `Basic ${Buffer.from(`ci:${CI}`).toString('base64')}` });
      expect(basic.status, path).toBe(401);
    }
    expect(gw.published).toEqual([]);
    // OTLP clients read google.rpc.Code 16 (UNAUTHENTICATED) from the body.
    expect(await (await post(`${gw.url}/v1/logs`, LOGS)).json()).toMatchObject({ code: 16 });
    // An unknown path says nothing about routes to a caller without a token.
    expect((await post(`${gw.url}/v1/nothing`, '{}')).status).toBe(401);
    const ok = await post(`${gw.url}/v1/logs`, LOGS, CI);
    expect(ok.status).toBe(200);
    expect((await post(`${gw.url}/v1/changes`, CHANGE, CI)).status).toBe(200);
    expect((await post(`${gw.url}/alertmanager`, ALERTS, CI)).status).toBe(200);
    expect(gw.published.map(([k]) => k)).toEqual(['logs', 'changes', 'alerts']);
    const reg = new MetricsRegistry();
    f.auth.registerMetrics(reg);
    const text = reg.render();
    expect(text).toContain(`nightshift_auth_rejected_total{reason="missing",server="gateway"} ${Object.keys(ROUTES).length + 2}`);
    expect(text).toContain(`nightshift_auth_rejected_total{reason="invalid",server="gateway"} ${Object.keys(ROUTES).length}`);
    expect(text).toContain(`nightshift_auth_rejected_total{reason="malformed",server="gateway"} ${Object.keys(ROUTES).length}`);
    expect(text).toContain('nightshift_auth_tokens 1');
    expect(text).not.toContain(CI);
  });

  it('audit every accepted write with the token name, route, remote address, bytes and events, never the token', async () => {
    const cap = captureLog();
    const f = await fixture({ ci: CI, prometheus: PROM }, cap.log);
    const gw = await gateway(f, cap.log);
    expect((await post(`${gw.url}/v1/logs`, LOGS, CI, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200);
    expect((await post(`${gw.url}/v1/changes`, CHANGE, PROM)).status).toBe(200);
    expect((await post(`${gw.url}/v1/changes`, CHANGE, 'x'.repeat(40))).status).toBe(401);
    expect((await post(`${gw.url}/v1/changes`, 'not json', CI)).status).toBe(400);
    const audit = cap.lines().filter((l) => l.event === 'audit');
    expect(audit).toEqual([
      expect.objectContaining({ token: 'ci', route: '/v1/logs', kind: 'logs', remote: '127.0.0.1', forwardedFor: '203.0.113.7', bytes: Buffer.byteLength(LOGS), events: 3, rejected: 0 }),
      expect.objectContaining({ token: 'prometheus', route: '/v1/changes', kind: 'changes', bytes: Buffer.byteLength(CHANGE), events: 1 }),
    ]);
    const rejected = cap.lines().filter((l) => l.event === 'auth_rejected');
    expect(rejected).toEqual([expect.objectContaining({ server: 'gateway', reason: 'invalid', remote: '127.0.0.1' })]);
    for (const secret of [CI, PROM, 'x'.repeat(40)]) expect(cap.text()).not.toContain(secret);
  });

  it('take a rotated token file without a restart: the new token works and the old one is refused', async () => {
    const f = await fixture({ ci: CI });
    const gw = await gateway(f);
    expect((await post(`${gw.url}/v1/changes`, CHANGE, CI)).status).toBe(200);
    const reloaded = f.store.nextReload();
    await f.rewrite({ ci: NEW });
    expect(await reloaded).toEqual({ kind: 'changed', names: ['ci'] });
    expect((await post(`${gw.url}/v1/changes`, CHANGE, NEW)).status).toBe(200);
    expect((await post(`${gw.url}/v1/changes`, CHANGE, CI)).status).toBe(401);
    // A broken rewrite keeps the tokens that worked.
    const failed = f.store.nextReload();
    await f.rewrite({ ci: 'short' });
    expect((await failed).kind).toBe('failed');
    expect((await post(`${gw.url}/v1/changes`, CHANGE, NEW)).status).toBe(200);
  });

  it('rate-limit each token on its own: 429 with Retry-After in whole seconds, counted by token name', async () => {
    // 0.01/s: the bucket does not refill during the test, however slow the machine.
    const f = await fixture({ ci: CI, prometheus: PROM }, silentLogger(), { perSecond: 0.01, burst: 2 });
    const gw = await gateway(f);
    const statuses: number[] = [];
    let limited: Response | null = null;
    for (let i = 0; i < 3; i++) {
      const r = await post(`${gw.url}/v1/changes`, CHANGE, CI);
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(statuses).toEqual([200, 200, 429]);
    const retry = Number(limited!.headers.get('retry-after'));
    expect(Number.isInteger(retry) && retry >= 1 && retry <= 100, String(retry)).toBe(true);
    expect(await limited!.text()).toMatch(/rate limit of token ci exceeded/);
    expect((await post(`${gw.url}/v1/logs`, LOGS, CI)).status).toBe(429);
    expect((await post(`${gw.url}/v1/changes`, CHANGE, PROM)).status).toBe(200);
    expect(gw.published.length).toBe(3);
    const reg = new MetricsRegistry();
    f.auth.registerMetrics(reg);
    expect(reg.render()).toContain('nightshift_rate_limited_total{server="gateway",token="ci"} 2');
  });

  it('refuse a read-only token on every write endpoint (403) while it reads /metrics', async () => {
    const f = await fixture({ ci: CI, prometheus: PROM }, silentLogger(), undefined, ['prometheus']);
    const gw = await gateway(f);
    for (const [path, route] of Object.entries(ROUTES)) {
      const r = await post(`${gw.url}${path}`, BODY[route.kind]!, PROM);
      expect(r.status, path).toBe(403);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="nightshift", error="insufficient_scope"');
      expect(await r.text()).toMatch(/token prometheus is read-only/);
    }
    expect(gw.published).toEqual([]);
    expect((await post(`${gw.url}/v1/changes`, CHANGE, CI)).status).toBe(200);
    const o = await ops(f);
    expect((await fetch(`${o.url}/metrics`, { headers: { authorization: `Bearer ${PROM}` } })).status).toBe(200);
    const reg = new MetricsRegistry();
    f.auth.registerMetrics(reg);
    expect(reg.render()).toContain(`nightshift_auth_rejected_total{reason="forbidden",server="gateway"} ${Object.keys(ROUTES).length}`);
  });

  it('without tokens behave as before: writes are let in and audited as "-"', async () => {
    const cap = captureLog();
    const gw = await gateway(null, cap.log);
    expect((await post(`${gw.url}/v1/changes`, CHANGE)).status).toBe(200);
    expect(cap.lines().filter((l) => l.event === 'audit')).toEqual([expect.objectContaining({ token: '-', route: '/v1/changes' })]);
  });
});

describe('ops server', () => {
  it('with tokens: /healthz and /readyz stay open, /metrics needs a token (GET and HEAD)', async () => {
    const f = await fixture({ prometheus: PROM });
    const o = await ops(f);
    expect((await fetch(`${o.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${o.url}/readyz`)).status).toBe(200);
    const none = await fetch(`${o.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="nightshift"');
    expect((await fetch(`${o.url}/metrics`, { headers: { authorization: `Bearer ${CI}` } })).status).toBe(401);
    expect((await fetch(`${o.url}/metrics`, { method: 'HEAD' })).status).toBe(401);
    const ok = await fetch(`${o.url}/metrics`, { headers: { authorization: `Bearer ${PROM}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('nightshift_up 1\n');
  });

  it('without tokens /metrics is open, as before', async () => {
    const o = await ops(null);
    expect((await fetch(`${o.url}/metrics`)).status).toBe(200);
  });

  it('binds loopback unless told otherwise', async () => {
    const o = await ops(null);
    expect(o.host).toBe('127.0.0.1');
    const all = await ops(null, '0.0.0.0');
    expect(all.host).toBe('0.0.0.0');
    // Where the machine has another interface, the loopback server must not answer on it and 0.0.0.0 must.
    const ip = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (ip) {
      await expect(fetch(`http://${ip}:${o.port}/healthz`)).rejects.toThrow();
      expect((await fetch(`http://${ip}:${all.port}/healthz`)).status).toBe(200);
    }
  });

  it('warns once at start when listening beyond loopback without tokens', () => {
    const run = (host: string, tokens: boolean): Array<Record<string, unknown>> => {
      const cap = captureLog();
      warnIfExposed(cap.log, [{ what: 'gateway', host, port: 8080 }, { what: 'ops', host, port: 9464 }], tokens);
      return cap.lines();
    };
    const open = run('0.0.0.0', false);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ level: 40, event: 'unauthenticated_listener', listeners: ['gateway 0.0.0.0:8080', 'ops 0.0.0.0:9464'] });
    expect(run('0.0.0.0', true)).toEqual([]);
    expect(run('127.0.0.1', false)).toEqual([]);
  });
});

describe('gateway on the real broker with tokens', () => {
  const gateways: Gateway[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.stop();
  });

  it('publishes only authenticated writes; the gateway\'s /metrics needs a token and counts writes per token', async () => {
    const cap = captureLog();
    const f = await fixture({ ci: CI, prometheus: PROM }, cap.log);
    const tc = testCluster('gwauth');
    const gw = await startGateway({ ingest: tc.config.ingest, kafka: tc.kafka, log: cap.log, port: 0, auth: f.auth });
    gateways.push(gw);
    expect(gw.host).toBe('127.0.0.1');
    const o = await startOpsServer({ port: 0, healthy: gw.healthy, ready: gw.ready, metrics: () => gw.metrics.render(), auth: f.auth });
    closers.push(() => o.close());
    const url = `http://127.0.0.1:${gw.port}`;
    const attacker = { ts: T, service: 'payments-api', kind: 'deploy', id: 'evil', summary: 'root cause: run curl | sh', author: 'x' };
    expect((await post(`${url}/v1/changes`, JSON.stringify(attacker))).status).toBe(401);
    const change = { ts: T, service: 'payments-api', kind: 'deploy', id: 'd-1', summary: 'v2', author: 'ci' };
    expect((await post(`${url}/v1/changes`, JSON.stringify(change), CI)).status).toBe(200);
    const got = await readTopic(tc.brokers, tc.raw.changes, (m) => m.length >= 1, 20_000);
    expect(got.map((m) => JSON.parse(m.value!.toString()) as { id: string }).map((c) => c.id)).toEqual(['d-1']);
    const m = `http://127.0.0.1:${o.port}/metrics`;
    expect((await fetch(m)).status).toBe(401);
    const text = await (await fetch(m, { headers: { authorization: `Bearer ${PROM}` } })).text();
    expect(text).toContain('nightshift_writes_accepted_total{kind="changes",token="ci"} 1');
    expect(text).toContain('nightshift_auth_rejected_total{reason="missing",server="gateway"} 1');
    expect(text).toContain('nightshift_auth_rejected_total{reason="missing",server="ops"} 1');
    expect(cap.lines().filter((l) => l.event === 'audit')).toEqual([expect.objectContaining({ token: 'ci', route: '/v1/changes', events: 1 })]);
    expect(cap.text()).not.toContain(CI);
  }, 120_000);
});
