import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { NightshiftError } from '../core/errors.js';
import { replayLine } from '../core/replay.js';
import { IngestStage } from '../ingest/stage.js';
import { check, checkFast } from '../ingest/formats/collect.js';
import { JsonLine, OtlpLogRecord, isJsonLine, isOtlpLogRecord } from '../ingest/formats/logs.js';
import { NumberDataPoint, OtlpMetric, PlainMetric, isNumberDataPoint, isOtlpMetric, isPlainMetric } from '../ingest/formats/metrics.js';
import { OtlpSpan, isOtlpSpan } from '../ingest/formats/traces.js';
import { anyValueToString, attributesToLabels } from '../ingest/formats/otlp.js';
import { isPlainLabels } from '../schemas/guard.js';
import { Labels } from '../schemas/common.js';
import { ReplayRecord, isReplayRecord } from '../schemas/replay.js';
import type { Event } from '../schemas/events.js';
import { CFG, T0, T0_NS, otlpLogRecord, otlpLogs, otlpSpan, otlpTraces, rec } from './ingest-fixtures.js';

type Guard = (v: unknown) => boolean;

const HUGE = 'x'.repeat(2_000_000);
/** Values every field is set to in turn: wrong types, non-finite and unsafe numbers, empty and huge strings. */
const FIELD_VALUES: readonly unknown[] = [
  undefined,
  null,
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1.5,
  42,
  2 ** 53,
  2 ** 60,
  -(2 ** 53),
  1e308,
  '',
  '0',
  '123',
  '-12345678901234567890',
  '123456789012345678901',
  '1.5',
  'NaN',
  'SEVERITY_NUMBER_INFO',
  HUGE,
  true,
  false,
  {},
  [],
  [1, 'a'],
  { code: 2 },
  { code: 'x', message: 3 },
  { dataPoints: [] },
  { dataPoints: {} },
  { dataPoints: [], aggregationTemporality: 'x', isMonotonic: 'yes' },
  { dataPoints: [], aggregationTemporality: NaN, isMonotonic: true },
  { a: 'b' },
  { a: 1 },
  JSON.parse('{"__proto__":"x","a":"b"}'),
  JSON.parse('{"__proto__":{"a":"b"}}'),
  JSON.parse('{"constructor":"x"}'),
  JSON.parse('{"constructor":{"prototype":1}}'),
  Object.create(null),
  new Date(0),
];

/** Whole values that are not entries at all. */
const WHOLE_VALUES: readonly unknown[] = [undefined, null, 0, NaN, 'x', HUGE, true, [], [{}], new Date(0), Object.create(null), () => 1, Symbol('s')];

/** Every way to spoil a good entry: each field deleted or replaced, a prototype key added, or the entry replaced. */
function variants(good: Record<string, unknown>, extraKeys: readonly string[] = []): unknown[] {
  const out: unknown[] = [...WHOLE_VALUES, good];
  for (const k of [...Object.keys(good), ...extraKeys]) {
    for (const v of FIELD_VALUES) {
      const copy: Record<string, unknown> = { ...good };
      if (v === undefined) delete copy[k];
      else copy[k] = v;
      out.push(copy);
      out.push({ ...copy, [k]: v }); // present with the value undefined, too
    }
  }
  // Prototype keys straight from JSON (own properties named __proto__ / constructor), and a field that is only
  // inherited, which zod reads as present: JSON cannot make one, a hand-built object can.
  const json = JSON.stringify(good);
  out.push(JSON.parse(`{"__proto__":{"polluted":true},${json.slice(1)}`));
  out.push(JSON.parse(`{"constructor":{"name":"x"},${json.slice(1)}`));
  for (const k of Object.keys(good)) {
    const { [k]: v, ...rest } = good;
    out.push(Object.assign(Object.create({ [k]: v }), rest));
  }
  return out;
}

/** The input read through zod's output shape (its keys, at every depth): what the callers read of it. Equal to zod's
 * copy, so using the input in place of the copy changes nothing downstream. */
