import type { Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { buildEmbedded } from '../pipeline/build.js';
import { defaultConfig } from '../pipeline/config.js';
import { startCluster, type Cluster } from '../pipeline/kafka/cluster.js';
import { ALL_STAGES } from '../pipeline/kafka/runner.js';
import { IncidentOutput } from '../schemas/index.js';
import { simulate } from '../sim/index.js';
import { MemorySink } from '../sinks/index.js';
import { finalStates, produceLines, readPartitions, testCluster, testProducer, waitQuiet } from './helpers/kafka.js';

/**
 * One pipeline, two transports: the same simulated world through `replay`'s embedded pipeline and through three
 * cluster instances on the real broker (several partitions per topic) gives the same incidents, each with the same
 * services, status and ranked root causes in its final state. With `kafka.eventKey: component` (the default) every
 * service of a CMDB component meets in one perception partition, so correlation sees what it sees in one process.
 */
const PARTS = { raw: 3, events: 6, bundles: 3, rca: 3, deadLetters: 1, checkpoints: 3 };
const clusters: Cluster[] = [];
let producer: Producer | null = null;

afterAll(async () => {
  for (const c of clusters) await c.stop().catch(() => undefined);
  await producer?.disconnect();
});

describe('replay and run give the same incidents', () => {
  it('three instances, several partitions: the same incidents with the same root causes as replay', async () => {
    const tc = testCluster('equiv', { partitions: PARTS });
    const sim = simulate({ seed: 11, hours: 3.5, faults: 3 });
    const lines = [...sim.records];
    const result = sim.result();

    const memo = new MemorySink<IncidentOutput>();
    // The same configuration but the raw topic names, which replay files carry as the simulator wrote them.
    const embedded = buildEmbedded(defaultConfig(), { log: silentLogger(), deadLetters: new MemoryDeadLetters(), topology: result.topology }, memo);
    await embedded.run(
      (async function* () {
        let n = 0;
        for (const l of lines) yield { topic: l.topic, key: l.key, payload: l.payload, ts: l.ts, source: { line: ++n } };
      })(),
    );
    const want = finalStates(memo.items);
    expect(want.size).toBeGreaterThan(0);

    producer = await testProducer(tc.brokers);
    for (let i = 1; i <= 3; i++) {
      clusters.push(await startCluster({ config: tc.config, kafka: tc.kafka, stages: ALL_STAGES, log: silentLogger(), topology: result.topology, createSink: () => new MemorySink<IncidentOutput>(), instance: `e${i}` }));
    }
    await produceLines(producer, lines, tc.raw);
    await waitQuiet(clusters, 3000, 240_000);
    const rca = [...(await readPartitions(tc.brokers, tc.kafka.topics.rca, 30_000)).values()].flat();
    const got = finalStates(rca.map((m) => IncidentOutput.parse(JSON.parse(m.value!.toString()))));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [id, w] of want) expect(got.get(id), id).toBe(w);
  }, 420_000);
});
