import { afterAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { startCluster, type Cluster } from '../pipeline/kafka/cluster.js';
import { ALL_STAGES, type StageName } from '../pipeline/kafka/runner.js';
import { silentLogger } from '../core/log.js';
import { scoreScenario } from '../eval/metrics.js';
import { IncidentOutput } from '../schemas/index.js';
import { simulate } from '../sim/index.js';
import { MemorySink } from '../sinks/index.js';
import { produceLines, readPartitions, testCluster, testProducer, waitFor, waitQuiet } from './helpers/kafka.js';
import { expectedResultIds, resultIds } from './helpers/kafka-oracle.js';

/**
 * Scale-out on the real broker: one instance starts alone, a second joins mid-stream, then a third. Each stage's
 * consumer group spreads its partitions over the instances, perception and reasoning state moves with the
 * partitions through the checkpoint topic, and the root-cause topic ends up with exactly the results an
 * uninterrupted run gives (recomputed offline from the events topic).
 */
const PARTS = { raw: 3, events: 6, bundles: 3, rca: 3, deadLetters: 1, checkpoints: 3 };
const clusters: Cluster[] = [];
let producer: Producer | null = null;

afterAll(async () => {
  for (const c of clusters) await c.stop().catch(() => undefined);
  await producer?.disconnect();
});

function partitionsOf(c: Cluster, s: StageName): string[] {
  return c.runners.get(s)!.assignment();
}

/** Every stage's partitions are spread over `members` instances: disjoint, complete, none idle. */
function spread(members: readonly Cluster[], counts: Record<StageName, number>): boolean {
  for (const s of ALL_STAGES) {
    const all = members.flatMap((c) => partitionsOf(c, s));
    if (new Set(all).size !== all.length || all.length !== counts[s]) return false;
    if (members.some((c) => partitionsOf(c, s).length === 0)) return false;
  }
  return true;
}

describe('scale-out on a real Kafka broker', () => {
  it('two and then three instances share the partitions; state follows them; results equal an uninterrupted run', async () => {
    // Keyed by service, so that perception state sits in every partition and each move carries some (with the
    // default, component, one connected CMDB is one busy partition: kafka-equivalence.test.ts covers that).
    const tc = testCluster('scale', { partitions: PARTS, eventKey: 'service' });
    const sim = simulate({ seed: 7, hours: 2.5, faults: 2 });
    const lines = [...sim.records];
    const result = sim.result();
    producer = await testProducer(tc.brokers);
    const sinks: MemorySink<IncidentOutput>[] = [];
    const start = async (n: number): Promise<Cluster> => {
      const sink = new MemorySink<IncidentOutput>();
      sinks.push(sink);
      const c = await startCluster({ config: tc.config, kafka: tc.kafka, stages: ALL_STAGES, log: silentLogger(), topology: result.topology, createSink: () => sink, instance: `i${n}` });
      clusters.push(c);
      return c;
    };
    const counts: Record<StageName, number> = { ingest: 5 * PARTS.raw, perception: PARTS.events, reasoning: PARTS.bundles, sinks: PARTS.rca };
    const third = Math.floor(lines.length / 3);

    const a = await start(1);
    await waitFor('the first instance to own every partition', () => spread([a], counts), 30_000);
    await produceLines(producer, lines.slice(0, third), tc.raw);
    await waitFor('the first instance to checkpoint perception', () => a.runners.get('perception')!.checkpointsWritten > 0, 60_000);

    const b = await start(2);
    await waitFor('two instances to share every stage', () => spread([a, b], counts), 60_000);
    await produceLines(producer, lines.slice(third, 2 * third), tc.raw);

    const c = await start(3);
    await waitFor('three instances to share every stage', () => spread([a, b, c], counts), 60_000);
    await produceLines(producer, lines.slice(2 * third), tc.raw);
    await waitQuiet([a, b, c], 3000, 240_000);

    // Partitions that moved were restored from their checkpoints, with what they had learned.
    const restores = [b, c].flatMap((x) => x.runners.get('perception')!.restores);
    expect(restores.length).toBeGreaterThan(0);
    expect(restores.some((r) => Number(r.learned.templates) > 0)).toBe(true);

    const rcaParts = await readPartitions(tc.brokers, tc.kafka.topics.rca, 30_000);
    const rca = [...rcaParts.values()].flat();
    const events = await readPartitions(tc.brokers, tc.kafka.topics.events, 30_000);
    const expected = expectedResultIds(events, tc.config, tc.kafka, result.topology);
    expect(resultIds(rca)).toEqual(expected);

    // Together the instances' sinks delivered every result once after deduplication by id. (Not "each delivered some":
    // which instance ends up owning the few root-cause partitions that hold results is the group's choice.)
    expect(sinks.filter((s) => s.items.length > 0).length).toBeGreaterThan(0);
    const delivered = new Set(sinks.flatMap((s) => s.items.map((o) => JSON.stringify(o))));
    expect(delivered).toEqual(new Set(rca.map((m) => m.value!.toString())));

    const outputs = rca.map((m) => IncidentOutput.parse(JSON.parse(m.value!.toString())));
    const score = scoreScenario({ name: 'scale', outputs, truth: result.faults, topology: result.topology, rawRecords: lines.length, rawAlerts: 0, bundles: { emitted: 0, bytesTotal: 0, bytesMax: 0 }, durationMs: result.endMs - result.startMs });
    expect(score.detected, JSON.stringify(score.per_fault)).toBe(score.faults);
  }, 420_000);
});