function project(v: unknown, data: unknown): unknown {
  if (v === data) return v; // z.unknown() passes the input through
  if (Array.isArray(data)) return (v as unknown[]).map((x, i) => project(x, data[i]));
  if (typeof data === 'object' && data !== null) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(data)) o[k] = project((v as Record<string, unknown>)[k], (data as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

/**
 * The guard and zod give the same verdict on every input, except that a guard may defer (refuse what zod accepts,
 * so checkFast asks zod and takes zod's copy) on inputs `defers` names: labels with an own `__proto__` or
 * `constructor` key or no prototype, which zod's copy changes. Where the guard accepts, the input read through
 * zod's output shape equals zod's output.
 */
function agree(name: string, guard: Guard, schema: z.ZodType, inputs: readonly unknown[], defers: (v: unknown) => boolean = () => false): { accepted: number; refused: number } {
  let accepted = 0;
  let refused = 0;
  for (const [i, v] of inputs.entries()) {
    const z = schema.safeParse(v);
    const g = guard(v);
    if (z.success && !g && defers(v)) continue;
    expect({ name, i, guard: g }).toEqual({ name, i, guard: z.success });
    if (z.success && g) {
      expect(project(v, z.data)).toEqual(z.data);
      accepted++;
    } else refused++;
  }
  return { accepted, refused };
}

/** Labels zod accepts but copies into a different object: an own __proto__ (dropped), an own constructor, no prototype. */
const ownProtoKey = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && (Object.hasOwn(v, '__proto__') || Object.hasOwn(v, 'constructor') || Object.getPrototypeOf(v) === null);

/** What check() and checkFast() make of a value: the same result, or the same NightshiftError code and text. */
function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return e instanceof NightshiftError ? { code: e.code, message: e.message } : { other: String(e) };
  }
}

describe('no-copy guards agree with their zod schemas', () => {
  it('ReplayRecord: the replay line', () => {
    const r = agree('ReplayRecord', isReplayRecord, ReplayRecord, variants({ topic: 'logs', key: 'api', payload: '{"a":1}', ts: T0, partition: 0, offset: 7 }));
    expect(r.accepted).toBeGreaterThan(5);
    expect(r.refused).toBeGreaterThan(100);
  });

  it('OTLP log records, JSON log lines, spans', () => {
    agree('OtlpLogRecord', isOtlpLogRecord, OtlpLogRecord, variants(otlpLogRecord() as Record<string, unknown>));
    agree('JsonLine', isJsonLine, JsonLine, variants({ ts: T0, service: 'api', level: 'warn', message: 'm', host: 'h', trace_id: 't' }));
    agree('OtlpSpan', isOtlpSpan, OtlpSpan, variants(otlpSpan() as Record<string, unknown>));
  });

  it('OTLP metrics and number points, plain metrics, labels', () => {
    const metric = { name: 'm', unit: 'ms', gauge: { dataPoints: [{ asDouble: 1 }] } };
    agree('OtlpMetric', isOtlpMetric, OtlpMetric, [...variants(metric, ['sum', 'histogram', 'exponentialHistogram', 'summary']), { name: 'x'.repeat(65), unit: 'u'.repeat(65) }, { name: 'm', unit: 'u'.repeat(64) }]);
    agree('NumberDataPoint', isNumberDataPoint, NumberDataPoint, variants({ attributes: [], timeUnixNano: T0_NS, asDouble: 1.5, asInt: '12', flags: 0 }));
    agree('PlainMetric', isPlainMetric, PlainMetric, variants({ ts: T0, service: 'api', name: 'cpu', value: 0.5, labels: { env: 'prod' } }), (v) => ownProtoKey((v as { labels?: unknown }).labels));
    agree('Labels', isPlainLabels, Labels, [...WHOLE_VALUES, ...FIELD_VALUES.filter((v) => typeof v === 'object'), { a: 'b', c: HUGE }, { a: 'b', c: 1 }], ownProtoKey);
  });

  it('checkFast gives check()\'s value or check()\'s error for every input: the same dead-letter classification', () => {
    const cases: Array<[Guard, z.ZodType, unknown[]]> = [
      [isOtlpSpan, OtlpSpan, variants(otlpSpan() as Record<string, unknown>)],
      [isJsonLine, JsonLine, variants({ ts: T0, service: 'api', level: 30, message: 'm' })],
      [isPlainMetric, PlainMetric, variants({ ts: T0, service: 'api', name: 'cpu', value: 0.5, labels: { env: 'prod' } })],
    ];
    for (const [guard, schema, inputs] of cases) {
      for (const v of inputs) {
        const fast = outcome(() => checkFast(guard as (v: unknown) => v is unknown, schema, v, 'base'));
        const slow = outcome(() => check(schema, v, 'base'));
        if ((fast as { ok?: unknown }).ok !== undefined) expect(project((fast as { ok: unknown }).ok, (slow as { ok: unknown }).ok)).toEqual((slow as { ok: unknown }).ok);
        else expect(fast).toEqual(slow);
      }
    }
  });
});

