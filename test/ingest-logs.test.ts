import { describe, expect, it } from 'vitest';
import { guessLevel } from '../ingest/formats/level.js';
import type { LogRecord } from '../schemas/events.js';
import { T0, codes, only, otlpLogRecord, otlpLogs, parse } from './ingest-fixtures.js';

describe('OTLP/JSON logs', () => {
  it('maps a collector-written ExportLogsServiceRequest', () => {
    const l = only(parse('logs', otlpLogs([otlpLogRecord()])), 'log');
    expect(l).toEqual({
      kind: 'log',
      id: 'logs-L7#0',
      ts: T0,
      service: 'cart',
      level: 'error',
      message: 'redis: connection pool timeout',
      host: 'node-1',
      trace_id: '5b8efff798038103d269b633813fc60c',
    });
  });

  it('maps every severityNumber range boundary', () => {
    const cases: Array<[number, string]> = [
      [1, 'trace'], [4, 'trace'], [5, 'debug'], [8, 'debug'], [9, 'info'], [12, 'info'],
      [13, 'warn'], [16, 'warn'], [17, 'error'], [20, 'error'], [21, 'fatal'], [24, 'fatal'],
    ];
    const r = parse('logs', otlpLogs(cases.map(([n]) => otlpLogRecord({ severityNumber: n, severityText: 'INFO' }))));
    expect(r.errors).toEqual([]);
    expect(r.events.map((e) => (e as LogRecord).level)).toEqual(cases.map(([, l]) => l));
  });

  it('uses severityText when the number is unspecified, then the body', () => {
    const levels = (recs: unknown[]) => parse('logs', otlpLogs(recs)).events.map((e) => (e as LogRecord).level);
    expect(
      levels([
        otlpLogRecord({ severityNumber: 0, severityText: 'Warning' }),
        otlpLogRecord({ severityNumber: undefined, severityText: 'DEBUG' }),
        otlpLogRecord({ severityNumber: 'SEVERITY_NUMBER_FATAL2', severityText: undefined }),
        otlpLogRecord({ severityNumber: undefined, severityText: undefined, body: { stringValue: 'WARN disk 91% full' } }),
        otlpLogRecord({ severityNumber: undefined, severityText: 'whatever', body: { stringValue: 'all good' } }),
      ]),
    ).toEqual(['warn', 'debug', 'fatal', 'warn', 'info']);
  });

  it('renders non-string bodies and falls back through observed time and record time', () => {
    const r = parse(
      'logs',
      otlpLogs([
        otlpLogRecord({ body: { kvlistValue: { values: [{ key: 'event', value: { stringValue: 'login' } }, { key: 'n', value: { intValue: '3' } }] } } }),
        otlpLogRecord({ timeUnixNano: '0', body: undefined }),
        otlpLogRecord({ timeUnixNano: undefined, observedTimeUnixNano: undefined, traceId: '' }),
      ]),
      { ts: T0 + 9 },
    );
    expect(r.errors).toEqual([]);
    const [a, b, c] = r.events as LogRecord[];
    expect(a!.message).toBe('{"event":"login","n":3}');
    expect(b).toMatchObject({ ts: T0 + 3, message: '' });
    expect(c!.ts).toBe(T0 + 9);
    expect(c!.trace_id).toBeUndefined();
  });

  it('rejects bad entries individually: base64 trace ids, out-of-range severities, times', () => {
    const r = parse(
      'logs',
      otlpLogs([
        otlpLogRecord({ traceId: 'W47/95gDgQPSabYzgT/GDA==' }),
        otlpLogRecord(),
        otlpLogRecord({ severityNumber: 25 }),
        otlpLogRecord({ timeUnixNano: 'yesterday' }),
        otlpLogRecord({ timeUnixNano: undefined, observedTimeUnixNano: undefined }),
      ]),
    );
    expect(r.events.map((e) => e.id)).toEqual(['logs-L7#1']);
    expect(codes(r)).toEqual(['SCHEMA_MISMATCH', 'SCHEMA_MISMATCH', 'BAD_TIMESTAMP', 'BAD_TIMESTAMP']);
    expect(r.errors[0]!.message).toMatch(/^resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]: traceId: expected 32 hex/);
    expect(r.errors[2]!.message).toMatch(/logRecords\[3\]: timeUnixNano/);
  });

  it('needs service.name on the resource', () => {
    const r = parse('logs', otlpLogs([otlpLogRecord(), otlpLogRecord()], null));
    expect(codes(r)).toEqual(['MISSING_SERVICE']);
    expect(r.badEntries).toBe(2);
    expect(r.errors[0]!.message).toMatch(/^resourceLogs\[0\]: .*service\.name/);
  });
});

