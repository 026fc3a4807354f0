import { describe, expect, it } from 'vitest';
import { MAX_LISTED_ERRORS } from '../ingest/index.js';
import type { MetricPoint, Span } from '../schemas/events.js';
import { T0, T0_NS, codes, only, otlpMetrics, otlpSpan, otlpTraces, parse, str } from './ingest-fixtures.js';

describe('OTLP/JSON traces', () => {
  it('maps a span as the collector writes it', () => {
    const s = only(parse('traces', otlpTraces([otlpSpan()])), 'span');
    expect(s).toEqual({
      kind: 'span',
      id: 'traces-L7#0',
      ts: T0,
      service: 'frontend',
      trace_id: '5b8efff798038103d269b633813fc60c',
      span_id: 'eee19b7ec3c1b174',
      parent_span_id: 'eee19b7ec3c1b173',
      name: 'GET /api/cart',
      duration_ms: 1.5,
      status: 'unset',
      span_kind: 'server',
    });
  });

  it('maps kinds and status codes given as numbers or names; empty parent is a root span', () => {
    const r = parse(
      'traces',
      otlpTraces([
        otlpSpan({ kind: 3, status: { code: 2, message: 'boom' }, parentSpanId: '' }),
        otlpSpan({ kind: 'SPAN_KIND_CONSUMER', status: { code: 'STATUS_CODE_OK' } }),
        otlpSpan({ kind: undefined, status: undefined }),
        otlpSpan({ kind: 1, status: { code: 'STATUS_CODE_ERROR' } }),
      ]),
    );
    expect(r.errors).toEqual([]);
    const spans = r.events as Span[];
    expect(spans.map((s) => [s.span_kind, s.status])).toEqual([
      ['client', 'error'],
      ['consumer', 'ok'],
      ['unspecified', 'unset'],
      ['internal', 'error'],
    ]);
    expect(spans[0]!.parent_span_id).toBeUndefined();
    expect('parent_span_id' in spans[0]!).toBe(false);
  });

  it('emits the good spans of a partly bad batch, each bad one named by path', () => {
    const r = parse(
      'traces',
      otlpTraces([
        otlpSpan(),
        otlpSpan({ spanId: 'xyz' }),
        otlpSpan({ endTimeUnixNano: T0_NS }), // ends before it starts
        otlpSpan({ startTimeUnixNano: '0' }),
        otlpSpan({ kind: 9 }),
        otlpSpan({ traceId: 17 }),
        otlpSpan({ spanId: '0000000000000000' }),
        otlpSpan(),
      ]),
    );
    expect(r.events.map((e) => e.id)).toEqual(['traces-L7#0', 'traces-L7#7']);
    expect(r.badEntries).toBe(6);
    expect(codes(r)).toEqual(['SCHEMA_MISMATCH', 'BAD_TIMESTAMP', 'BAD_TIMESTAMP', 'SCHEMA_MISMATCH', 'SCHEMA_MISMATCH', 'SCHEMA_MISMATCH']);
    expect(r.errors[0]!.message).toBe('resourceSpans[0].scopeSpans[0].spans[1]: spanId: expected 16 hex characters, got "xyz"');
    expect(r.errors[4]!.message).toMatch(/spans\[5\]: traceId: /);
  });

  it('fails a whole resource without service.name, and a payload that is not a trace export', () => {
    const r = parse('traces', otlpTraces([otlpSpan(), otlpSpan(), otlpSpan()], null));
    expect(codes(r)).toEqual(['MISSING_SERVICE']);
    expect(r.badEntries).toBe(3);
    expect(codes(parse('traces', { resourceSpans: {} }))).toEqual(['SCHEMA_MISMATCH']);
    expect(codes(parse('traces', { ts: T0, service: 'x' }))).toEqual(['SCHEMA_MISMATCH']);
    const badScope = parse('traces', { resourceSpans: [{ resource: { attributes: [str('service.name', 'a')] }, scopeSpans: [{ spans: 'x' }] }] });
    expect(codes(badScope)).toEqual(['SCHEMA_MISMATCH']);
    expect(parse('traces', { resourceSpans: [] })).toMatchObject({ events: [], errors: [] });
  });

  it('bounds the listed errors of a large bad batch but counts them all', () => {
    const spans = Array.from({ length: 100 }, () => otlpSpan({ spanId: 'bad' }));
    const r = parse('traces', otlpTraces(spans));
    expect(r.badEntries).toBe(100);
    expect(r.errors).toHaveLength(MAX_LISTED_ERRORS + 1);
    expect(r.errors.at(-1)!.message).toBe(`… and ${100 - MAX_LISTED_ERRORS} more bad entries not listed`);
  });
});

