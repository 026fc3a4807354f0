import { describe, expect, it } from 'vitest';
import { Counters } from '../core/counters.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { chain, runPipeline } from '../core/pipeline.js';
import type { RawRecord } from '../core/raw.js';
import type { Emitter, Stage } from '../core/stage.js';
import { IngestConfig, IngestStage, ingestFactory } from '../ingest/index.js';
import type { Event } from '../schemas/events.js';
import { T0, alertmanagerWebhook, otlpMetrics, otlpSpan, otlpTraces, rec } from './ingest-fixtures.js';

function setup(cfg = ingestFactory.defaultConfig()) {
  const deadLetters = new MemoryDeadLetters();
  const stage = ingestFactory.create(cfg, { log: silentLogger(), deadLetters });
  const out: Event[] = [];
  const em: Emitter<Event> = { emit: (e) => out.push(e) };
  return { stage, deadLetters, out, em };
}

describe('IngestStage', () => {
  it('emits good events and records one dead letter per bad record, with its original payload', () => {
    const { stage, deadLetters, out, em } = setup();
    const bad = '{"ts": 1709287200000, "service": "api", "kind": "deploy"';
    stage.process(rec('changes', JSON.stringify({ ts: T0, service: 's', kind: 'deploy', id: 'd-1', summary: '' })), em);
    stage.process(rec('changes', bad, { key: 'k1', source: { partition: 2, offset: '55' } }), em);
    stage.process(rec('nope', 'x', { source: { line: 9 } }), em);
    expect(out.map((e) => e.id)).toEqual(['d-1']);
    expect(deadLetters.items).toEqual([
      {
        stage: 'ingest',
        code: 'INVALID_JSON',
        error: expect.stringMatching(/^invalid JSON: /),
        topic: 'changes',
        key: 'k1',
        source: { partition: 2, offset: '55' },
        payload: bad,
        payload_bytes: Buffer.byteLength(bad),
        payload_truncated: false,
      },
      expect.objectContaining({ code: 'UNKNOWN_TOPIC', topic: 'nope', payload: 'x', source: { line: 9 } }),
    ]);
    expect(stage.counters.snapshot().dropped).toEqual({ 'dead_letter:INVALID_JSON': 1, 'dead_letter:UNKNOWN_TOPIC': 1 });
  });

  it('emits the good part of a partial batch and dead-letters the whole payload once, listing the bad entries', () => {
    const { stage, deadLetters, out, em } = setup();
    const payload = JSON.stringify(otlpTraces([otlpSpan(), otlpSpan({ spanId: 'nothex!!' }), otlpSpan({ startTimeUnixNano: '0' }), otlpSpan()]));
    stage.process(rec('traces', payload), em);
    expect(out).toHaveLength(2);
    expect(deadLetters.count).toBe(1);
    const dl = deadLetters.items[0]!;
    expect(dl.code).toBe('SCHEMA_MISMATCH'); // the first bad entry's code
    expect(dl.payload).toBe(payload);
    expect(dl.error).toMatch(/^2 bad entries, 2 emitted: \[SCHEMA_MISMATCH\] resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]: spanId: .*; \[BAD_TIMESTAMP\] .*spans\[2\]: /);
    expect(stage.counters.snapshot().dropped).toEqual({ 'dead_letter:SCHEMA_MISMATCH': 1 });
  });

  it('counts deliberately skipped entries under their reason, without a dead letter', () => {
    const { stage, deadLetters, out, em } = setup();
    const payload = otlpMetrics([
      { name: 'h', histogram: { dataPoints: [{ timeUnixNano: `${T0}000000`, flags: 1 }, { timeUnixNano: `${T0}000000`, flags: 1 }] } },
      { name: 'g', gauge: { dataPoints: [{ timeUnixNano: `${T0}000000`, asDouble: 1 }] } },
    ]);
    stage.process(rec('metrics', JSON.stringify(payload)), em);
    stage.process(rec('metrics', JSON.stringify(payload)), em);
    expect(out).toHaveLength(2);
    expect(deadLetters.count).toBe(0);
    // Histogram points flagged NO_RECORDED_VALUE carry nothing: skipped under their reason.
    expect(stage.counters.snapshot().dropped).toEqual({ no_recorded_value: 4 });
  });

  it('truncates a huge dead-lettered payload but keeps its size', () => {
    const { stage, deadLetters, em } = setup(IngestConfig.parse({ maxRecordBytes: 100_000 }));
    const huge = 'q'.repeat(200_000);
    stage.process(rec('logs', huge, { key: 'k', ts: T0 }), em);
    const dl = deadLetters.items[0]!;
    expect(dl.code).toBe('RECORD_TOO_LARGE');
    expect(dl.payload_bytes).toBe(200_000);
    expect(dl.payload_truncated).toBe(true);
    expect(dl.payload.length).toBeLessThan(huge.length);
  });

  it('runs in a pipeline: received, sent and dropped add up', async () => {
    const { stage, deadLetters } = setup();
    const seen: Event[] = [];
    const sink: Stage<Event, never> = { name: 'sink', counters: new Counters(), process: (e) => void seen.push(e) };
    const records: RawRecord[] = [
      rec('alerts', JSON.stringify(alertmanagerWebhook()), { source: { line: 1 } }),
      rec('logs', 'WARN disk almost full', { key: 'db', ts: T0, source: { line: 2 } }),
      rec('logs', 'no key', { ts: T0, source: { line: 3 } }),
      rec('traces', '{"resourceSpans": [', { source: { line: 4 } }),
      rec('metrics', JSON.stringify({ ts: T0, service: 'db', name: 'conn', value: 3 }), { source: { line: 5 } }),
    ];
    async function* source(): AsyncGenerator<RawRecord> {
      yield* records;
    }
    await runPipeline(source(), chain(stage).then(sink), { queueBatches: 2, batchSize: 2 });
    expect(seen.map((e) => e.id)).toEqual(['alerts-L1#0', 'alerts-L1#1', 'logs-L2#0', 'metrics-L5#0']);
    const snap = stage.counters.snapshot();
    expect(snap).toEqual({ received: 5, sent: 4, dropped: { 'dead_letter:INVALID_JSON': 1, 'dead_letter:MISSING_SERVICE': 1 } });
    expect(deadLetters.byCode()).toEqual({ INVALID_JSON: 1, MISSING_SERVICE: 1 });
  });
});