describe('JSON log lines', () => {
  const line = { ts: T0, service: 'api', level: 'warning', message: 'slow query', host: 'h1', trace_id: 'abc' };

  it('maps fields and level aliases', () => {
    expect(only(parse('logs', line), 'log')).toEqual({ kind: 'log', id: 'logs-L7#0', ts: T0, service: 'api', level: 'warn', message: 'slow query', host: 'h1', trace_id: 'abc' });
    const lvl = (level: unknown, message = 'x') => only(parse('logs', { ts: T0, service: 'api', level, message }), 'log').level;
    expect(lvl('ERR')).toBe('error');
    expect(lvl('Critical')).toBe('fatal');
    expect(lvl(50)).toBe('error'); // pino
    expect(lvl(30)).toBe('info');
    expect(lvl(undefined, 'ERROR failed to connect')).toBe('error');
    expect(lvl('bogus', 'upstream exception')).toBe('error');
    expect(lvl(null, 'ok')).toBe('info');
  });

  it('requires service and message', () => {
    const { service: _s, ...noService } = line;
    expect(codes(parse('logs', noService))).toEqual(['MISSING_SERVICE']);
    const r = parse('logs', { ts: T0, service: 'api', message: 42 });
    expect(codes(r)).toEqual(['SCHEMA_MISMATCH']);
    expect(r.errors[0]!.message).toMatch(/^message: /);
  });

  it('dead-letters text starting with { that is not JSON, instead of keeping it as raw text', () => {
    const r = parse('logs', '{"ts": 1709287200000, "service": "api", "mess', { key: 'api', ts: T0 });
    expect(codes(r)).toEqual(['INVALID_JSON']);
    expect(codes(parse('logs', '   {broken', { key: 'api', ts: T0 }))).toEqual(['INVALID_JSON']);
  });
});

describe('raw text logs', () => {
  it('takes message from the text, service from the key, time from the record', () => {
    const l = only(parse('logs', '2024-03-01 10:00:00 ERROR [pool-3] connection refused\n', { key: 'orders', ts: T0 }), 'log');
    expect(l).toEqual({ kind: 'log', id: 'logs-L7#0', ts: T0, service: 'orders', level: 'error', message: '2024-03-01 10:00:00 ERROR [pool-3] connection refused' });
  });

  it('treats JSON arrays and scalars as text', () => {
    expect(only(parse('logs', '[1,2,3]', { key: 'k', ts: T0 }), 'log').message).toBe('[1,2,3]');
    expect(only(parse('logs', '"quoted"', { key: 'k', ts: T0 }), 'log').message).toBe('"quoted"');
  });

  it('needs a key and a record timestamp, and some text', () => {
    expect(codes(parse('logs', 'hello', { ts: T0 }))).toEqual(['MISSING_SERVICE']);
    expect(codes(parse('logs', 'hello', { key: 'k' }))).toEqual(['BAD_TIMESTAMP']);
    expect(codes(parse('logs', 'hello', { key: 'k', ts: 1709287200 }))).toEqual(['BAD_TIMESTAMP']);
    expect(codes(parse('logs', '  \n', { key: 'k', ts: T0 }))).toEqual(['SCHEMA_MISMATCH']);
  });

  it('guesses levels from keywords', () => {
    const cases: Array<[string, string]> = [
      ['level=debug msg="cache miss"', 'debug'],
      ['time=... lvl=WARN msg=retry', 'warn'],
      ['{"level":"error"} but not json', 'error'],
      ['E0301 10:00:00 FATAL out of memory', 'fatal'],
      ['INFO retrying after error', 'info'], // first upper-case token wins over words later on
      ['java.lang.NullPointerException at Foo.bar', 'info'], // no word boundary before "Exception": not guessed
      ['upstream connect error or disconnect/reset', 'error'],
      ['panic: runtime error: index out of range', 'fatal'],
      ['disk usage warning: 91%', 'warn'],
      ['GET /health 200 3ms', 'info'],
      ['x'.repeat(600) + ' ERROR late', 'info'], // only the head is scanned
    ];
    for (const [text, level] of cases) expect([text, guessLevel(text)]).toEqual([text, level]);
  });
});

