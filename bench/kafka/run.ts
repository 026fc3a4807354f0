import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import { defaultConfig, type NightshiftConfig } from '../../pipeline/config.js';
import { ensureTopics, topicSpecs } from '../../pipeline/kafka/client.js';
import { startCluster, type Cluster } from '../../pipeline/kafka/cluster.js';
import { kafkaConfig, type KafkaConfig } from '../../pipeline/kafka/config.js';
import { ALL_STAGES, type StageName } from '../../pipeline/kafka/runner.js';
import { silentLogger } from '../../core/log.js';
import type { IngestTopics } from '../../ingest/config.js';
import type { IncidentOutput } from '../../schemas/index.js';
import { simulate, type ReplayRecordLine } from '../../sim/index.js';
import { MemorySink } from '../../sinks/index.js';

/**
 * bench:kafka — throughput and latency of cluster mode on the real broker (scripts/kafka.sh, single node KRaft).
 *
 *  1. Load: a simulated world is produced into fresh raw topics (not timed).
 *  2. Ceiling: kcat consumes the same raw topics from the beginning in a consumer group (librdkafka, no processing).
 *  3. One instance: `nightshift run` (all four stages in one process, in-process here) consumes the backlog from the
 *     beginning; sustained records/s = raw records / time until every stage is done. Then ingest alone, the same way.
 *  4. Latency: the instance, caught up, is fed a second world at a steady pace in real time; for each incident
 *     output, the time from producing the raw record that moved event time to the output's time until the output
 *     arrives on nightshift.rca (read by a consumer). p50 and p99.
 * Writes bench/results/kafka.json with the machine it ran on.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const OUT = join(ROOT, 'bench', 'results', 'kafka.json');
const LOAD = { seed: 21, services: 30, hours: 24, faults: 8 } as const;
const LIVE = { seed: 22, services: 20, hours: 6, faults: 3 } as const;
const LIVE_RATE = 2000; // raw records per second in the latency phase

function brokers(): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'kafka.sh'), 'up'], { encoding: 'utf8', timeout: 300_000 }).trim().split('\n').pop()!;
}

function setup(b: string, prefix: string): { config: NightshiftConfig; kafka: KafkaConfig; raw: IngestTopics } {
  const raw: IngestTopics = { alerts: `${prefix}.alerts`, logs: `${prefix}.logs`, metrics: `${prefix}.metrics`, traces: `${prefix}.traces`, changes: `${prefix}.changes` };
  const base = defaultConfig();
  const config = { ...base, ingest: { ...base.ingest, topics: raw } };
  const kafka = kafkaConfig(
    {
      groupPrefix: prefix,
      topics: { events: `${prefix}.events`, bundles: `${prefix}.bundles`, rca: `${prefix}.rca`, deadLetters: `${prefix}.deadletters`, checkpoints: `${prefix}.checkpoints` },
    },
    { NIGHTSHIFT_KAFKA_BROKERS: b },
  );
  return { config, kafka, raw };
}

async function produce(p: Producer, lines: Iterable<ReplayRecordLine>, raw: IngestTopics, onRecord?: (ts: number, wall: number) => void, ratePerSec?: number): Promise<number> {
  const kinds = raw as unknown as Record<string, string>;
  let n = 0;
  let buf = new Map<string, Array<{ key: string | null; value: string; timestamp?: string }>>();
  let inBuf = 0;
  let times: number[] = [];
  const t0 = performance.now();
  const flush = async (): Promise<void> => {
    if (inBuf === 0) return;
    // A record's produce time is when its request is sent.
    const wall = Date.now();
    for (const ts of times) onRecord?.(ts, wall);
    times = [];
    await p.sendBatch({ acks: -1, topicMessages: [...buf].map(([topic, messages]) => ({ topic, messages })) });
    buf = new Map();
    inBuf = 0;
  };
  const chunk = ratePerSec ? Math.max(1, Math.round(ratePerSec / 20)) : 5000;
  for (const l of lines) {
    const topic = kinds[l.topic]!;
    let list = buf.get(topic);
    if (!list) buf.set(topic, (list = []));
    // Live phase: the record's Kafka timestamp is the wall clock (as a real producer's), load phase: its event time.
    list.push({ key: l.key, value: l.payload, timestamp: String(ratePerSec ? Date.now() : l.ts) });
    if (onRecord) times.push(l.ts);
    n++;
    if (++inBuf >= chunk) {
      await flush();
      if (ratePerSec) {
        const ahead = (n / ratePerSec) * 1000 - (performance.now() - t0);
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      }
    }
  }
  await flush();
  return n;
}

/**
 * Every topic of a run, created before the pipeline would create them, with no time-based retention: the load
 * phase's records carry their simulated event time (months old) as Kafka timestamp, and a broker with any
 * retention.ms deletes such segments mid-run (it did, twice, with the stock 24 h). Topic-level, so it holds on a
 * broker not started by scripts/kafka.sh too. The compacted checkpoints topic keeps its own settings.
 */
