// Shared fixtures for the ingest tests: payloads shaped as real producers write them.
import { expect } from 'vitest';
import type { RawRecord } from '../core/raw.js';
import { defaultIngestConfig, parseRecord, type IngestConfig, type ParseResult } from '../ingest/index.js';
import { Event } from '../schemas/events.js';

export const CFG = defaultIngestConfig();
export const T0 = Date.UTC(2024, 2, 1, 10, 0, 0); // 2024-03-01T10:00:00Z
export const T0_ISO = '2024-03-01T10:00:00Z';
export const T0_NS = `${T0}000000`;

export function rec(topic: string, payload: string, extra: Partial<RawRecord> = {}): RawRecord {
  return { topic, key: null, payload, source: { line: 7 }, ...extra };
}

/** Parses and checks every emitted event against the Event schema, so no test can pass on a malformed event. */
export function parse(topic: string, payload: string | object, extra: Partial<RawRecord> = {}, cfg: IngestConfig = CFG): ParseResult {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const r = parseRecord(rec(topic, text, extra), cfg);
  for (const e of r.events) expect(Event.safeParse(e).error).toBeUndefined();
  return r;
}

export function only<K extends Event['kind']>(r: ParseResult, kind: K): Extract<Event, { kind: K }> {
  expect(r.errors).toEqual([]);
  expect(r.events).toHaveLength(1);
  const e = r.events[0]!;
  expect(e.kind).toBe(kind);
  return e as Extract<Event, { kind: K }>;
}

export function codes(r: ParseResult): string[] {
  return r.errors.map((e) => e.code);
}

/** An Alertmanager v4 webhook body as Alertmanager 0.27 sends it (a firing and a resolved alert of one group). */
export function alertmanagerWebhook(): Record<string, unknown> {
  return {
    receiver: 'nightshift',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: {
          alertname: 'HighErrorRate',
          instance: '10.0.3.7:8080',
          job: 'kubernetes-pods',
          namespace: 'prod',
          service: 'checkout',
          severity: 'page',
        },
        annotations: {
          description: '5xx ratio is 12% over the last 5m',
          runbook_url: 'https://runbooks.example.com/HighErrorRate',
          summary: 'checkout is failing requests',
        },
        startsAt: '2024-03-01T10:00:00.123456789Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus-0:9090/graph?g0.expr=job%3Arequest_errors%3Aratio5m+%3E+0.05&g0.tab=1',
        fingerprint: 'c2ba45e9a6b1f7d1',
      },
      {
        status: 'resolved',
        labels: { alertname: 'HighErrorRate', instance: '10.0.3.9:8080', job: 'payments', namespace: 'prod', severity: 'warning' },
        annotations: { description: 'payments 5xx ratio back to normal' },
        startsAt: '2024-03-01T09:50:00Z',
        endsAt: '2024-03-01T10:05:30.5+01:00',
        generatorURL: 'http://prometheus-0:9090/graph?g0.expr=job%3Arequest_errors%3Aratio5m+%3E+0.05&g0.tab=1',
        fingerprint: '0f3c5d7e9a1b2c4d',
      },
    ],
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: { alertname: 'HighErrorRate', namespace: 'prod' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager-0:9093',
    version: '4',
    groupKey: '{}/{severity=~"page|warning"}:{alertname="HighErrorRate"}',
    truncatedAlerts: 0,
  };
}

export function str(key: string, v: string): { key: string; value: { stringValue: string } } {
  return { key, value: { stringValue: v } };
}

/** `null`: a resource without service.name. */
export function resource(service: string | null): { attributes: unknown[] } {
  const attributes: unknown[] = [str('host.name', 'node-1'), str('telemetry.sdk.language', 'go'), { key: 'process.pid', value: { intValue: '4242' } }];
  if (service !== null) attributes.unshift(str('service.name', service));
  return { attributes };
}

export function otlpSpan(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: '5B8EFFF798038103D269B633813FC60C',
    spanId: 'eee19b7ec3c1b174',
    parentSpanId: 'eee19b7ec3c1b173',
    flags: 256,
    name: 'GET /api/cart',
    kind: 2,
    startTimeUnixNano: `${T0}000123`,
    endTimeUnixNano: `${T0 + 1}500123`,
    attributes: [str('http.request.method', 'GET'), { key: 'http.response.status_code', value: { intValue: '200' } }],
    status: {},
    ...over,
  };
}

/** ExportTraceServiceRequest as the collector's file exporter writes it. */
export function otlpTraces(spans: unknown[], service: string | null = 'frontend'): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: resource(service),
        scopeSpans: [{ scope: { name: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp', version: '0.49.0' }, spans }],
        schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
      },
    ],
  };
}

export function otlpLogRecord(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    timeUnixNano: T0_NS,
    observedTimeUnixNano: `${T0 + 3}000000`,
    severityNumber: 17,
    severityText: 'ERROR',
    body: { stringValue: 'redis: connection pool timeout' },
    attributes: [str('code.function', 'GetCart')],
    flags: 1,
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    ...over,
  };
}

export function otlpLogs(records: unknown[], service: string | null = 'cart'): Record<string, unknown> {
  return {
    resourceLogs: [{ resource: resource(service), scopeLogs: [{ scope: { name: 'cart-logger' }, logRecords: records }] }],
  };
}

export function otlpMetrics(metrics: unknown[], service: string | null = 'cart'): Record<string, unknown> {
  return {
    resourceMetrics: [
      {
        resource: resource(service),
        scopeMetrics: [{ scope: { name: 'otelcol/hostmetricsreceiver/cpu', version: '0.96.0' }, metrics }],
      },
    ],
  };
}
