import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Kafka, Partitioners, logLevel } from 'kafkajs';

/**
 * One phase of bench:kafka-clients in its own process (run.ts spawns it), so one client's heap and GC never run
 * beside another's: `node worker.js '<Job JSON>'` prints one JSON line (a PhaseResult) on stdout and exits.
 *
 * produce: the records of the data file (one `key\tvalue` line each, the same file kcat -P -K '\t' reads) are read
 *   into memory first (not timed), then sent to `topic` with acks=all, batched the way the client is best used;
 *   the clock runs from before connect until the last record is acknowledged.
 * consume: a fresh consumer group reads `topic` from the beginning until `expect` records have arrived (values are
 *   counted as bytes, not decoded: the same for every client), then commits the next offset of every partition;
 *   the clock runs from before connect until the commit is acknowledged.
 */
export type ClientName = 'kafkajs' | 'platformatic' | 'confluent' | 'confluent-native';

export interface Job {
  client: ClientName;
  phase: 'produce' | 'consume';
  brokers: string;
  topic: string;
  /** produce */
  file?: string;
  idempotent?: boolean;
  /** consume */
  group?: string;
  expect?: number;
}

export interface PhaseResult {
  records: number;
  valueBytes: number;
  seconds: number;
  /** consume: from start until the first record arrived (connect, group join, first fetch). */
  firstRecordSeconds?: number;
  /** consume: from start until the last of the expected records arrived (before the commit). */
  lastRecordSeconds?: number;
  cpuSeconds: number;
  maxRssBytes: number;
  settings: Record<string, unknown>;
}

/** kafkajs: nightshift's batch size (pipeline/kafka/config.ts maxBatchRecords) and its one request in flight when idempotent. */
export const KAFKAJS_BATCH = 4000;
/** platformatic and confluent: records per send() and sends outstanding at once. */
export const PLATFORMATIC_BATCH = 4000;
export const PLATFORMATIC_WINDOW = 4;
export const CONFLUENT_BATCH = 10_000;
export const CONFLUENT_WINDOW = 4;
/** The confluent client's KafkaJS-compatible eachBatch hands over at most this many records (its default is 32). */
export const CONFLUENT_MAX_BATCH = 4096;
/** The one opt-in package: not in package.json (a native build), loaded by name so that nothing imports it statically. */
export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript';

interface Rec {
  key: string | null;
  value: string;
}

function readRecords(file: string): { recs: Rec[]; bytes: number } {
  const text = readFileSync(file, 'utf8');
  const recs: Rec[] = [];
  let bytes = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0) continue;
    const tab = line.indexOf('\t');
    const rec = tab < 0 ? { key: null, value: line } : { key: line.slice(0, tab), value: line.slice(tab + 1) };
    bytes += Buffer.byteLength(rec.value);
    recs.push(rec);
  }
  return { recs, bytes };
}

