import { afterAll, describe, expect, it } from 'vitest';
import type { Producer, RecordMetadata } from 'kafkajs';
import { Counters } from '../core/counters.js';
import type { DeadLetter } from '../core/deadletter.js';
import { startCluster, type Cluster } from '../pipeline/kafka/cluster.js';
import { H_OUTPUT_ID, outputId } from '../pipeline/kafka/processors.js';
import { silentLogger } from '../core/log.js';
import type { Stage } from '../core/stage.js';
import type { IncidentOutput } from '../schemas/index.js';
import { MemorySink } from '../sinks/index.js';
import { readTopic, testCluster, testKafka, testProducer, waitFor, type TestCluster } from './helpers/kafka.js';

/**
 * Delivery details on the real broker: malformed records land in the dead-letter topic with their original
 * payload, the error and their source topic, partition and offset; a slow sink makes its partitions pause instead
 * of buffering, with the in-flight bound holding.
 */
const clusters: Cluster[] = [];
const producers: Producer[] = [];

afterAll(async () => {
  for (const c of clusters) await c.stop().catch(() => undefined);
  for (const p of producers) await p.disconnect().catch(() => undefined);
});

async function send(p: Producer, topic: string, key: string | null, value: string): Promise<RecordMetadata> {
  const [md] = await p.send({ topic, acks: -1, messages: [{ key, value }] });
  return md!;
}

describe('dead letters', () => {
  it('malformed raw and internal records go to the dead-letter topic with payload, error, topic, partition and offset', async () => {
    const tc: TestCluster = testCluster('dl');
    const c = await startCluster({ config: tc.config, kafka: tc.kafka, stages: ['ingest', 'perception'], log: silentLogger() });
    clusters.push(c);
    const p = await testProducer(tc.brokers);
    producers.push(p);
    const big = `{"ts":1772881200000,"service":"a","level":"info","message":"${'x'.repeat(1_200_000)}"}`;
    const bad: Array<{ topic: string; key: string | null; value: string; code: string }> = [
      { topic: tc.raw.metrics, key: null, value: 'not json {', code: 'INVALID_JSON' },
      { topic: tc.raw.alerts, key: null, value: '{"receiver":"x","status":"firing"}', code: 'SCHEMA_MISMATCH' },
      { topic: tc.raw.changes, key: null, value: '{"ts":"yesterday","service":"a","kind":"deploy","id":"c1","summary":"s","author":"me"}', code: 'BAD_TIMESTAMP' },
      { topic: tc.raw.logs, key: 'a', value: big, code: 'RECORD_TOO_LARGE' },
      { topic: tc.kafka.topics.events, key: 'a', value: '{"broken', code: 'INVALID_JSON' },
      { topic: tc.kafka.topics.events, key: 'a', value: '{"kind":"log"}', code: 'SCHEMA_MISMATCH' },
    ];
    const placed: Array<{ md: RecordMetadata; topic: string; value: string; code: string }> = [];
    for (const b of bad) placed.push({ md: await send(p, b.topic, b.key, b.value), topic: b.topic, value: b.value, code: b.code });
    // A good record next to them is not a dead letter.
    await send(p, tc.raw.logs, null, '{"ts":1772881200000,"service":"a","level":"info","message":"fine"}');

    const msgs = await readTopic(tc.brokers, tc.kafka.topics.deadLetters, (m) => m.length >= bad.length, 60_000);
    expect(msgs.length).toBe(bad.length);
    const dls = msgs.map((m) => ({ key: m.key?.toString(), dl: JSON.parse(m.value!.toString()) as DeadLetter }));
    for (const x of placed) {
      const hit = dls.find((d) => d.dl.topic === x.topic && d.dl.source?.partition === x.md.partition && String(d.dl.source?.offset) === x.md.baseOffset);
      expect(hit, `${x.code} from ${x.topic}`).toBeDefined();
      expect(hit!.key).toBe(x.topic);
      expect(hit!.dl.code).toBe(x.code);
      expect(hit!.dl.error.length).toBeGreaterThan(5);
      expect(hit!.dl.stage).toBe(x.topic === tc.kafka.topics.events ? 'perception' : 'ingest');
      expect(hit!.dl.payload_bytes).toBe(Buffer.byteLength(x.value));
      if (x.code === 'RECORD_TOO_LARGE') {
        expect(hit!.dl.payload_truncated).toBe(true);
        expect(x.value.startsWith(hit!.dl.payload)).toBe(true);
      } else expect(hit!.dl.payload).toBe(x.value);
    }
    const drops = c.runners.get('ingest')!.counters.snapshot().dropped;
    expect(drops['dead_letter:INVALID_JSON']).toBe(1);
    expect(c.metrics.render()).toMatch(/nightshift_dead_letters_total\{code="RECORD_TOO_LARGE",stage="ingest"\} 1/);
  }, 120_000);
});

