import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEmbedded } from '../pipeline/build.js';
import { Counters } from '../core/counters.js';
import { defaultConfig } from '../pipeline/config.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import type { RawRecord } from '../core/raw.js';
import type { Stage } from '../core/stage.js';
import { defaultIngestConfig, type IngestConfig, type InputKind } from '../ingest/config.js';
import { GatewayHandler, type GatewayOptions, type Publish } from '../ingest/gateway/index.js';
import { decodeStatus } from '../ingest/gateway/protobuf.js';
import { parseRecord } from '../ingest/parse.js';
import type { Event, LogRecord, MetricPoint, Span } from '../schemas/events.js';
import type { IncidentOutput } from '../schemas/index.js';
import { tokenFixture } from './helpers/auth.js';
import { SdkService, SpanKind } from './helpers/otel-sdk.js';

/**
 * OTLP/HTTP binary protobuf at the gateway, fed by the real OpenTelemetry JS SDK and its OTLP/HTTP protobuf
 * exporters: what the gateway publishes must be the OTLP/JSON that ingest's parser reads into the same spans, logs
 * and metric points, and the answers must be what the exporters expect (protobuf responses and statuses). Then a
 * small world of SDK-instrumented services goes through the gateway into the embedded pipeline and opens an incident.
 */
const servers: Server[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const c of closers) await c();
});

interface Published {
  readonly kind: InputKind;
  readonly key: string | null;
  readonly body: string;
}

async function serve(ingest: IngestConfig = defaultIngestConfig(), maxBodyBytes = 1024 * 1024, auth?: GatewayOptions['auth']): Promise<{ url: string; got: Published[]; handler: GatewayHandler }> {
  const got: Published[] = [];
  const publish: Publish = async (kind, key, body) => void got.push({ kind, key, body });
  const handler = new GatewayHandler({ ingest, maxBodyBytes, ackTimeoutMs: 5000, ...(auth ? { auth } : {}) }, publish);
  const s = createServer((req, res) => void handler.handle(req, res));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, got, handler };
}

function parsed(p: Published, ingest: IngestConfig = defaultIngestConfig()): Event[] {
  const r = parseRecord({ topic: ingest.topics[p.kind], key: p.key, payload: p.body, source: { line: 1 } }, ingest);
  expect(r.errors).toEqual([]);
  return r.events;
}

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const T = Date.UTC(2026, 10, 30, 9, 0, 0);

async function postProtobuf(url: string, body: Uint8Array, headers: Record<string, string> = PROTOBUF): Promise<{ status: number; type: string | null; bytes: Uint8Array }> {
  const res = await fetch(url, { method: 'POST', body: Buffer.from(body), headers });
  return { status: res.status, type: res.headers.get('content-type'), bytes: new Uint8Array(await res.arrayBuffer()) };
}

/**
 * proto3 leaves defaults unset; the SDK's JSON serializer writes some of them, and writes 64-bit integers as numbers
 * where proto3 JSON writes decimal strings (both are valid OTLP/JSON). Equal up to that; the spelling of integers is
 * asserted on its own.
 */
function withoutDefaults(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(withoutDefaults);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const y = withoutDefaults(x);
      if (y !== undefined) out[k] = y;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (v === 0 || v === '' || v === false || v === null || v === '0') return undefined;
  return typeof v === 'number' && Number.isInteger(v) ? String(v) : v;
}

