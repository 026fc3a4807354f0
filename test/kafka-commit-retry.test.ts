import { afterAll, describe, expect, it } from 'vitest';
import type { Consumer, Producer } from 'kafkajs';
import { groupId, startCluster, type Cluster } from '../pipeline/kafka/cluster.js';
import { silentLogger } from '../core/log.js';
import { testCluster, testKafka, testProducer, waitFor } from './helpers/kafka.js';

/**
 * Failed commits are retried (issue 11, part 3): a stateful stage commits the position of each checkpoint it writes;
 * when that commit fails (a rebalance in between), it must be retried even though the partition then stays idle,
 * or the group's lag, which autoscaling reads, never returns to zero. Real broker; the commit failures are injected.
 */
const clusters: Cluster[] = [];
const producers: Producer[] = [];
afterAll(async () => {
  for (const c of clusters) await c.stop().catch(() => undefined);
  for (const p of producers) await p.disconnect().catch(() => undefined);
});

describe('commit retries', () => {
  it('a stateful stage commits its checkpointed position after failed commits, while idle', async () => {
    const tc = testCluster('commit');
    const c = await startCluster({ config: tc.config, kafka: tc.kafka, stages: ['ingest', 'perception'], log: silentLogger() });
    clusters.push(c);
    const runner = c.runners.get('perception')!;
    // The consumer exists once the runner started; every commit fails until `failing` is cleared.
    const consumer = (runner as unknown as { consumer: Consumer }).consumer;
    let failing = true;
    let refused = 0;
    const real = consumer.commitOffsets.bind(consumer);
    consumer.commitOffsets = async (offsets) => {
      if (failing) {
        refused++;
        throw new Error('The coordinator is not aware of this member (injected)');
      }
      return real(offsets);
    };
    const p = await testProducer(tc.brokers);
    producers.push(p);
    const t0 = 1772881200000;
    await p.send({
      topic: tc.raw.logs,
      acks: -1,
      messages: Array.from({ length: 40 }, (_, i) => ({ key: `svc-${i % 4}`, value: JSON.stringify({ ts: t0 + i * 1000, service: `svc-${i % 4}`, level: 'info', message: `request ${i} done` }) })),
    });
    await waitFor('a checkpoint written while commits fail', () => runner.checkpointsWritten > 0 && refused > 0, 60_000, 100);
    failing = false;
    const admin = testKafka(tc.brokers).admin();
    await admin.connect();
    try {
      const events = tc.kafka.topics.events;
      const lagZero = async (): Promise<boolean> => {
        const ends = await admin.fetchTopicOffsets(events);
        const [committed] = await admin.fetchOffsets({ groupId: groupId(tc.kafka, 'perception'), topics: [events] });
        return ends.every((e) => Number(e.high) === 0 || Number(committed?.partitions.find((x) => x.partition === e.partition)?.offset ?? -1) === Number(e.high));
      };
      // Nothing new arrives: only a retried commit can bring the committed offsets to the ends.
      await waitFor('the committed offsets reach the partition ends', lagZero, 60_000, 200);
      expect(refused).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  }, 180_000);
});