describe('OTLP/JSON metrics', () => {
  const t = T0_NS;
  const payload = otlpMetrics([
    {
      name: 'system.cpu.utilization',
      unit: '1',
      gauge: {
        dataPoints: [
          { attributes: [str('state', 'user'), { key: 'cpu', value: { intValue: '0' } }], startTimeUnixNano: t, timeUnixNano: t, asDouble: 0.42 },
          { attributes: [str('state', 'system'), { key: 'cpu', value: { intValue: 1 } }], timeUnixNano: t, asDouble: 0.07 },
        ],
      },
    },
    {
      name: 'http.server.request.count',
      sum: { dataPoints: [{ attributes: [], startTimeUnixNano: t, timeUnixNano: t, asInt: '1024' }], aggregationTemporality: 2, isMonotonic: true },
    },
    {
      name: 'http.server.request.duration',
      unit: 's',
      histogram: {
        dataPoints: [
          { timeUnixNano: t, count: '10', sum: 1.5, bucketCounts: ['1', '9'], explicitBounds: [0.1] },
          { timeUnixNano: t, count: '3', sum: 0.3, bucketCounts: ['3', '0'], explicitBounds: [0.1] },
        ],
        aggregationTemporality: 2,
      },
    },
    { name: 'rpc.latency', summary: { dataPoints: [{ timeUnixNano: t, count: '1', sum: 1, quantileValues: [] }] } },
  ]);

  it('emits gauge and sum points, and histogram/summary points as distributions with their mean', () => {
    const r = parse('metrics', payload);
    expect(r.errors).toEqual([]);
    expect(r.dropped).toEqual({});
    const pts = r.events as MetricPoint[];
    expect(pts.map((p) => [p.id, p.name, p.value, p.labels])).toEqual([
      ['metrics-L7#0', 'system.cpu.utilization', 0.42, { state: 'user', cpu: '0' }],
      ['metrics-L7#1', 'system.cpu.utilization', 0.07, { state: 'system', cpu: '1' }],
      ['metrics-L7#2', 'http.server.request.count', 1024, {}],
      ['metrics-L7#3', 'http.server.request.duration', 0.15, {}],
      ['metrics-L7#4', 'http.server.request.duration', 0.3 / 3, {}],
      ['metrics-L7#5', 'rpc.latency', 1, {}],
    ]);
    expect(pts[3]).toMatchObject({ unit: 's', dist: { kind: 'histogram', temporality: 'cumulative', count: 10, bounds: [0.1], counts: [1, 9] } });
    expect(pts[5]?.dist).toMatchObject({ kind: 'summary', count: 1, quantiles: [] });
    expect(pts.every((p) => p.ts === T0 && p.service === 'cart')).toBe(true);
  });

  it('converts every attribute value type to a string label', () => {
    const attributes = [
      str('s', 'x'),
      { key: 'i', value: { intValue: '-7' } },
      { key: 'd', value: { doubleValue: 2.5 } },
      { key: 'b', value: { boolValue: false } },
      { key: 'a', value: { arrayValue: { values: [{ stringValue: 'p' }, { intValue: '2' }] } } },
      { key: 'kv', value: { kvlistValue: { values: [{ key: 'z', value: { boolValue: true } }] } } },
      { key: 'bytes', value: { bytesValue: 'AQID' } },
      { key: 'empty', value: {} },
      { key: '__proto__', value: { stringValue: 'not a prototype' } },
    ];
    const p = only(parse('metrics', otlpMetrics([{ name: 'm', gauge: { dataPoints: [{ attributes, timeUnixNano: t, asInt: 1 }] } }])), 'metric');
    expect(Object.entries(p.labels)).toEqual([
      ['s', 'x'],
      ['i', '-7'],
      ['d', '2.5'],
      ['b', 'false'],
      ['a', '["p",2]'],
      ['kv', '{"z":true}'],
      ['bytes', 'AQID'],
      ['empty', ''],
      ['__proto__', 'not a prototype'],
    ]);
    expect(Object.getPrototypeOf(p.labels)).toBe(Object.prototype);
  });

  it('drops points without a value on purpose, rejects malformed ones', () => {
    const r = parse(
      'metrics',
      otlpMetrics([
        {
          name: 'm',
          gauge: {
            dataPoints: [
              { timeUnixNano: t, asDouble: 'NaN' },
              { timeUnixNano: t, flags: 1 },
              { timeUnixNano: t, asDouble: '3.5' },
              { timeUnixNano: t },
              { timeUnixNano: t, asInt: '12x' },
              { timeUnixNano: t, asDouble: 1, attributes: [{ key: 'k', value: 'bare string' }] },
              { asDouble: 2 }, // no time: the record timestamp
            ],
          },
        },
        { name: '', gauge: { dataPoints: [] } },
        { name: 'nodata' },
      ]),
      { ts: T0 + 1 },
    );
    // A non-finite value is refused (dead letter, partialSuccess), not silently dropped.
    expect(r.dropped).toEqual({ no_recorded_value: 1 });
    expect((r.events as MetricPoint[]).map((p) => [p.id, p.value, p.ts])).toEqual([
      ['metrics-L7#2', 3.5, T0],
      ['metrics-L7#6', 2, T0 + 1],
    ]);
    expect(codes(r)).toEqual(['SCHEMA_MISMATCH', 'SCHEMA_MISMATCH', 'SCHEMA_MISMATCH', 'SCHEMA_MISMATCH', 'SCHEMA_MISMATCH', 'SCHEMA_MISMATCH']);
    expect(r.errors[0]!.message).toMatch(/gauge\.dataPoints\[0\]: gauge point value is not finite/);
    expect(r.errors[1]!.message).toMatch(/gauge\.dataPoints\[3\]: data point has neither asDouble nor asInt/);
    expect(r.errors[2]!.message).toMatch(/dataPoints\[4\]: asInt/);
    expect(r.errors[3]!.message).toMatch(/dataPoints\[5\]: attributes\[0\]\.value: expected an AnyValue/);
    expect(r.errors[4]!.message).toMatch(/metrics\[1\]: name/);
    expect(r.errors[5]!.message).toMatch(/metrics\[2\]: metric has no gauge/);
  });
});