describe('bad input still dead-letters, counted, with a clear error', () => {
  it('replay lines: the guard path and zod name the same problem', () => {
    const bad = [
      '{"topic":"logs","payload":42}',
      '{"topic":"","payload":"x"}',
      '{"topic":"logs","payload":"x","ts":"1"}',
      '{"topic":"logs","payload":"x","partition":1.5}',
      '{"topic":"logs","payload":"x","ts":1e400}',
      '{"__proto__":{"topic":"logs","payload":"x"}}',
      '[1]',
      'null',
    ];
    for (const [i, text] of bad.entries()) {
      const r = replayLine({ kind: 'line', n: i + 1, text }, 1 << 20);
      expect(r).toMatchObject({ stage: 'source', code: 'SCHEMA_MISMATCH', source: { line: i + 1 } });
      expect((r as { error: string }).error).toMatch(new RegExp(`^replay line ${i + 1} is not a replay record: `));
    }
    expect(replayLine({ kind: 'line', n: 9, text: '{"topic":"logs","payload":"x","key":null,"ts":5}' }, 1 << 20)).toEqual({ topic: 'logs', key: null, payload: 'x', ts: 5, source: { line: 9 } });
  });

  it('a batch with bad entries: one dead letter for the record, the good entries emitted', () => {
    const dl = new MemoryDeadLetters();
    const stage = new IngestStage(CFG, { log: undefined as never, deadLetters: dl });
    const events: Event[] = [];
    const out = { emit: (e: Event) => events.push(e) };
    const spans = [otlpSpan(), { ...otlpSpan(), startTimeUnixNano: NaN }, { ...otlpSpan(), traceId: 7 }, JSON.parse(`{"__proto__":{"spanId":"x"},${JSON.stringify(otlpSpan()).slice(1)}`)];
    stage.process(rec('traces', JSON.stringify(otlpTraces(spans))), out);
    // NaN is written by JSON.stringify as null: a null start time.
    expect(events).toHaveLength(2);
    expect(dl.byCode()).toEqual({ SCHEMA_MISMATCH: 1 });
    expect(dl.items[0]!.error).toMatch(/^2 bad entries, 2 emitted: \[SCHEMA_MISMATCH\] resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]: startTimeUnixNano: .*; \[SCHEMA_MISMATCH\] .*spans\[2\]: traceId: /);
    stage.process(rec('logs', JSON.stringify(otlpLogs([{ ...otlpLogRecord(), severityNumber: 1.5 }])), { ts: T0 }), out);
    stage.process(rec('logs', JSON.stringify({ ts: T0, service: 'api', message: 42 })), out);
    stage.process(rec('metrics', JSON.stringify({ ts: T0, service: 'api', name: 'cpu', value: 'NaN' })), out);
    expect(dl.byCode()).toEqual({ SCHEMA_MISMATCH: 4 });
    expect(stage.counters.snapshot()).toMatchObject({ dropped: { 'dead_letter:SCHEMA_MISMATCH': 4 } });
    expect(dl.items.map((d) => d.error).slice(1)).toEqual([
      'resourceLogs[0].scopeLogs[0].logRecords[0]: severityNumber: Invalid input',
      'message: Invalid input: expected string, received number',
      'value: Invalid input: expected number, received string',
    ]);
  });
});

describe('attributesToLabels, built in place', () => {
  it('gives what Object.fromEntries over the converted pairs gives: duplicates, __proto__, non-string values', () => {
    const attrs = [
      { key: 'a', value: { stringValue: 'x' } },
      { key: 'n', value: { intValue: '12' } },
      { key: '__proto__', value: { stringValue: 'own' } },
      { key: 'a', value: { stringValue: 'last wins' } },
      { key: 'list', value: { arrayValue: { values: [{ stringValue: 'p' }, { boolValue: true }] } } },
      { key: 'unset' },
      { key: 'empty', value: {} },
    ];
    const labels = attributesToLabels(attrs, 'attributes');
    const reference = Object.fromEntries(attrs.map((kv) => [kv.key, anyValueToString(kv.value ?? {}, '')]));
    expect(labels).toEqual(reference);
    expect(Object.keys(labels)).toEqual(Object.keys(reference));
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.hasOwn(labels, '__proto__')).toBe(true);
    expect(() => attributesToLabels([{ key: 'ok', value: { stringValue: 'v' } }, { key: 'b', value: { stringValue: 5 } }], 'attributes')).toThrow('attributes[1].value.stringValue: expected a string');
    expect(() => attributesToLabels([{ key: 3 }], 'attributes')).toThrow('attributes[0]: expected {key: string, value}');
    expect(() => attributesToLabels({}, 'attributes')).toThrow('attributes: expected an array of {key, value}');
  });
});
