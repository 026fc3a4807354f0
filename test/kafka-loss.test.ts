import { afterAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { groupId, startCluster, type Cluster } from '../pipeline/kafka/cluster.js';
import { silentLogger } from '../core/log.js';
import { testCluster, testKafka, testProducer, waitFor } from './helpers/kafka.js';

/**
 * Loss is never silent (issue 11, part 4): when retention deleted records before the group read them, kafkajs
 * resets the offset and goes on; nightshift counts the skipped offsets as lost, per topic and partition, on the
 * real broker.
 */
const clusters: Cluster[] = [];
const producers: Producer[] = [];
afterAll(async () => {
  for (const c of clusters) await c.stop().catch(() => undefined);
  for (const p of producers) await p.disconnect().catch(() => undefined);
});

const line = (i: number): string => JSON.stringify({ ts: 1772881200000 + i, service: 'a', level: 'info', message: `request ${i} done` });

describe('offset resets', () => {
  it('counts the records a reset skipped as lost, with the topic and partition', async () => {
    const tc = testCluster('loss');
    const start = async (): Promise<Cluster> => {
      const c = await startCluster({ config: tc.config, kafka: tc.kafka, stages: ['ingest'], log: silentLogger() });
      clusters.push(c);
      return c;
    };
    const p = await testProducer(tc.brokers);
    producers.push(p);
    const admin = testKafka(tc.brokers).admin();
    await admin.connect();
    try {
      const c1 = await start();
      await p.send({ topic: tc.raw.logs, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: line(i) })) });
      const committed = async (): Promise<number> => {
        const [t] = await admin.fetchOffsets({ groupId: groupId(tc.kafka, 'ingest'), topics: [tc.raw.logs] });
        return Number(t?.partitions.find((x) => x.partition === 0)?.offset ?? -1);
      };
      await waitFor('the first 10 records committed', async () => (await committed()) >= 10, 60_000, 200);
      await c1.stop();
      // Ten more arrive while nightshift is down, and retention deletes the oldest 15 before it is back.
      await p.send({ topic: tc.raw.logs, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: line(10 + i) })) });
      await admin.deleteTopicRecords({ topic: tc.raw.logs, partitions: [{ partition: 0, offset: '15' }] });
      const c2 = await start();
      const lost = new RegExp(`nightshift_records_lost_total\\{partition="0",topic="${tc.raw.logs.replace(/\./g, '\\.')}"\\} 5\\b`);
      await waitFor('the loss counted', () => lost.test(c2.metrics.render()), 60_000, 200);
      expect(c2.metrics.render()).toMatch(new RegExp(`nightshift_offset_resets_total\\{partition="0",topic="${tc.raw.logs.replace(/\./g, '\\.')}"\\} 1\\b`));
      // And it goes on with what is left: offsets 15..19.
      await waitFor('the rest committed', async () => (await committed()) >= 20, 60_000, 200);
    } finally {
      await admin.disconnect();
    }
  }, 180_000);
});