describe('plain metrics', () => {
  it('maps {ts, service, name, value, labels?}', () => {
    const p = only(parse('metrics', { ts: T0, service: 'db', name: 'db.connections', value: 17, labels: { pool: 'main' } }), 'metric');
    expect(p).toEqual({ kind: 'metric', id: 'metrics-L7#0', ts: T0, service: 'db', name: 'db.connections', value: 17, labels: { pool: 'main' } });
    expect(only(parse('metrics', { ts: T0, service: 'db', name: 'n', value: -0.5 }), 'metric').labels).toEqual({});
  });

  it('rejects wrong types with the path, and a missing service', () => {
    const r = parse('metrics', { ts: T0, service: 'db', name: 'n', value: '17' });
    expect(codes(r)).toEqual(['SCHEMA_MISMATCH']);
    expect(r.errors[0]!.message).toMatch(/^value: .*expected number/);
    expect(parse('metrics', { ts: T0, service: 'db', name: 'n', value: 1, labels: { a: { b: 1 } } }).errors[0]!.message).toMatch(/^labels\.a: /);
    expect(codes(parse('metrics', { ts: T0, name: 'n', value: 1 }))).toEqual(['MISSING_SERVICE']);
    expect(codes(parse('metrics', '[{"ts": 1}]'))).toEqual(['SCHEMA_MISMATCH']);
  });
});