/** Runs `send` over consecutive chunks with at most `window` outstanding. */
async function windowed(total: number, chunk: number, window: number, send: (from: number, to: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const from = next;
      next = Math.min(total, next + chunk);
      await send(from, next);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

// ---------- kafkajs 2.2.4 (the pipeline's client) ----------

async function kafkajsProduce(job: Job, recs: Rec[]): Promise<Record<string, unknown>> {
  const k = new Kafka({ clientId: 'bench-clients', brokers: [job.brokers], logLevel: logLevel.NOTHING });
  const idempotent = job.idempotent === true;
  // As pipeline/kafka/cluster.ts: an idempotent kafkajs producer allows one request in flight.
  const window = idempotent ? 1 : 4;
  const p = k.producer({ idempotent, maxInFlightRequests: idempotent ? 1 : 5, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await p.connect();
  await windowed(recs.length, KAFKAJS_BATCH, window, (from, to) =>
    p.sendBatch({ acks: -1, topicMessages: [{ topic: job.topic, messages: recs.slice(from, to) }] }),
  );
  await p.disconnect();
  return { api: 'producer.sendBatch', batchRecords: KAFKAJS_BATCH, sendsInFlight: window, idempotent, acks: -1, partitioner: 'DefaultPartitioner (murmur2)' };
}

async function kafkajsConsume(job: Job, onRecord: (partition: number, offset: number, bytes: number) => boolean): Promise<{ settings: Record<string, unknown>; done: Promise<void>; commit: (next: Map<number, number>) => Promise<void>; close: () => Promise<void> }> {
  const k = new Kafka({ clientId: 'bench-clients', brokers: [job.brokers], logLevel: logLevel.NOTHING });
  // nightshift's consumer settings (pipeline/kafka/runner.ts with pipeline/kafka/config.ts defaults).
  const c = k.consumer({ groupId: job.group!, maxBytesPerPartition: 1_048_576, maxBytes: 10 * 1_048_576, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  await c.connect();
  await c.subscribe({ topics: [job.topic], fromBeginning: true });
  await c.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset }) => {
      let all = false;
      for (const m of batch.messages) all = onRecord(batch.partition, Number(m.offset), m.value?.length ?? 0) || all;
      const last = batch.messages[batch.messages.length - 1];
      if (last) resolveOffset(last.offset);
      if (all) finish();
    },
  });
  return {
    settings: { api: 'consumer.run eachBatch', maxBytesPerPartition: 1_048_576, maxBytes: 10 * 1_048_576, maxWaitTimeInMs: 100, partitionsConsumedConcurrently: 1, autoCommit: false },
    done,
    commit: (next) => c.commitOffsets([...next].map(([partition, offset]) => ({ topic: job.topic, partition, offset: String(offset) }))),
    close: () => c.disconnect(),
  };
}

// ---------- @platformatic/kafka ----------

async function platformaticProduce(job: Job, recs: Rec[]): Promise<Record<string, unknown>> {
  const { Producer, stringSerializers } = await import('@platformatic/kafka');
  const idempotent = job.idempotent === true;
  const p = new Producer({ clientId: 'bench-clients', bootstrapBrokers: [job.brokers], serializers: stringSerializers, idempotent, acks: -1, autocreateTopics: false });
  // Idempotent: one send() at a time. With 4 outstanding, 1.35.0 assigns sequence numbers that the broker rejects
  // (OUT_OF_ORDER_SEQUENCE_NUMBER on every partition, seen in this bench), so concurrency is the caller's to avoid.
  const window = idempotent ? 1 : PLATFORMATIC_WINDOW;
  await windowed(recs.length, PLATFORMATIC_BATCH, window, (from, to) => {
    const messages = [];
    for (let i = from; i < to; i++) {
      const r = recs[i]!;
      messages.push(r.key === null ? { topic: job.topic, value: r.value } : { topic: job.topic, key: r.key, value: r.value });
    }
    return p.send({ messages });
  });
  await p.close();
  return { api: 'Producer.send', batchRecords: PLATFORMATIC_BATCH, sendsOutstanding: window, idempotent, acks: -1, partitioner: 'default (murmur2 of the key)' };
}

async function platformaticConsume(job: Job, onRecord: (partition: number, offset: number, bytes: number) => boolean): Promise<{ settings: Record<string, unknown>; done: Promise<void>; commit: (next: Map<number, number>) => Promise<void>; close: () => Promise<void> }> {
  const { Consumer } = await import('@platformatic/kafka');
  const c = new Consumer({ clientId: 'bench-clients', groupId: job.group!, bootstrapBrokers: [job.brokers], maxBytes: 10 * 1_048_576, maxWaitTime: 100 });
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  // Group semantics: the committed offset, else the earliest (a new group reads from the beginning).
  const stream = await c.consume({ topics: [job.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
  // The last message of each partition: its commit() commits the offset after it.
  const lastMsg = new Map<number, { commit: () => void | Promise<void> }>();
  stream.on('data', (m) => {
    lastMsg.set(m.partition, m);
    if (onRecord(m.partition, Number(m.offset), m.value?.length ?? 0)) finish();
  });
  return {
    settings: { api: 'Consumer.consume stream (data events)', mode: 'committed', fallbackMode: 'earliest', maxBytes: 10 * 1_048_576, maxWaitTime: 100, autocommit: false, deserializers: 'none (Buffer)' },
    done,
    commit: async () => {
      stream.pause();
      await Promise.all([...lastMsg.values()].map((m) => m.commit()));
    },
    close: async () => {
      await stream.close();
      await c.close();
    },
  };
}

// ---------- @confluentinc/kafka-javascript (librdkafka), its KafkaJS-compatible API ----------

/** The slice of the package's KafkaJS-compatible API used here, typed by hand: the package is opt-in. */
interface CkjsKafka {
  producer(cfg: Record<string, unknown>): { connect(): Promise<void>; disconnect(): Promise<void>; send(r: { topic: string; messages: Array<{ key?: string; value: string }> }): Promise<unknown> };
  consumer(cfg: Record<string, unknown>): {
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    subscribe(s: { topics: string[] }): Promise<void>;
    run(r: { eachBatch: (p: { batch: { partition: number; messages: Array<{ offset: string; value: Buffer | null }> } }) => Promise<void> }): Promise<void>;
    commitOffsets(o: Array<{ topic: string; partition: number; offset: string }>): Promise<void>;
  };
}

async function confluentKafka(job: Job): Promise<CkjsKafka> {
  const spec = CONFLUENT_PACKAGE;
  const mod = (await import(spec)) as { KafkaJS?: { Kafka: new (c: unknown) => CkjsKafka; logLevel: Record<string, number> }; default?: { KafkaJS: { Kafka: new (c: unknown) => CkjsKafka; logLevel: Record<string, number> } } };
  const kjs = mod.KafkaJS ?? mod.default!.KafkaJS;
  return new kjs.Kafka({ kafkaJS: { clientId: 'bench-clients', brokers: [job.brokers], logLevel: kjs.logLevel.NOTHING } });
}

async function confluentProduce(job: Job, recs: Rec[]): Promise<Record<string, unknown>> {
  const k = await confluentKafka(job);
  const idempotent = job.idempotent === true;
  const rd = { 'linger.ms': 5, partitioner: 'murmur2_random', 'queue.buffering.max.messages': 200_000 };
  const p = k.producer({ kafkaJS: { idempotent, acks: -1, allowAutoTopicCreation: false }, ...rd });
  await p.connect();
  await windowed(recs.length, CONFLUENT_BATCH, CONFLUENT_WINDOW, (from, to) => {
    const messages = [];
    for (let i = from; i < to; i++) {
      const r = recs[i]!;
      messages.push(r.key === null ? { value: r.value } : { key: r.key, value: r.value });
    }
    return p.send({ topic: job.topic, messages });
  });
  await p.disconnect();
  return { api: 'KafkaJS-compatible producer.send', batchRecords: CONFLUENT_BATCH, sendsOutstanding: CONFLUENT_WINDOW, idempotent, acks: -1, librdkafka: rd };
}

async function confluentConsume(job: Job, onRecord: (partition: number, offset: number, bytes: number) => boolean): Promise<{ settings: Record<string, unknown>; done: Promise<void>; commit: (next: Map<number, number>) => Promise<void>; close: () => Promise<void> }> {
  const k = await confluentKafka(job);
  const rd = { 'js.consumer.max.batch.size': CONFLUENT_MAX_BATCH, 'fetch.wait.max.ms': 100 };
  const c = k.consumer({ kafkaJS: { groupId: job.group!, fromBeginning: true, autoCommit: false }, ...rd });
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  await c.connect();
  await c.subscribe({ topics: [job.topic] });
  await c.run({
    eachBatch: async ({ batch }) => {
      let all = false;
      for (const m of batch.messages) all = onRecord(batch.partition, Number(m.offset), m.value?.length ?? 0) || all;
      if (all) finish();
    },
  });
  return {
    settings: { api: 'KafkaJS-compatible consumer.run eachBatch', autoCommit: false, librdkafka: rd },
    done,
    commit: (next) => c.commitOffsets([...next].map(([partition, offset]) => ({ topic: job.topic, partition, offset: String(offset) }))),
    close: () => c.disconnect(),
  };
}

// ---------- @confluentinc/kafka-javascript, its native (node-rdkafka) API ----------

/** The slice of the native API used here, typed by hand. */
interface CkjsNative {
  Producer: new (cfg: Record<string, unknown>) => {
    connect(o: unknown, cb: (e: Error | null) => void): void;
    disconnect(cb: () => void): void;
    on(ev: 'delivery-report', cb: (e: Error | null) => void): void;
    setPollInterval(ms: number): void;
    produce(topic: string, partition: null, value: Buffer, key: string | null): void;
  };
  KafkaConsumer: new (cfg: Record<string, unknown>, topicCfg: Record<string, unknown>) => {
    connect(o: unknown, cb: (e: Error | null) => void): void;
    disconnect(cb: () => void): void;
    subscribe(topics: string[]): void;
    consume(n: number, cb: (e: Error | null, ms: Array<{ partition: number; offset: number; value: Buffer | null }>) => void): void;
    commitSync(tp: Array<{ topic: string; partition: number; offset: number }>): void;
  };
}

/** Records per native consume() call. */
export const NATIVE_CONSUME_BATCH = 1000;

async function confluentNative(): Promise<CkjsNative> {
  const spec = CONFLUENT_PACKAGE;
  const mod = (await import(spec)) as CkjsNative & { default?: CkjsNative };
  return mod.Producer ? mod : mod.default!;
}

async function confluentNativeProduce(job: Job, recs: Rec[]): Promise<Record<string, unknown>> {
  const K = await confluentNative();
  const idempotent = job.idempotent === true;
  const cfg = { 'enable.idempotence': idempotent, acks: 'all', 'linger.ms': 5, partitioner: 'murmur2_random', 'queue.buffering.max.messages': 200_000, dr_cb: true };
  const p = new K.Producer({ 'metadata.broker.list': job.brokers, 'client.id': 'bench-clients', ...cfg });
  await new Promise<void>((r, j) => p.connect({}, (e) => (e ? j(e) : r())));
  let acked = 0;
  let failed: Error | null = null;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  p.on('delivery-report', (e) => {
    if (e) failed ??= e;
    if (++acked >= recs.length) done();
  });
  p.setPollInterval(20);
  for (const r of recs) {
    // produce() throws when librdkafka's queue is full (ERR__QUEUE_FULL): wait for deliveries and go on.
    for (;;) {
      try {
        p.produce(job.topic, null, Buffer.from(r.value), r.key);
        break;
      } catch {
        await new Promise((res) => setTimeout(res, 2));
      }
    }
  }
  await all;
  await new Promise<void>((r) => p.disconnect(() => r()));
  if (failed) throw failed;
  return { api: 'native Producer.produce with delivery reports (dr_cb)', idempotent, librdkafka: cfg };
}

async function confluentNativeConsume(job: Job, onRecord: (partition: number, offset: number, bytes: number) => boolean): Promise<{ settings: Record<string, unknown>; done: Promise<void>; commit: (next: Map<number, number>) => Promise<void>; close: () => Promise<void> }> {
  const K = await confluentNative();
  const c = new K.KafkaConsumer({ 'metadata.broker.list': job.brokers, 'client.id': 'bench-clients', 'group.id': job.group!, 'enable.auto.commit': false, 'fetch.wait.max.ms': 100 }, { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((r, j) => c.connect({}, (e) => (e ? j(e) : r())));
  c.subscribe([job.topic]);
  const done = new Promise<void>((resolve, reject) => {
    const loop = (): void =>
      c.consume(NATIVE_CONSUME_BATCH, (e, ms) => {
        if (e) return reject(e);
        let all = false;
        for (const m of ms) all = onRecord(m.partition, m.offset, m.value?.length ?? 0) || all;
        if (all) resolve();
        else setImmediate(loop);
      });
    loop();
  });
  return {
    settings: { api: `native KafkaConsumer.consume(${NATIVE_CONSUME_BATCH}) loop`, 'enable.auto.commit': false, 'fetch.wait.max.ms': 100 },
    done,
    commit: async (next) => c.commitSync([...next].map(([partition, offset]) => ({ topic: job.topic, partition, offset }))),
    close: () => new Promise<void>((r) => c.disconnect(() => r())),
  };
}

// ---------- the phases ----------

const PRODUCERS: Record<ClientName, (job: Job, recs: Rec[]) => Promise<Record<string, unknown>>> = {
  kafkajs: kafkajsProduce,
  platformatic: platformaticProduce,
  confluent: confluentProduce,
  'confluent-native': confluentNativeProduce,
};
const CONSUMERS = { kafkajs: kafkajsConsume, platformatic: platformaticConsume, confluent: confluentConsume, 'confluent-native': confluentNativeConsume } as const;

async function produce(job: Job): Promise<PhaseResult> {
  const { recs, bytes } = readRecords(job.file!);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const settings = await PRODUCERS[job.client](job, recs);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { records: recs.length, valueBytes: bytes, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024, settings };
}

async function consume(job: Job): Promise<PhaseResult> {
  const expect = job.expect!;
  const next = new Map<number, number>();
  let records = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const onRecord = (partition: number, offset: number, b: number): boolean => {
    if (records === 0) first = performance.now();
    // A record seen twice (a client re-delivering after a rebalance) is not counted twice.
    const have = next.get(partition) ?? 0;
    if (offset + 1 > have) {
      next.set(partition, offset + 1);
      records++;
      bytes += b;
    }
    if (records >= expect && last === 0) last = performance.now();
    return records >= expect;
  };
  const c = await CONSUMERS[job.client](job, onRecord);
  await c.done;
  await c.commit(next);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.resourceUsage().maxRSS * 1024;
  await c.close();
  return { records, valueBytes: bytes, seconds, firstRecordSeconds: (first - t0) / 1000, lastRecordSeconds: (last - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssBytes: rss, settings: c.settings };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  const r = job.phase === 'produce' ? await produce(job) : await consume(job);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  // Some clients keep timers or sockets after close; the result is out, the process is done.
  process.exit(0);
}

/** An error with its causes (clients nest them: AggregateError.errors, cause), on one line for the results. */
function describe(e: unknown, depth = 0): string {
  if (!(e instanceof Error) || depth > 4) return String(e);
  const inner = [...((e as AggregateError).errors ?? []), ...(e.cause ? [e.cause] : [])].map((x) => describe(x, depth + 1));
  const code = (e as { code?: unknown }).code;
  return `${e.message}${code ? ` [${String(code)}]` : ''}${inner.length ? ` (${inner.join('; ')})` : ''}`;
}

// run.ts imports the types and constants; only `node worker.js JOB` runs a phase.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`worker failed: ${describe(e)}\n${(e as Error).stack ?? ''}\n`);
    process.exit(1);
  });
}
