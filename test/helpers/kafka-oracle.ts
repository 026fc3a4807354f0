import type { KafkaMessage } from 'kafkajs';
import type { NightshiftConfig } from '../../pipeline/config.js';
import { MemoryDeadLetters } from '../../core/deadletter.js';
import type { KafkaConfig } from '../../pipeline/kafka/config.js';
import type { StageContext } from '../../pipeline/kafka/lane.js';
import { H_OUTPUT_ID, PerceptionProcessor, ReasoningProcessor, headerText } from '../../pipeline/kafka/processors.js';
import type { OutMessage } from '../../pipeline/kafka/producer.js';
import { PipelineGraph } from '../../pipeline/graph.js';
import { silentLogger } from '../../core/log.js';
import type { TopologyFile } from '../../schemas/index.js';

/**
 * What an uninterrupted run would have written to the root-cause topic, recomputed offline from the events topic
 * as it ended up on the broker (duplicates from re-ingestion included): every partition's log through one fresh
 * perception processor from offset 0, then each incident's bundles through one fresh reasoning processor. A cluster
 * run whose partitions moved between instances must have written exactly these result ids (after deduplication):
 * fewer would be a loss, more a result nobody would have written, and a partition whose state was relearned
 * instead of restored would write different ones.
 */
export function expectedResultIds(
  events: ReadonlyMap<number, readonly KafkaMessage[]>,
  config: NightshiftConfig,
  kafka: KafkaConfig,
  topology: TopologyFile | undefined,
): Set<string> {
  const deps = { log: silentLogger(), deadLetters: new MemoryDeadLetters() };
  const graph = new PipelineGraph(config, { log: deps.log, ...(topology ? { topology } : {}) });
  const bundles = new Map<string, OutMessage[]>();
  for (const [p, msgs] of [...events].sort((a, b) => a[0] - b[0])) {
    const proc = new PerceptionProcessor((d) => graph.perception(d), deps, null, kafka.topics, kafka.topics.events, p, {
      idleMs: kafka.alignIdleMs,
      maxBuffered: kafka.alignMaxEvents,
      idleHoldMs: kafka.alignIdleHoldMs,
    });
    const ctx: StageContext = {
      emit: (o) => {
        const key = o.key ?? '';
        let list = bundles.get(key);
        if (!list) bundles.set(key, (list = []));
        list.push(o);
      },
      deadLetter: () => undefined,
    };
    for (const m of msgs) proc.process(m, ctx);
  }
  const ids = new Set<string>();
  for (const list of bundles.values()) {
    const r = new ReasoningProcessor(graph.reasoning(), kafka.topics, kafka.topics.bundles, 0);
    const ctx: StageContext = { emit: (o) => ids.add(o.headers![H_OUTPUT_ID]!), deadLetter: () => undefined };
    let offset = 0;
    for (const b of list) r.process(asMessage(b, offset++), ctx);
  }
  return ids;
}

function asMessage(o: OutMessage, offset: number): KafkaMessage {
  return {
    key: o.key === null ? null : Buffer.from(o.key),
    value: Buffer.from(o.value),
    timestamp: '0',
    attributes: 0,
    offset: String(offset),
    size: 0,
    headers: {},
  } as unknown as KafkaMessage;
}

/** The distinct result ids in a root-cause topic's messages. */
export function resultIds(msgs: Iterable<KafkaMessage>): Set<string> {
  const ids = new Set<string>();
  for (const m of msgs) {
    const id = headerText(m, H_OUTPUT_ID);
    if (id) ids.add(id);
  }
  return ids;
}
