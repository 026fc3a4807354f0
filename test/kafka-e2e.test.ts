import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { buildEmbedded } from '../pipeline/build.js';
import { defaultConfig } from '../pipeline/config.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { startCluster, type Cluster } from '../pipeline/kafka/cluster.js';
import { H_OUTPUT_ID, headerText, outputId } from '../pipeline/kafka/processors.js';
import { ALL_STAGES } from '../pipeline/kafka/runner.js';
import { silentLogger } from '../core/log.js';
import { startOpsServer } from '../core/ops.js';
import { scoreScenario } from '../eval/metrics.js';
import { IncidentOutput } from '../schemas/index.js';
import { simulate } from '../sim/index.js';
import { MemorySink } from '../sinks/index.js';
import { produceLines, readPartitions, readTopic, testCluster, testProducer, waitQuiet, type TestCluster } from './helpers/kafka.js';
import { expectedResultIds, resultIds } from './helpers/kafka-oracle.js';

/**
 * The Done-when end-to-end test on the real broker: a simulated world with known faults is produced into the raw
 * topics; ingest, perception, reasoning and sinks run as four consumer groups; every fault must have its incident in
 * the root-cause topic, each message an output-contract record keyed by incident id with its deterministic id.
 */
const SIM = { seed: 5, hours: 2.5, faults: 2 } as const;

let tc: TestCluster;
let producer: Producer;
let cluster: Cluster | null = null;

beforeAll(async () => {
  tc = testCluster('e2e');
  producer = await testProducer(tc.brokers);
});

afterAll(async () => {
  await cluster?.stop();
  await producer?.disconnect();
});

describe('cluster mode on a real Kafka broker', () => {
  it('raw topics -> nightshift.rca: every fault of a simulated world has its incident, keyed and identified', async () => {
    const sim = simulate(SIM);
    const lines = [...sim.records];
    const result = sim.result();

    // The embedded pipeline on the same records, for reference in the failure message.
    const memo = new MemorySink<IncidentOutput>();
    const embedded = buildEmbedded(defaultConfig(), { log: silentLogger(), deadLetters: new MemoryDeadLetters(), topology: result.topology }, memo);
    await embedded.run(
      (async function* () {
        let n = 0;
        for (const l of lines) yield { topic: l.topic, key: l.key, payload: l.payload, ts: l.ts, source: { line: ++n } };
      })(),
    );
    const embeddedScore = scoreScenario({ name: 'embedded', outputs: memo.items, truth: result.faults, topology: result.topology, rawRecords: lines.length, rawAlerts: 0, bundles: { emitted: 0, bytesTotal: 0, bytesMax: 0 }, durationMs: result.endMs - result.startMs });

    const sink = new MemorySink<IncidentOutput>();
    cluster = await startCluster({ config: tc.config, kafka: tc.kafka, stages: ALL_STAGES, log: silentLogger(), topology: result.topology, createSink: () => sink });
    const produced = await produceLines(producer, lines, tc.raw);
    expect(produced).toBe(lines.length);
    await waitQuiet([cluster], 2000, 180_000);
    // Operations: the ops server over the cluster answers health, readiness and Prometheus metrics.
    const ops = await startOpsServer({ port: 0, host: '127.0.0.1', healthy: cluster.healthy, ready: cluster.ready, metrics: () => cluster!.metrics.render() });
    try {
      const base = `http://127.0.0.1:${ops.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const text = await (await fetch(`${base}/metrics`)).text();
      for (const stage of ALL_STAGES) {
        expect(text).toMatch(new RegExp(`nightshift_records_received_total\\{stage="${stage}"\\} [1-9]`));
        expect(text).toMatch(new RegExp(`nightshift_processing_latency_seconds_count\\{stage="${stage}"\\} [1-9]`));
      }
      expect(text).toMatch(/nightshift_consumer_lag\{partition="0",stage="perception",topic="[^"]+\.events"\} 0/);
      expect(text).toMatch(/nightshift_up 1/);
    } finally {
      await ops.close();
    }

    const ingest = cluster.runners.get('ingest')!;
    expect(ingest.counters.received).toBe(lines.length);
    const rca = await readTopic(tc.brokers, tc.kafka.topics.rca, (m) => m.length >= cluster!.runners.get('reasoning')!.counters.sent, 30_000);
    expect(rca.length).toBe(cluster.runners.get('reasoning')!.counters.sent);
    const outputs: IncidentOutput[] = [];
    for (const m of rca) {
      const text = m.value!.toString('utf8');
      const o = IncidentOutput.parse(JSON.parse(text));
      expect(m.key?.toString()).toBe(o.incident_id);
      expect(headerText(m, H_OUTPUT_ID)).toBe(outputId(text));
      outputs.push(o);
    }
    const score = scoreScenario({ name: 'kafka', outputs, truth: result.faults, topology: result.topology, rawRecords: lines.length, rawAlerts: 0, bundles: { emitted: 0, bytesTotal: 0, bytesMax: 0 }, durationMs: result.endMs - result.startMs });
    const why = JSON.stringify({ kafka: score.per_fault, embedded: embeddedScore.per_fault, incidents: score.incidents });
    expect(score.faults, why).toBe(SIM.faults);
    expect(score.detected, why).toBe(score.faults);
    // Exactly what an offline recomputation from the events topic gives.
    const events = await readPartitions(tc.brokers, tc.kafka.topics.events, 30_000);
    expect(resultIds(rca)).toEqual(expectedResultIds(events, tc.config, tc.kafka, result.topology));
    // The sinks group delivered exactly the records of the topic (no redelivery happened in this run).
    // Byte for byte: the sinks get what reasoning published, not a re-serialised copy.
    expect(sink.items.map((o) => JSON.stringify(o)).sort()).toEqual(rca.map((m) => m.value!.toString('utf8')).sort());
  }, 300_000);
});
