import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/log.js';
import { startOpsServer } from '../core/ops.js';
import { defaultIngestConfig, type InputKind } from '../ingest/config.js';
import { GatewayHandler, type Publish } from '../ingest/gateway/index.js';
import { startGateway, type Gateway } from '../pipeline/kafka/gateway.js';
import { readTopic, testCluster } from './helpers/kafka.js';

/**
 * The HTTP gateway: request handling against a fake publisher (status codes, limits, 2xx only after the
 * acknowledgement), then a round trip through the real broker.
 */
const servers: Server[] = [];
const gateways: Gateway[] = [];

afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const g of gateways) await g.stop();
});

async function serve(publish: Publish, maxBodyBytes = 64 * 1024, ackTimeoutMs = 2000): Promise<string> {
  const h = new GatewayHandler({ ingest: defaultIngestConfig(), maxBodyBytes, ackTimeoutMs }, publish);
  const s = createServer((req, res) => void h.handle(req, res));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const T = Date.UTC(2026, 2, 2, 12);
const otlpLogs = (n: number, service = 'checkout-api'): string =>
  JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [{ logRecords: Array.from({ length: n }, (_, i) => ({ timeUnixNano: String((T + i) * 1e6), severityText: 'ERROR', body: { stringValue: `payment failed for order ${i}` } })) }],
      },
    ],
  });

function post(url: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers });
}

describe('gateway request handling', () => {
  it('answers 200 only after the record is acknowledged, with the key and topic ingest expects', async () => {
    const got: Array<[InputKind, string | null, string]> = [];
    let release: () => void = () => undefined;
    const url = await serve((kind, key, body) => {
      got.push([kind, key, body]);
      return new Promise<void>((r) => (release = r));
    });
    let answered = false;
    const pending = post(`${url}/v1/logs`, otlpLogs(3)).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(got.length).toBe(1);
    expect(answered).toBe(false);
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(got[0]!.slice(0, 2)).toEqual(['logs', 'checkout-api']);
  });

  it('refuses bad input with a clear 4xx and publishes nothing', async () => {
    const got: string[] = [];
    const url = await serve(async (_k, _key, body) => void got.push(body), 4096);
    const cases: Array<[string, string | Buffer, Record<string, string>, number, RegExp]> = [
      ['/v1/logs', 'not json', { 'content-type': 'application/json' }, 400, /not JSON/],
      ['/v1/logs', '{"resourceSpans":[]}', { 'content-type': 'application/json' }, 400, /resourceLogs/],
      ['/v1/logs', otlpLogs(1), { 'content-type': 'text/plain' }, 415, /application\/json or application\/x-protobuf/],
      ['/v1/changes', '{}', { 'content-type': 'application/x-protobuf' }, 415, /must be application\/json/],
      ['/v1/logs', otlpLogs(200), { 'content-type': 'application/json' }, 413, /exceeds the limit of 4096 bytes/],
      ['/v1/logs', gzipSync(otlpLogs(200)), { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 413, /decompressed body exceeds/],
      ['/alertmanager', '{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X"},"startsAt":"2026-03-02T12:00:00Z"}]}', { 'content-type': 'application/json' }, 400, /MISSING_SERVICE/],
      ['/alertmanager', '{"receiver":"x"}', { 'content-type': 'application/json' }, 400, /alerts/],
      ['/v1/nothing', '{}', { 'content-type': 'application/json' }, 404, /no route/],
    ];
    for (const [path, body, headers, status, msg] of cases) {
      const res = await post(`${url}${path}`, body, headers);
      const text = await res.text();
      expect(res.status, `${path} ${text}`).toBe(status);
      expect(text).toMatch(msg);
    }
    const get = await fetch(`${url}/v1/logs`);
    expect(get.status).toBe(405);
    expect(got).toEqual([]);
  });

  it('accepts a partly bad OTLP batch and says how much was rejected; gzip bodies are fine', async () => {
    const got: string[] = [];
    const url = await serve(async (_k, _key, body) => void got.push(body));
    const mixed = JSON.parse(otlpLogs(2)) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: unknown[] }> }> };
    mixed.resourceLogs[0]!.scopeLogs[0]!.logRecords.push({ timeUnixNano: 'yesterday', body: { stringValue: 'x' } });
    const res = await post(`${url}/v1/logs`, gzipSync(JSON.stringify(mixed)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { partialSuccess?: { rejectedLogRecords: number; errorMessage: string } };
    expect(body.partialSuccess?.rejectedLogRecords).toBe(1);
    expect(got.length).toBe(1);
  });

  it('refuses non-finite metric values and a non-string service.name, and says so in partialSuccess', async () => {
    const got: string[] = [];
    const url = await serve(async (_k, _key, body) => void got.push(body));
    const point = (v: unknown) => ({ timeUnixNano: String(T * 1e6), asDouble: v });
    const metrics = (service: Record<string, unknown>, values: unknown[]) =>
      JSON.stringify({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: service }] }, scopeMetrics: [{ metrics: [{ name: 'queue_depth', gauge: { dataPoints: values.map(point) } }] }] }] });
    const res = await post(`${url}/v1/metrics`, metrics({ stringValue: 'checkout-api' }, [1, 'NaN', 'Infinity', 2]));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { partialSuccess?: { rejectedDataPoints: number; errorMessage: string } };
    expect(body.partialSuccess?.rejectedDataPoints).toBe(2);
    expect(body.partialSuccess?.errorMessage).toMatch(/not finite/);
    // A number as service.name is not the service "7": the whole request has nothing usable.
    const bad = await post(`${url}/v1/metrics`, metrics({ intValue: '7' }, [1]));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/service\.name: expected a stringValue, got intValue/);
    expect(got.length).toBe(1);
  });

  it('answers 503 with Retry-After when the broker does not acknowledge in time or fails', async () => {
    const slow = await serve(() => new Promise<void>(() => undefined), 64 * 1024, 300);
    const r1 = await post(`${slow}/v1/logs`, otlpLogs(1));
    expect(r1.status).toBe(503);
    expect(r1.headers.get('retry-after')).toBe('5');
    const failing = await serve(() => Promise.reject(new Error('broker down')));
    const r2 = await post(`${failing}/v1/logs`, otlpLogs(1));
    expect(r2.status).toBe(503);
    expect(await r2.text()).toMatch(/broker down/);
  });
});

