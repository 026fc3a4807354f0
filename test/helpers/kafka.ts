import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, Partitioners, logLevel, type Admin, type KafkaMessage, type Producer } from 'kafkajs';
import { defaultConfig, type NightshiftConfig } from '../../pipeline/config.js';
import { kafkaConfig, type KafkaConfig } from '../../pipeline/kafka/config.js';
import type { IngestTopics } from '../../ingest/config.js';
import type { IncidentOutput } from '../../schemas/index.js';

/**
 * The real broker for tests: scripts/kafka.sh starts (or finds) one single-node KRaft Kafka 3.9 shared by all test
 * files, which isolate themselves with their own topic names and consumer groups. Nothing is skipped: when the
 * broker cannot start (no java, no network for the first jar fetch), the tests fail with the script's message.
 */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'kafka.sh');

let cached: string | null = null;

/** Runs scripts/kafka.sh `up` (start or find the broker) or `status`; the bootstrap address it prints. Throws on failure. */
export function kafkaScript(cmd: 'up' | 'status'): string {
  return execFileSync('bash', [SCRIPT, cmd], { encoding: 'utf8', timeout: 400_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop()!;
}

export function kafkaUp(): string {
  if (cached) return cached;
  try {
    cached = kafkaScript('up');
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `the Kafka broker for these tests did not start (scripts/kafka.sh up): ${(err.stderr ?? '').trim() || err.message}\n` +
        'It needs java 17 and, the first time, mvn with access to Maven Central (CI installs both in .ci/run).',
    );
  }
  return cached;
}

/** The environment variable naming the vitest run (set by test/global-kafka.ts, inherited by forked workers). */
export const RUN_ENV = 'NIGHTSHIFT_TEST_RUN';

/**
 * A unique prefix so that test files and runs never share topics or groups. It names the vitest run (set by
 * test/global-kafka.ts) and the creation time, so that the run's teardown deletes its own topics.
 */
export function uniquePrefix(name: string): string {
  const run = process.env[RUN_ENV] ?? 'rnone00';
  return `t-${run}-${name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The run and creation time of a name uniquePrefix made (`t-<run>-<name>-<ms base36>-<hex>`), or null for any other. */
export function parseTestTopic(topic: string): { run: string; at: number } | null {
  const m = /^t-([0-9a-z]{6,8})-.+-([0-9a-z]{7,9})-[0-9a-f]{6}(?:[.-]|$)/.exec(topic);
  if (!m) return null;
  const at = parseInt(m[2]!, 36);
  return Number.isFinite(at) ? { run: m[1]!, at } : null;
}

export interface TestCluster {
  readonly prefix: string;
  readonly brokers: string;
  readonly config: NightshiftConfig;
  readonly kafka: KafkaConfig;
  readonly raw: IngestTopics;
}

/** Config with topic and group names of its own; `kafka` overrides the cluster settings (small partitions, fast commits). */
export function testCluster(name: string, kafka: Record<string, unknown> = {}): TestCluster {
  const brokers = kafkaUp();
  const prefix = uniquePrefix(name);
  const raw: IngestTopics = {
    alerts: `${prefix}.alerts`,
    logs: `${prefix}.logs`,
    metrics: `${prefix}.metrics`,
    traces: `${prefix}.traces`,
    changes: `${prefix}.changes`,
  };
  const base = defaultConfig();
  const config: NightshiftConfig = { ...base, ingest: { ...base.ingest, topics: raw } };
  const k = kafkaConfig(
    {
      groupPrefix: prefix,
      topics: {
        events: `${prefix}.events`,
        bundles: `${prefix}.bundles`,
        rca: `${prefix}.rca`,
        deadLetters: `${prefix}.deadletters`,
        checkpoints: `${prefix}.checkpoints`,
      },
      partitions: { raw: 2, events: 4, bundles: 2, rca: 2, deadLetters: 1, checkpoints: 2 },
      commitIntervalMs: 200,
      checkpointIntervalMs: 1000,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      ...kafka,
    },
    { NIGHTSHIFT_KAFKA_BROKERS: brokers },
  );
  return { prefix, brokers, config, kafka: k, raw };
}

export function testKafka(brokers: string): Kafka {
  return new Kafka({ clientId: 'nightshift-test', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
}

export interface RawLine {
  readonly topic: string;
  readonly key: string | null;
  readonly payload: string;
  readonly ts?: number;
}

/** Produces replay records into their raw topics (topic names mapped by kind), in order, acks from all replicas. */
export async function produceLines(
  producer: Producer,
  lines: Iterable<RawLine>,
  raw: IngestTopics,
  opts: { readonly batch?: number; readonly onBatch?: (n: number) => Promise<void> | void } = {},
): Promise<number> {
  const kinds = raw as unknown as Record<string, string>;
  const batchSize = opts.batch ?? 2000;
  let buf = new Map<string, Array<{ key: string | null; value: string; timestamp?: string }>>();
  let inBuf = 0;
  let n = 0;
  const flush = async (): Promise<void> => {
    if (inBuf === 0) return;
    await producer.sendBatch({ acks: -1, topicMessages: [...buf].map(([topic, messages]) => ({ topic, messages })) });
    n += inBuf;
    buf = new Map();
    inBuf = 0;
    await opts.onBatch?.(n);
  };
  for (const l of lines) {
    const topic = kinds[l.topic] ?? l.topic;
    let list = buf.get(topic);
    if (!list) buf.set(topic, (list = []));
    list.push({ key: l.key, value: l.payload, ...(l.ts !== undefined ? { timestamp: String(l.ts) } : {}) });
    if (++inBuf >= batchSize) await flush();
  }
  await flush();
  return n;
}

export async function testProducer(brokers: string): Promise<Producer> {
  const p = testKafka(brokers).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await p.connect();
  return p;
}

/**
 * Reads a topic from the beginning with a throwaway group until `done(messages)` holds or `timeoutMs` passes;
 * returns what it read (in partition order, partitions interleaved as fetched).
 */
export async function readTopic(
  brokers: string,
  topic: string,
  done: (msgs: readonly KafkaMessage[]) => boolean,
  timeoutMs: number,
): Promise<KafkaMessage[]> {
  const c = testKafka(brokers).consumer({ groupId: uniquePrefix('reader'), maxWaitTimeInMs: 100 });
  const out: KafkaMessage[] = [];
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  await c.run({
    eachBatch: async ({ batch }) => {
      out.push(...batch.messages);
      if (done(out)) finish();
    },
  });
  const timer = setTimeout(finish, timeoutMs);
  if (done(out)) finish();
  await finished;
  clearTimeout(timer);
  await c.disconnect();
  return out;
}

/** Waits until `cond` holds (checked every `everyMs`), or throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Reads every partition of a topic up to its end offsets as of now; messages per partition in offset order. */
export async function readPartitions(brokers: string, topic: string, timeoutMs: number): Promise<Map<number, KafkaMessage[]>> {
  const k = testKafka(brokers);
  const admin = k.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const want = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  const out = new Map<number, KafkaMessage[]>(ends.map((e) => [e.partition, []]));
  const pos = new Map(ends.map((e) => [e.partition, Number(e.low)]));
  const complete = (): boolean => [...want].every(([p, h]) => (pos.get(p) ?? 0) >= h);
  if (complete()) return out;
  const c = k.consumer({ groupId: uniquePrefix('reader'), maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1_048_576 });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  await c.run({
    eachBatch: async ({ batch }) => {
      const list = out.get(batch.partition)!;
      for (const m of batch.messages) if (Number(m.offset) < (want.get(batch.partition) ?? 0)) list.push(m);
      pos.set(batch.partition, Number(batch.lastOffset()) + 1);
      if (complete()) finish();
    },
  });
  const timer = setTimeout(finish, timeoutMs);
  await finished;
  clearTimeout(timer);
  await c.disconnect();
  if (!complete()) throw new Error(`reading ${topic} to its end took more than ${timeoutMs} ms`);
  return out;
}

/** Something with runners and a producer, like a started Cluster. */
interface Quietable {
  readonly runners: ReadonlyMap<string, { readonly counters: { received: number; sent: number }; lag(): Array<{ lag: number }>; laneList(): Array<{ idle: boolean }> }>;
  readonly batcher: { readonly depth: number };
}

/** Quiet: in every cluster, no stage has lag or records in flight and no counter moved, for `quietMs` in a row. */
export async function waitQuiet(clusters: readonly Quietable[], quietMs: number, timeoutMs: number): Promise<void> {
  let since = Date.now();
  let last = -1;
  await waitFor(
    'the pipeline to go quiet',
    () => {
      let moved = 0;
      let busy = false;
      for (const c of clusters) {
        for (const r of c.runners.values()) {
          moved += r.counters.received + r.counters.sent;
          if (r.lag().some((l) => l.lag > 0) || r.laneList().some((l) => !l.idle)) busy = true;
        }
        if (c.batcher.depth > 0) busy = true;
      }
      if (busy || moved !== last) {
        last = moved;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= quietMs;
    },
    timeoutMs,
    100,
  );
}

/** Records not committed yet, over every partition of every stage's input topics. */
export async function uncommitted(a: Admin, groupsTopics: ReadonlyArray<[string, readonly string[]]>): Promise<number> {
  let n = 0;
  for (const [g, topics] of groupsTopics) {
    const committed = await a.fetchOffsets({ groupId: g, topics: [...topics] });
    for (const t of topics) {
      const ends = await a.fetchTopicOffsets(t);
      const c = committed.find((x) => x.topic === t);
      for (const e of ends) {
        const off = Number(c?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
        n += Number(e.high) - Math.max(off, Number(e.low));
      }
    }
  }
  return n;
}

/**
 * The final state of each incident, as on-call sees it (status, services, ranked causes with confidence to 3
 * decimals): what the replay-versus-run equivalence tests compare.
 */
export function finalStates(outputs: readonly IncidentOutput[]): Map<string, string> {
  const last = new Map<string, IncidentOutput>();
  for (const o of outputs) {
    const prev = last.get(o.incident_id);
    if (!prev || o.updated_at >= prev.updated_at) last.set(o.incident_id, o);
  }
  return new Map(
    [...last].map(([id, o]) => [id, JSON.stringify({ status: o.status, services: [...o.services].sort(), causes: o.root_causes.map((c) => [c.rank, c.service, c.kind, Math.round(c.confidence * 1000) / 1000]) })]),
  );
}
