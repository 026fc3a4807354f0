import { describe, expect, it } from 'vitest';
import { IngestConfig, parseRecord } from '../ingest/index.js';
import { CFG, T0, alertmanagerWebhook, codes, only, otlpLogRecord, otlpLogs, otlpMetrics, otlpSpan, otlpTraces, parse, rec } from './ingest-fixtures.js';

describe('changes', () => {
  const change = { ts: '2024-03-01T10:00:00Z', service: 'checkout', kind: 'deploy', id: 'deploy-4711', summary: 'v2.3.1 -> v2.4.0', author: 'ci-bot' };

  it('maps a change, keeping its own id', () => {
    expect(only(parse('changes', change), 'change')).toEqual({
      kind: 'change',
      id: 'deploy-4711',
      ts: T0,
      service: 'checkout',
      change_kind: 'deploy',
      summary: 'v2.3.1 -> v2.4.0',
      author: 'ci-bot',
    });
    const { author: _a, ...noAuthor } = change;
    expect('author' in only(parse('changes', noAuthor), 'change')).toBe(false);
    for (const kind of ['config', 'flag', 'infra', 'other']) expect(only(parse('changes', { ...change, kind }), 'change').change_kind).toBe(kind);
  });

  it('is strict about the kind', () => {
    const r = parse('changes', { ...change, kind: 'rollout' });
    expect(codes(r)).toEqual(['SCHEMA_MISMATCH']);
    expect(r.errors[0]!.message).toBe('kind: unknown change kind "rollout": expected one of deploy, config, flag, infra, other');
    expect(codes(parse('changes', { ...change, kind: 'Deploy' }))).toEqual(['SCHEMA_MISMATCH']);
  });

  it('requires id, service and a time', () => {
    expect(codes(parse('changes', { ...change, id: '' }))).toEqual(['SCHEMA_MISMATCH']);
    expect(codes(parse('changes', { ...change, service: null }))).toEqual(['MISSING_SERVICE']);
    expect(codes(parse('changes', { ...change, ts: null }))).toEqual(['BAD_TIMESTAMP']);
    expect(only(parse('changes', { ...change, ts: null }, { ts: T0 + 2 }), 'change').ts).toBe(T0 + 2);
  });
});

describe('record-level checks', () => {
  it('dead-letters unknown topics, and honours configured topic names', () => {
    const r = parse('audit', '{}');
    expect(codes(r)).toEqual(['UNKNOWN_TOPIC']);
    expect(r.errors[0]!.message).toMatch(/"audit".*alerts, logs, metrics, traces, changes/);
    const cfg = IngestConfig.parse({ topics: { logs: 'prod.logs' } });
    expect(cfg.topics).toEqual({ alerts: 'alerts', logs: 'prod.logs', metrics: 'metrics', traces: 'traces', changes: 'changes' });
    expect(only(parse('prod.logs', 'hi', { key: 'k', ts: T0 }, cfg), 'log').id).toBe('prod.logs-L7#0');
    expect(codes(parse('logs', 'hi', { key: 'k', ts: T0 }, cfg))).toEqual(['UNKNOWN_TOPIC']);
  });

  it('refuses oversized payloads without parsing them', () => {
    const cfg = IngestConfig.parse({ maxRecordBytes: 1000 });
    // invalid JSON and too large: the size check comes first, so the code tells the real problem
    expect(codes(parse('metrics', '{' + 'x'.repeat(1000), {}, cfg))).toEqual(['RECORD_TOO_LARGE']);
    expect(codes(parse('logs', 'y'.repeat(1001), { key: 'k', ts: T0 }, cfg))).toEqual(['RECORD_TOO_LARGE']);
    expect(only(parse('logs', 'y'.repeat(1000), { key: 'k', ts: T0 }, cfg), 'log').message).toHaveLength(1000);
    // 400 three-byte characters: 400 UTF-16 units but 1200 UTF-8 bytes
    const wide = parse('logs', '€'.repeat(400), { key: 'k', ts: T0 }, cfg);
    expect(codes(wide)).toEqual(['RECORD_TOO_LARGE']);
    expect(wide.errors[0]!.message).toMatch(/1200 bytes exceeds maxRecordBytes 1000/);
    // the default limit is 1 MiB
    expect(codes(parse('logs', 'z'.repeat(1_048_577), { key: 'k', ts: T0 }))).toEqual(['RECORD_TOO_LARGE']);
  });

  it('reports truncated JSON as INVALID_JSON on every JSON topic', () => {
    const payloads: Array<[string, unknown]> = [
      ['alerts', alertmanagerWebhook()],
      ['traces', otlpTraces([otlpSpan()])],
      ['metrics', otlpMetrics([{ name: 'm', gauge: { dataPoints: [{ asDouble: 1 }] } }])],
      ['logs', otlpLogs([otlpLogRecord()])],
      ['changes', { ts: T0, service: 's', kind: 'deploy', id: 'd', summary: '' }],
    ];
    for (const [topic, body] of payloads) {
      const text = JSON.stringify(body);
      expect([topic, codes(parse(topic, text.slice(0, Math.floor(text.length / 2)), { key: 'k', ts: T0 }))]).toEqual([topic, ['INVALID_JSON']]);
    }
    expect(codes(parse('changes', ''))).toEqual(['INVALID_JSON']);
    expect(codes(parse('changes', 'null'))).toEqual(['SCHEMA_MISMATCH']);
  });

  it('never throws and never loses a record silently, whatever prefix of a real payload arrives', () => {
    const bodies: Array<[string, string]> = [
      ['alerts', JSON.stringify(alertmanagerWebhook())],
      ['traces', JSON.stringify(otlpTraces([otlpSpan(), otlpSpan({ kind: 'SPAN_KIND_CLIENT' })]))],
      ['logs', JSON.stringify(otlpLogs([otlpLogRecord()]))],
    ];
    let checked = 0;
    for (const [topic, text] of bodies) {
      // every 5th prefix, and the same prefix with one character corrupted: bounded, deterministic
      for (let n = 0; n < text.length; n += 5) {
        for (const p of [text.slice(0, n), text.slice(0, n) + '"' + text.slice(n + 1)]) {
          const r = parseRecord(rec(topic, p, { key: 'k', ts: T0 }), CFG);
          expect(r.events.length + r.errors.length).toBeGreaterThan(0);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('is deterministic: same record, same output, ids from the source position', () => {
    const text = JSON.stringify(otlpTraces([otlpSpan(), otlpSpan()]));
    const a = parseRecord(rec('traces', text, { source: { partition: 3, offset: '981' } }), CFG);
    const b = parseRecord(rec('traces', text, { source: { partition: 3, offset: '981' } }), CFG);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.events.map((e) => e.id)).toEqual(['traces-3-981#0', 'traces-3-981#1']);
    const c = parseRecord(rec('traces', text, { source: { line: 12 } }), CFG);
    expect(c.events.map((e) => e.id)).toEqual(['traces-L12#0', 'traces-L12#1']);
  });
});