async function createBenchTopics(admin: Admin, s: { kafka: KafkaConfig; raw: IngestTopics }): Promise<void> {
  const specs = topicSpecs(s.kafka, s.raw).map((t) =>
    t.config?.['cleanup.policy'] === 'compact' ? t : { ...t, config: { ...t.config, 'retention.ms': '-1', 'retention.bytes': '-1' } },
  );
  await ensureTopics(admin, specs);
}

function quiet(c: Cluster, stages: readonly StageName[]): boolean {
  for (const s of stages) {
    const r = c.runners.get(s)!;
    if (r.lag().some((l) => l.lag > 0) || r.laneList().some((l) => !l.idle)) return false;
  }
  return c.batcher.depth === 0;
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the given stages from the beginning of the loaded topics; seconds until the raw records are all through. */
async function runInstance(b: string, loadPrefix: string, stages: readonly StageName[], n: number): Promise<{ seconds: number; perStage: Record<string, number>; rss: number }> {
  const s = setup(b, loadPrefix);
  // A fresh group prefix reads the backlog from the beginning; the topics are the loaded ones.
  const kafka = { ...s.kafka, groupPrefix: `${loadPrefix}-${stages.join('-')}-${randomBytes(2).toString('hex')}` };
  const sink = new MemorySink<IncidentOutput>();
  const t0 = performance.now();
  const c = await startCluster({ config: s.config, kafka, stages, log: silentLogger(), createSink: () => sink });
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 250);
  try {
    await until(() => c.runners.get('ingest')!.counters.received >= n, 900_000);
    await until(() => quiet(c, stages), 900_000);
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  const perStage: Record<string, number> = {};
  for (const st of stages) perStage[st] = c.runners.get(st)!.counters.received;
  await c.stop();
  return { seconds, perStage, rss };
}

function kcatRate(b: string, topics: readonly string[], n: number): Promise<{ seconds: number; records: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const k = spawn('kcat', ['-C', '-b', b, '-G', `kcat-${randomBytes(3).toString('hex')}`, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '\n', ...topics], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    k.stdout.on('data', (d: Buffer) => {
      for (const byte of d) if (byte === 10) lines++;
    });
    let err = '';
    k.stderr.on('data', (d: Buffer) => (err += d.toString()));
    k.on('error', (e) => reject(new Error(`kcat: ${e.message} (Debian: apt-get install -y kcat)`)));
    k.on('exit', (code) => {
      if (code !== 0) reject(new Error(`kcat exited ${code}: ${err.slice(-500)}`));
      else if (lines < n) reject(new Error(`kcat read ${lines} of ${n} records`));
      else resolve({ seconds: (performance.now() - t0) / 1000, records: lines });
    });
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function main(): Promise<void> {
  const b = brokers();
  const client = new Kafka({ clientId: 'bench-kafka', brokers: [b], logLevel: logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  const loadPrefix = `bench-${Date.now().toString(36)}`;
  const load = setup(b, loadPrefix);
  const partitions = load.kafka.partitions;
  await createBenchTopics(admin, load);
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();

  process.stderr.write(`loading ${JSON.stringify(LOAD)} into ${loadPrefix}.*\n`);
  const sim = simulate(LOAD);
  const n = await produce(producer, sim.records, load.raw);
  process.stderr.write(`loaded ${n} records; kcat...\n`);
  const kc = await kcatRate(b, Object.values(load.raw), n);
  process.stderr.write(`kcat ${Math.round(kc.records / kc.seconds)} records/s; one instance, all stages...\n`);
  const all = await runInstance(b, loadPrefix, ALL_STAGES, n);
  process.stderr.write(`all stages ${Math.round(n / all.seconds)} records/s; ingest alone...\n`);
  const ingestOnly = await runInstance(b, loadPrefix, ['ingest'], n);
  process.stderr.write(`ingest ${Math.round(n / ingestOnly.seconds)} records/s; latency phase...\n`);

  // Latency: a caught-up instance, a live stream at LIVE_RATE records/s.
  const live = setup(b, `${loadPrefix}-live`);
  await createBenchTopics(admin, live);
  const sink = new MemorySink<IncidentOutput>();
  const c = await startCluster({ config: live.config, kafka: live.kafka, stages: ALL_STAGES, log: silentLogger(), createSink: () => sink });
  await until(() => [...c.runners.values()].every((r) => r.joined), 60_000);
  const rcaReader = client.consumer({ groupId: `${loadPrefix}-rca-reader`, maxWaitTimeInMs: 20 });
  await rcaReader.connect();
  await rcaReader.subscribe({ topic: live.kafka.topics.rca, fromBeginning: true });
  const arrivals: Array<{ updatedAt: number; at: number }> = [];
  await rcaReader.run({
    eachMessage: async ({ message }) => {
      const o = JSON.parse(message.value!.toString()) as IncidentOutput;
      arrivals.push({ updatedAt: o.updated_at, at: Date.now() });
    },
  });
  // Event time -> wall time of the first record produced at or after it.
  const produced: Array<{ ts: number; wall: number }> = [];
  let maxTs = -Infinity;
  const liveN = await produce(
    producer,
    simulate(LIVE).records,
    live.raw,
    (ts, wall) => {
      if (ts > maxTs) {
        maxTs = ts;
        produced.push({ ts, wall });
      }
    },
    LIVE_RATE,
  );
  await until(() => quiet(c, ALL_STAGES), 300_000);
  await new Promise((r) => setTimeout(r, 2000));
  const lat: number[] = [];
  for (const a of arrivals) {
    // Binary search: the first produced record whose event time reached the output's time.
    let lo = 0;
    let hi = produced.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (produced[mid]!.ts >= a.updatedAt) hi = mid;
      else lo = mid + 1;
    }
    const p = produced[lo];
    if (p && p.ts >= a.updatedAt) lat.push(a.at - p.wall);
  }
  await rcaReader.disconnect();
  await c.stop();
  await producer.disconnect();
  // The bench's topics go; the broker stays for the next run.
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(loadPrefix));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();

  const rate = (x: number, s: number): number => Math.round(x / s);
  const result = {
    benchmark: 'bench:kafka',
    command: 'npm run bench:kafka',
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().map((c) => c.model).filter((m, i, a) => a.indexOf(m) === i),
      cores: os.cpus().length,
      memoryBytes: os.totalmem(),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    broker: { kafka: '3.9.1 (single node, KRaft, scripts/kafka.sh)', client: 'kafkajs 2.2.4', rawPartitions: partitions.raw, eventPartitions: partitions.events },
    workload: { load: LOAD, records: n },
    kcat: { recordsPerSec: rate(kc.records, kc.seconds), seconds: round(kc.seconds) },
    oneInstanceAllStages: { recordsPerSec: rate(n, all.seconds), seconds: round(all.seconds), perStageRecords: all.perStage, maxRssBytes: all.rss, shareOfKcat: round(n / all.seconds / (kc.records / kc.seconds)) },
    oneInstanceIngestOnly: { recordsPerSec: rate(n, ingestOnly.seconds), seconds: round(ingestOnly.seconds), shareOfKcat: round(n / ingestOnly.seconds / (kc.records / kc.seconds)) },
    latency: {
      definition: 'wall time from producing the raw record that moved event time to an output`s updated_at until that output is read from nightshift.rca',
      workload: { ...LIVE, records: liveN, ratePerSec: LIVE_RATE },
      outputs: lat.length,
      p50Ms: Math.round(pct(lat, 50)),
      p99Ms: Math.round(pct(lat, 99)),
      maxMs: Math.round(Math.max(...lat)),
    },
    goal: { recordsPerSec: 100_000, shareOfKcat: 0.5 },
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((e) => {
  process.stderr.write(`bench:kafka failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