/** A sink that takes `ms` per output, like a slow ticketing API. */
class SlowSink implements Stage<IncidentOutput, never> {
  readonly name = 'slow';
  readonly counters = new Counters();
  readonly items: IncidentOutput[] = [];
  constructor(private readonly ms: number) {}
  async process(o: IncidentOutput): Promise<void> {
    await new Promise((r) => setTimeout(r, this.ms));
    this.items.push(o);
  }
}

function output(i: number): IncidentOutput {
  return {
    incident_id: `inc_${String(i).padStart(6, '0')}`,
    opened_at: 1_772_881_200_000 + i * 1000,
    updated_at: 1_772_881_200_000 + i * 1000,
    status: 'open',
    services: ['a', 'b'],
    counts: { events: i, alerts: 1, signals: 2 },
    root_causes: [{ rank: 1, service: 'a', kind: 'latency', summary: 's'.repeat(200), confidence: 0.5, evidence: ['e'] }],
    reasoner: 'ranker',
  };
}

describe('backpressure', () => {
  it('a slow sink pauses its partition instead of buffering: the in-flight bound holds and everything arrives', async () => {
    const N = 3000;
    const run = async (name: string, limits: Record<string, number>): Promise<{ sink: SlowSink; maxRecords: number; maxBytes: number; pauses: number }> => {
      const tc = testCluster(name, { partitions: { raw: 1, events: 1, bundles: 1, rca: 1, deadLetters: 1, checkpoints: 1 }, ...limits });
      const p = await testProducer(tc.brokers);
      producers.push(p);
      // The results are on the broker before the sink starts: a backlog it cannot keep up with.
      const admin = testKafka(tc.brokers).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: tc.kafka.topics.rca, numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
      for (let i = 0; i < N; i += 500) {
        const messages = Array.from({ length: Math.min(500, N - i) }, (_, j) => {
          const value = JSON.stringify(output(i + j));
          return { key: output(i + j).incident_id, value, headers: { [H_OUTPUT_ID]: outputId(value) } };
        });
        await p.send({ topic: tc.kafka.topics.rca, acks: -1, messages });
      }
      const sink = new SlowSink(1);
      const c = await startCluster({ config: tc.config, kafka: tc.kafka, stages: ['sinks'], log: silentLogger(), createSink: () => sink });
      clusters.push(c);
      await waitFor('the slow sink to get everything', () => sink.items.length >= N, 120_000, 50);
      const r = c.runners.get('sinks')!;
      const lane = r.laneList()[0]!;
      const res = { sink, maxRecords: lane.maxSeenRecords, maxBytes: lane.maxSeenBytes, pauses: r.pauses };
      await c.stop();
      return res;
    };
    const bounded = await run('slow', { maxInFlightRecords: 50, maxInFlightBytes: 64 * 1024 });
    expect(bounded.sink.items.map((o) => o.incident_id)).toEqual(Array.from({ length: N }, (_, i) => output(i).incident_id));
    expect(bounded.pauses).toBeGreaterThan(5);
    expect(bounded.maxRecords).toBeLessThanOrEqual(50);
    // The byte bound can be passed by at most one record (~1 KiB here).
    expect(bounded.maxBytes).toBeLessThanOrEqual(64 * 1024 + 2048);
    // Without the bound the same run buffers what the consumer fetched: the bound is what keeps memory flat.
    const unbounded = await run('slowfree', { maxInFlightRecords: 1_000_000, maxInFlightBytes: 1024 * 1_048_576 });
    expect(unbounded.pauses).toBe(0);
    expect(unbounded.maxRecords).toBeGreaterThan(10 * bounded.maxRecords);
  }, 300_000);
});