describe('OTLP/HTTP protobuf from the OpenTelemetry SDK exporters', () => {
  it('traces: published as the OTLP/JSON the SDK itself would write, parsed into the same spans (hex ids, durations, attributes)', async () => {
    const gw = await serve();
    const svc = new SdkService('checkout-api', { url: gw.url, resource: { 'service.instance.id': 'checkout-7f9c', 'deployment.environment': 'prod' } });
    const root = svc.span('POST /checkout', SpanKind.SERVER, T, T + 120, { attributes: { 'http.route': '/checkout', 'http.response.status_code': 502, retries: 3, ratio: 0.25, cached: false, tags: ['a', 'b'] } });
    const child = svc.span('charge card', SpanKind.CLIENT, T + 10, T + 110, {
      parent: root.ctx,
      error: true,
      events: [{ name: 'retry', ts: T + 60, attributes: { attempt: 2 } }],
      links: [root.id],
    });
    const { spans: sdkSpans } = svc.take();
    const officialJson = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(sdkSpans))) as unknown;
    expect((await svc.exportSpans(sdkSpans)).code).toBe(0);

    expect(gw.got.length).toBe(1);
    const p = gw.got[0]!;
    expect([p.kind, p.key]).toEqual(['traces', 'checkout-api']);
    const json = JSON.parse(p.body) as Record<string, unknown>;
    // The decoding matches the SDK's own JSON encoding of the same spans, field for field.
    expect(withoutDefaults(json)).toEqual(withoutDefaults(officialJson));

    const spans = parsed(p) as Span[];
    expect(spans.length).toBe(2);
    const [rootCtx, childCtx] = [root.id, child.id];
    const server = spans.find((s) => s.span_kind === 'server')!;
    const client = spans.find((s) => s.span_kind === 'client')!;
    expect(server).toMatchObject({ service: 'checkout-api', name: 'POST /checkout', ts: T, duration_ms: 120, status: 'unset', trace_id: rootCtx!.traceId, span_id: rootCtx!.spanId, instance: 'checkout-7f9c', version: '1.4.2' });
    expect(client).toMatchObject({ name: 'charge card', ts: T + 10, duration_ms: 100, status: 'error', trace_id: rootCtx!.traceId, span_id: childCtx!.spanId, parent_span_id: rootCtx!.spanId });
    expect(server.trace_id).toMatch(/^[0-9a-f]{32}$/);
    // Attributes as proto3 JSON: int64 as decimal strings, doubles, booleans and arrays kept.
    const wireSpan = (json.resourceSpans as Array<{ scopeSpans: Array<{ spans: Array<{ name: string; attributes: unknown[] }> }> }>)[0]!.scopeSpans[0]!.spans.find((s) => s.name === 'POST /checkout')!;
    expect(wireSpan.attributes).toEqual(
      expect.arrayContaining([
        { key: 'http.route', value: { stringValue: '/checkout' } },
        { key: 'retries', value: { intValue: '3' } },
        { key: 'ratio', value: { doubleValue: 0.25 } },
        { key: 'cached', value: { boolValue: false } },
        { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } } },
      ]),
    );
    // proto3 JSON as OTLP wants it: 64-bit integers as decimal strings, enums as numbers, ids as hex.
    expect(wireSpan).toMatchObject({ kind: 2, startTimeUnixNano: `${T}000000`, endTimeUnixNano: `${T + 120}000000`, traceId: rootCtx!.traceId, spanId: rootCtx!.spanId });
    const wireChild = (json.resourceSpans as Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>)[0]!.scopeSpans[0]!.spans.find((s) => s.name === 'charge card')!;
    expect(wireChild).toMatchObject({
      kind: 3,
      parentSpanId: rootCtx!.spanId,
      status: { code: 2, message: 'failed' },
      events: [{ name: 'retry', timeUnixNano: `${T + 60}000000`, attributes: [{ key: 'attempt', value: { intValue: '2' } }] }],
      links: [{ traceId: rootCtx!.traceId, spanId: rootCtx!.spanId, attributes: [{ key: 'link.kind', value: { stringValue: 'retry-of' } }] }],
    });
    expect(json).toMatchObject({ resourceSpans: [{ resource: { attributes: expect.arrayContaining([{ key: 'deployment.environment', value: { stringValue: 'prod' } }]) } }] });
    await svc.shutdown();
  });

  it('logs: severity, body, attributes and the trace id of the active span', async () => {
    const gw = await serve();
    const svc = new SdkService('payments-api', { url: gw.url, resource: { 'host.name': 'node-3' } });
    const ctx = svc.span('charge', SpanKind.SERVER, T, T + 5);
    svc.log(T + 1, 'INFO', 'charge accepted for order 1', { 'order.id': 1 }, ctx.ctx);
    svc.log(T + 2, 'ERROR', 'card processor timed out after 3000 ms', {}, ctx.ctx);
    const { logs } = svc.take();
    const officialJson = JSON.parse(new TextDecoder().decode(JsonLogsSerializer.serializeRequest(logs))) as unknown;
    expect((await svc.exportLogs(logs)).code).toBe(0);
    expect(gw.got.length).toBe(1);
    expect(withoutDefaults(JSON.parse(gw.got[0]!.body))).toEqual(withoutDefaults(officialJson));
    const events = parsed(gw.got[0]!) as LogRecord[];
    const traceId = ctx.id.traceId;
    expect(events).toEqual([
      expect.objectContaining({ kind: 'log', service: 'payments-api', ts: T + 1, level: 'info', message: 'charge accepted for order 1', host: 'node-3', trace_id: traceId }),
      expect.objectContaining({ ts: T + 2, level: 'error', message: 'card processor timed out after 3000 ms', trace_id: traceId }),
    ]);
    await svc.shutdown();
  });

  it('metrics: counters, gauges and histograms become metric points with their attributes as labels', async () => {
    const gw = await serve();
    const svc = new SdkService('orders-api', { url: gw.url });
    const meter = svc.meterProvider.getMeter('test');
    meter.createCounter('orders_total').add(5, { route: '/orders' });
    meter.createGauge('queue_depth', { unit: '{item}' }).record(17, { queue: 'main' });
    const h = meter.createHistogram('http.server.request.duration', { unit: 's' });
    for (const v of [0.01, 0.02, 0.4]) h.record(v, { route: '/orders' });
    const latency = meter.createHistogram('db.latency.exp', { unit: 'ms' });
    for (const v of [1, 2, 4, 8, 100]) latency.record(v);
    const rm = await svc.flushMetrics();
    expect(gw.got.length).toBe(1);
    const officialJson = JSON.parse(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(rm))) as unknown;
    expect(withoutDefaults(JSON.parse(gw.got[0]!.body))).toEqual(withoutDefaults(officialJson));
    const points = parsed(gw.got[0]!) as MetricPoint[];
    const by = (n: string) => points.find((p) => p.name === n)!;
    expect(by('orders_total')).toMatchObject({ service: 'orders-api', value: 5, labels: { route: '/orders', 'service.version': '1.4.2' } });
    expect(by('queue_depth')).toMatchObject({ value: 17, unit: '{item}', labels: { queue: 'main' } });
    const dist = by('http.server.request.duration');
    expect(dist.unit).toBe('s');
    expect(dist.dist).toMatchObject({ kind: 'histogram', temporality: 'cumulative', count: 3 });
    expect(dist.dist!.sum).toBeCloseTo(0.43, 9);
    expect(dist.value).toBeCloseTo(0.43 / 3, 9);
    expect(by('db.latency.exp')).toMatchObject({ unit: 'ms', value: 23, dist: { kind: 'histogram', count: 5, sum: 115 } });
    await svc.shutdown();
  });

  it('gzip-compressed requests from the exporters decode the same', async () => {
    const gw = await serve();
    const svc = new SdkService('search-api', { url: gw.url, gzip: true });
    svc.span('GET /search', SpanKind.SERVER, T, T + 42);
    svc.log(T, 'ERROR', 'index shard 3 unavailable');
    await svc.flush();
    expect(gw.got.map((p) => p.kind).sort()).toEqual(['logs', 'traces']);
    expect(parsed(gw.got.find((p) => p.kind === 'traces')!)).toEqual([expect.objectContaining({ service: 'search-api', duration_ms: 42 })]);
    expect(parsed(gw.got.find((p) => p.kind === 'logs')!)).toEqual([expect.objectContaining({ service: 'search-api', level: 'error', message: 'index shard 3 unavailable' })]);
    await svc.shutdown();
  });

  it('answers full success with an empty ExportTraceServiceResponse in protobuf; an empty request is a success too', async () => {
    const gw = await serve();
    const svc = new SdkService('a', { url: gw.url });
    svc.span('x', SpanKind.SERVER, T, T + 1);
    const r = await postProtobuf(`${gw.url}/v1/traces`, ProtobufTraceSerializer.serializeRequest(svc.take().spans)!);
    expect([r.status, r.type, r.bytes.length]).toEqual([200, 'application/x-protobuf', 0]);
    expect(ProtobufTraceSerializer.deserializeResponse(r.bytes)).toEqual({});
    const empty = await postProtobuf(`${gw.url}/v1/traces`, new Uint8Array(0));
    expect([empty.status, empty.type]).toEqual([200, 'application/x-protobuf']);
    expect(gw.got.length).toBe(1);
    await svc.shutdown();
  });

  it('reports rejected entries as partial_success in the protobuf response, and publishes the good ones', async () => {
    const gw = await serve();
    const good = new SdkService('payments-api', { url: gw.url });
    // A number as service.name: ingest refuses that resource (it would invent the service "7").
    const bad = new SdkService('x', { url: gw.url, resource: { 'service.name': 7 } });
    good.log(T, 'ERROR', 'declined');
    good.log(T + 1, 'INFO', 'ok');
    bad.log(T, 'INFO', 'from a broken exporter');
    const logs = [...good.take().logs, ...bad.take().logs];
    const r = await postProtobuf(`${gw.url}/v1/logs`, ProtobufLogsSerializer.serializeRequest(logs)!);
    expect([r.status, r.type]).toEqual([200, 'application/x-protobuf']);
    // Read with the SDK's own response decoder: what its exporter will log.
    const resp = ProtobufLogsSerializer.deserializeResponse(r.bytes);
    expect(resp.partialSuccess?.rejectedLogRecords).toBe(1);
    expect(resp.partialSuccess?.errorMessage).toMatch(/service\.name: expected a stringValue, got intValue/);
    expect(gw.got.length).toBe(1);
    const res = parseRecord({ topic: defaultIngestConfig().topics.logs, key: gw.got[0]!.key, payload: gw.got[0]!.body, source: { line: 1 } }, defaultIngestConfig());
    expect([res.events.length, res.badEntries]).toEqual([2, 1]);
    // The exporter itself takes a partial success as success (OTLP: do not retry).
    expect((await good.exportLogs(logs)).code).toBe(0);
    expect(gw.got.length).toBe(2);
    await good.shutdown();
    await bad.shutdown();
  });

  it('refuses a malformed body with 400 and a google.rpc.Status in protobuf, counted, nothing published', async () => {
    const gw = await serve();
    const svc = new SdkService('a', { url: gw.url });
    svc.span('x', SpanKind.SERVER, T, T + 1);
    const real = ProtobufTraceSerializer.serializeRequest(svc.take().spans)!;
    const bodies: Array<[Uint8Array, Record<string, string>, RegExp]> = [
      [new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), PROTOBUF, /not a protobuf ExportTraceServiceRequest: index out of range/],
      [real.subarray(0, real.length - 7), PROTOBUF, /not a protobuf ExportTraceServiceRequest/],
      [new TextEncoder().encode('{"resourceSpans":[]}'), PROTOBUF, /not a protobuf ExportTraceServiceRequest/],
      [gzipSync(Buffer.from([0x0a, 0x05, 1])), { ...PROTOBUF, 'content-encoding': 'gzip' }, /not a protobuf ExportTraceServiceRequest/],
      [new Uint8Array([1, 2, 3]), { ...PROTOBUF, 'content-encoding': 'gzip' }, /not valid gzip/],
    ];
    for (const [body, headers, msg] of bodies) {
      const r = await postProtobuf(`${gw.url}/v1/traces`, body, headers);
      expect([r.status, r.type]).toEqual([400, 'application/x-protobuf']);
      const st = decodeStatus(r.bytes);
      expect(st.code).toBe(3); // INVALID_ARGUMENT
      expect(st.message).toMatch(msg);
    }
    expect(gw.got).toEqual([]);
    expect(gw.handler.counters.snapshot().dropped).toEqual({ bad_protobuf: 4, bad_request: 1 });
    await svc.shutdown();
  });

  it('with tokens: the exporter with its bearer token is let in, one without gets 401 as a protobuf Status (code 16)', async () => {
    const f = await tokenFixture({ otel: 'otel-0123456789abcdef0123456789abcdef' }, silentLogger());
    closers.push(() => f.close());
    const gw = await serve(defaultIngestConfig(), 1024 * 1024, f.auth);
    const withToken = new SdkService('cart-api', { url: gw.url, headers: { Authorization: 'Bearer otel-0123456789abcdef0123456789abcdef' } });
    withToken.span('GET /cart', SpanKind.SERVER, T, T + 3);
    await withToken.flush();
    expect(gw.got.map((p) => p.key)).toEqual(['cart-api']);
    const anonymous = new SdkService('cart-api', { url: gw.url });
    anonymous.span('GET /cart', SpanKind.SERVER, T, T + 3);
    const spans = anonymous.take().spans;
    expect((await anonymous.exportSpans(spans)).code).toBe(1); // FAILED: the SDK saw the refusal
    const r = await postProtobuf(`${gw.url}/v1/traces`, ProtobufTraceSerializer.serializeRequest(spans)!);
    expect([r.status, r.type]).toEqual([401, 'application/x-protobuf']);
    expect(decodeStatus(r.bytes).code).toBe(16); // UNAUTHENTICATED
    expect(gw.got.length).toBe(1);
    await withToken.shutdown();
    await anonymous.shutdown();
  });

  it('413 when the body, or the OTLP/JSON it decodes to, exceeds the limits; 415 names both OTLP encodings', async () => {
    const ingest = { ...defaultIngestConfig(), maxRecordBytes: 4096 };
    const gw = await serve(ingest, 4096);
    const svc = new SdkService('a', { url: gw.url });
    for (let i = 0; i < 30; i++) svc.span(`op ${i}`, SpanKind.SERVER, T + i, T + i + 1);
    const body = ProtobufTraceSerializer.serializeRequest(svc.take().spans)!;
    expect(body.length).toBeLessThan(4096); // the protobuf fits; its JSON does not
    const r = await postProtobuf(`${gw.url}/v1/traces`, body);
    expect([r.status, r.type]).toEqual([413, 'application/x-protobuf']);
    expect(decodeStatus(r.bytes).message).toMatch(/as OTLP\/JSON, over the record limit of 4096 bytes; export smaller batches/);
    const big = await postProtobuf(`${gw.url}/v1/traces`, new Uint8Array(5000));
    expect(big.status).toBe(413);
    expect(decodeStatus(big.bytes).message).toMatch(/exceeds the limit of 4096 bytes/);
    const text = await fetch(`${gw.url}/v1/traces`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(await text.text()).toMatch(/application\/json or application\/x-protobuf/);
    // Alertmanager and change events stay JSON.
    const am = await fetch(`${gw.url}/alertmanager`, { method: 'POST', body: new Uint8Array([1]), headers: PROTOBUF });
    expect(am.status).toBe(415);
    expect(await am.json()).toMatchObject({ error: expect.stringMatching(/must be application\/json/) });
    expect(gw.got).toEqual([]);
    await svc.shutdown();
  });
});