describe('gateway on the real broker', () => {
  it('produces accepted bodies to the raw topics; ops endpoints report it', async () => {
    const tc = testCluster('gw');
    const gw = await startGateway({ ingest: tc.config.ingest, kafka: tc.kafka, log: silentLogger(), port: 0, host: '127.0.0.1' });
    gateways.push(gw);
    const ops = await startOpsServer({ port: 0, host: '127.0.0.1', healthy: gw.healthy, ready: gw.ready, metrics: () => gw.metrics.render() });
    const url = `http://127.0.0.1:${gw.port}`;
    expect((await post(`${url}/v1/logs`, otlpLogs(5, 'payments-api'))).status).toBe(200);
    const change = { ts: T, service: 'payments-api', kind: 'deploy', id: 'd-1', summary: 'v2', author: 'ci' };
    expect((await post(`${url}/v1/changes`, JSON.stringify(change))).status).toBe(200);
    const logs = await readTopic(tc.brokers, tc.raw.logs, (m) => m.length >= 1, 20_000);
    expect(logs.length).toBe(1);
    expect(logs[0]!.key?.toString()).toBe('payments-api');
    expect(JSON.parse(logs[0]!.value!.toString())).toEqual(JSON.parse(otlpLogs(5, 'payments-api')));
    const changes = await readTopic(tc.brokers, tc.raw.changes, (m) => m.length >= 1, 20_000);
    expect(JSON.parse(changes[0]!.value!.toString())).toEqual(change);
    const o = `http://127.0.0.1:${ops.port}`;
    expect((await fetch(`${o}/healthz`)).status).toBe(200);
    expect((await fetch(`${o}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${o}/metrics`)).text();
    expect(metrics).toMatch(/nightshift_records_sent_total\{stage="gateway"\} 2/);
    expect(metrics).toMatch(/nightshift_processing_latency_seconds_count\{stage="gateway"\} 2/);
    expect((await fetch(`${o}/nope`)).status).toBe(404);
    await gw.stop();
    expect((await fetch(`${o}/readyz`)).status).toBe(503);
    await ops.close();
  }, 60_000);
});