describe('ingestFactory', () => {
  it('has a validated default config', () => {
    expect(ingestFactory.type).toBe('ingest');
    expect(ingestFactory.defaultConfig()).toEqual({
      topics: { alerts: 'alerts', logs: 'logs', metrics: 'metrics', traces: 'traces', changes: 'changes' },
      serviceLabels: ['service', 'service_name', 'app', 'job'],
      maxRecordBytes: 1_048_576,
      redact: { enabled: true, disable: [], patterns: [], entropy: { enabled: true, minLength: 20, minBits: 4 }, decodeBase64: true, deadLetters: true },
    });
    expect(ingestFactory.configSchema.safeParse({ maxRecordBytes: -1 }).success).toBe(false);
    expect(ingestFactory.configSchema.safeParse({ redact: { entropi: {} } }).success).toBe(false);
    expect(ingestFactory.configSchema.safeParse({ redact: { patterns: [{ id: 'x', regex: '([a' }] } }).success).toBe(false);
    expect(ingestFactory.configSchema.safeParse({ serviceLabels: [] }).success).toBe(false);
    const dup = ingestFactory.configSchema.safeParse({ topics: { logs: 'alerts' } });
    expect(dup.success).toBe(false);
    expect(dup.error?.issues[0]?.message).toMatch(/share a topic/);
    const s = ingestFactory.create(ingestFactory.defaultConfig(), { log: silentLogger(), deadLetters: new MemoryDeadLetters() });
    expect(s).toBeInstanceOf(IngestStage);
    expect(s.name).toBe('ingest');
  });
});