/** Collects the pipeline's incident outputs. */
class Outputs implements Stage<IncidentOutput, never> {
  readonly name = 'outputs';
  readonly counters = new Counters();
  readonly items: IncidentOutput[] = [];
  process(o: IncidentOutput): void {
    this.items.push(o);
  }
}

async function* records(published: readonly Published[], ingest: IngestConfig): AsyncGenerator<RawRecord> {
  let line = 0;
  for (const p of published) yield { topic: ingest.topics[p.kind], key: p.key, payload: p.body, source: { line: ++line } };
}

describe('an OTLP/HTTP protobuf request from the SDK exporters reaches an incident', () => {
  it('a payments fault (errors and latency after a normal hour) through the gateway and the embedded pipeline names payments-api', async () => {
    const gw = await serve();
    const names = ['web-frontend', 'checkout-api', 'payments-api', 'inventory-api'] as const;
    const svc = Object.fromEntries(names.map((n, i) => [n, new SdkService(n, { url: gw.url, gzip: i % 2 === 0 })])) as Record<(typeof names)[number], SdkService>;
    const start = Date.UTC(2026, 10, 30, 8, 0, 0);
    const MIN = 60_000;
    const faultAt = start + 60 * MIN;
    const end = start + 75 * MIN;
    let order = 0;
    // Minute by minute, as a real exporter batches: every 2 s one checkout request through the four services.
    for (let m = start; m < end; m += MIN) {
      for (let t = m; t < m + MIN; t += 2000) {
        const fault = t >= faultAt;
        const id = ++order;
        const pay = fault ? 900 + (id % 7) * 40 : 30 + (id % 5) * 3; // ms spent in payments-api
        const inv = 12 + (id % 3);
        const total = 8 + inv + pay + 10;
        const web = svc['web-frontend'].span('POST /checkout', SpanKind.SERVER, t, t + total + 6, { error: fault && id % 3 !== 0, attributes: { 'http.route': '/checkout' } });
        const out = svc['web-frontend'].span('POST checkout-api/orders', SpanKind.CLIENT, t + 2, t + total + 2, { parent: web.ctx, error: fault && id % 3 !== 0 });
        const co = svc['checkout-api'].span('POST /orders', SpanKind.SERVER, t + 3, t + total + 1, { parent: out.ctx, error: fault && id % 3 !== 0 });
        const invOut = svc['checkout-api'].span('GET inventory-api/stock', SpanKind.CLIENT, t + 4, t + 4 + inv, { parent: co.ctx });
        svc['inventory-api'].span('GET /stock', SpanKind.SERVER, t + 5, t + 3 + inv, { parent: invOut.ctx });
        const payOut = svc['checkout-api'].span('POST payments-api/charge', SpanKind.CLIENT, t + 6 + inv, t + 6 + inv + pay, { parent: co.ctx, error: fault && id % 3 !== 0 });
        const charge = svc['payments-api'].span('POST /charge', SpanKind.SERVER, t + 7 + inv, t + 5 + inv + pay, { parent: payOut.ctx, error: fault && id % 3 !== 0 });
        if (fault && id % 3 !== 0) {
          svc['payments-api'].log(t + 5 + inv + pay, 'ERROR', `card processor timed out after ${pay} ms for order ${id}`, { 'order.id': id }, charge.ctx);
          svc['checkout-api'].log(t + total, 'ERROR', `payment failed for order ${id}: upstream error`, {}, co.ctx);
        } else {
          svc['payments-api'].log(t + 5 + inv + pay, 'INFO', `charge accepted for order ${id}`, { 'order.id': id }, charge.ctx);
        }
        svc['checkout-api'].log(t + total, 'INFO', `order ${id} processed`, {}, co.ctx);
      }
      for (const n of names) await svc[n].flush();
    }
    for (const n of names) await svc[n].shutdown();
    // Every request was accepted whole: the gateway decoded what the SDK sent.
    expect(gw.handler.counters.snapshot().dropped).toEqual({});
    expect(gw.got.length).toBeGreaterThanOrEqual(75 * 4);

    const cfg = defaultConfig();
    const out = new Outputs();
    const deadLetters = new MemoryDeadLetters();
    const p = buildEmbedded(cfg, { log: silentLogger(), deadLetters }, out);
    await p.run(records(gw.got, cfg.ingest));
    expect(deadLetters.count).toBe(0);
    expect(p.stats().rawRecords).toBe(gw.got.length);

    // Nothing in the normal hour; one incident opened within minutes of the fault, payments-api in its top 3.
    const summary = JSON.stringify(out.items.map((o) => [o.incident_id, new Date(o.opened_at).toISOString(), o.root_causes.map((c) => c.service)]));
    expect(out.items.filter((o) => o.opened_at < faultAt), summary).toEqual([]);
    const incidents = new Map(out.items.map((o) => [o.incident_id, o]));
    expect(incidents.size, summary).toBe(1);
    const inc = [...incidents.values()][0]!;
    expect(inc.opened_at - faultAt, summary).toBeLessThan(5 * MIN);
    expect(inc.services).toContain('payments-api');
    expect(inc.root_causes.slice(0, 3).map((c) => c.service), summary).toContain('payments-api');
  }, 120_000);
});
