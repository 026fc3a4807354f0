import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { simulate } from '../../sim/index.js';
import { CONFLUENT_PACKAGE, type ClientName, type Job, type PhaseResult } from './worker.js';

/**
 * bench:kafka-clients — which Kafka client nightshift should use, by measurement: kafkajs (the pipeline's client
 * today), @platformatic/kafka and @confluentinc/kafka-javascript (librdkafka; its KafkaJS-compatible API, the one a
 * port from kafkajs would use, and its native node-rdkafka API), with kcat (librdkafka's command-line
 * tool, C, no processing) as the ceiling, all on the same broker (scripts/kafka.sh), the same records and in the
 * same run.
 *
 *  - Records: the first N raw records of bench:kafka's simulated world (alerts, logs, metrics, traces, changes
 *    payloads as the gateway writes them, keyed by service), written once to a `key\tvalue` file that kcat -P reads
 *    and every Node client loads into memory before its clock starts.
 *  - Produce, per client, into a fresh topic of P partitions: acks=all, idempotent (what nightshift's producer is)
 *    and not, batched the way each client is best used (worker.ts). The produced count is checked on the broker.
 *  - Consume, per client: a fresh consumer group reads one topic (loaded once, untimed, by kcat) from the beginning
 *    until all N records arrived, then commits. Every client reads the same topic, so the batches on disk are the same.
 *    Beside the whole phase, its read rate from the first record to the last (no connect, join or commit); kcat's is
 *    a second read without a group, timed as a process (see kcatConsume).
 *  - CPU (user + system, all threads) and peak RSS of each Node client's process, per record.
 *  - Each phase runs in its own process (worker.ts); rounds rotate the order of the clients; the figures are the
 *    medians over the rounds, and each client's ratio to kcat in the same phase.
 * A client that is not installed is skipped and reported as skipped, with how to install it.
 * Writes bench/results/kafka-clients.json and kafka-clients.txt with the machine it ran on.
 *
 *   npm run bench:kafka-clients [-- --records N] [--rounds R] [--partitions P]   (defaults: 300000, 5, 6)
 *   node dist/bench/kafka-clients/run.js --render   rewrites the .txt from the committed .json
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const OUT_JSON = join(ROOT, 'bench', 'results', 'kafka-clients.json');
const OUT_TXT = join(ROOT, 'bench', 'results', 'kafka-clients.txt');
const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');
const LOAD = { seed: 21, services: 30, hours: 24, faults: 8 } as const;
const PHASE_TIMEOUT_MS = 180_000;
const SETUP = 'bash scripts/bench-kafka-clients-setup.sh';

type Contender = ClientName | 'kcat';
type Mode = 'produceIdempotent' | 'producePlain' | 'consume';
const MODES: readonly Mode[] = ['produceIdempotent', 'producePlain', 'consume'];
/** The figures per contender: the three phases, and the consume phase's read rate from its first record to its last. */
type Figure = Mode | 'consumeRead';
const FIGURES: readonly Figure[] = [...MODES, 'consumeRead'];

interface Attempt {
  round: number;
  contender: Contender;
  mode: Mode;
  ok: boolean;
  error?: string;
  result?: PhaseResult;
  /** produce: records the broker holds in the topic afterwards (sum of high watermarks). */
  onBroker?: number;
}

function args(): { records: number; rounds: number; partitions: number } {
  const a = process.argv.slice(2);
  const get = (name: string, def: number): number => {
    const i = a.indexOf(`--${name}`);
    if (i < 0) return def;
    const v = Number(a[i + 1]);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
    return v;
  };
  return { records: get('records', 300_000), rounds: get('rounds', 5), partitions: get('partitions', 6) };
}

function brokers(): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'kafka.sh'), 'up'], { encoding: 'utf8', timeout: 300_000 }).trim().split('\n').pop()!;
}

function pkgVersion(name: string): string | null {
  const p = join(ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(p)) return null;
  return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
}

/** Which contenders can run: installed, and (the native one) loadable. Never skipped silently. */
function detect(): { available: Contender[]; versions: Record<string, string>; skipped: Record<string, string> } {
  const versions: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  const available: Contender[] = [];
  const kj = pkgVersion('kafkajs');
  if (kj) {
    versions.kafkajs = kj;
    available.push('kafkajs');
  } else skipped.kafkajs = 'kafkajs is not installed (npm ci)';
  const pl = pkgVersion('@platformatic/kafka');
  if (pl) {
    versions['@platformatic/kafka'] = pl;
    available.push('platformatic');
  } else skipped.platformatic = '@platformatic/kafka is not installed (a development dependency: npm ci without --omit=dev)';
  const cf = pkgVersion(CONFLUENT_PACKAGE);
  if (!cf) skipped.confluent = skipped['confluent-native'] = `${CONFLUENT_PACKAGE} is not installed (not in package.json: a native build; install it with ${SETUP})`;
  else {
    try {
      const lib = execFileSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(CONFLUENT_PACKAGE)}).librdkafkaVersion)`], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
      versions[CONFLUENT_PACKAGE] = `${cf} (librdkafka ${lib})`;
      available.push('confluent', 'confluent-native');
    } catch (e) {
      skipped.confluent = skipped['confluent-native'] = `${CONFLUENT_PACKAGE}@${cf} is installed but does not load (${String((e as Error).message).split('\n')[0]}); rebuild it with ${SETUP}`;
    }
  }
  try {
    const v = execFileSync('kcat', ['-V'], { encoding: 'utf8', timeout: 10_000 });
    versions.kcat = (/Version ([^\s]+).*?librdkafka ([^\s)]+)/s.exec(v) ?? []).slice(1).join(' (librdkafka ') + ')';
    available.push('kcat');
  } catch {
    skipped.kcat = 'kcat is not installed (Debian: apt-get install -y kcat, or ' + SETUP + ')';
  }
  return { available, versions, skipped };
}

/** The first n raw records of the simulated world, one `key\tvalue` line each (no record holds a newline or a tab in its key). */
async function writeRecords(file: string, n: number): Promise<{ records: number; valueBytes: number; keyBytes: number; byTopic: Record<string, number> }> {
  mkdirSync(dirname(file), { recursive: true });
  const out = createWriteStream(file);
  let records = 0;
  let valueBytes = 0;
  let keyBytes = 0;
  const byTopic: Record<string, number> = {};
  let chunk: string[] = [];
  const flush = async (): Promise<void> => {
    if (!out.write(chunk.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
    chunk = [];
  };
  for (const l of simulate(LOAD).records) {
    const key = l.key ?? '';
    if (l.payload.includes('\n') || key.includes('\t') || key.includes('\n')) throw new Error(`record ${records} does not fit a key\\tvalue line`);
    chunk.push(`${key}\t${l.payload}\n`);
    valueBytes += Buffer.byteLength(l.payload);
    keyBytes += Buffer.byteLength(key);
    byTopic[l.topic] = (byTopic[l.topic] ?? 0) + 1;
    if (++records >= n) break;
    if (chunk.length >= 5000) await flush();
  }
  await flush();
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return { records, valueBytes, keyBytes, byTopic };
}

async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] }],
  });
}

async function recordsOnBroker(admin: Admin, topic: string): Promise<number> {
  const offs = await admin.fetchTopicOffsets(topic);
  return offs.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
}

function runProcess(cmd: string, argv: string[], onStdout?: (d: Buffer, at: number) => void): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, PHASE_TIMEOUT_MS);
    p.stdout.on('data', (d: Buffer) => (onStdout ? onStdout(d, (performance.now() - t0) / 1000) : (stdout += d.toString())));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000, timedOut });
    });
  });
}

async function nodePhase(job: Job): Promise<PhaseResult> {
  const r = await runProcess(process.execPath, [WORKER, JSON.stringify(job)]);
  if (r.timedOut) throw new Error(`timed out after ${PHASE_TIMEOUT_MS / 1000} s`);
  if (r.code !== 0) throw new Error(`worker exited ${r.code}: ${(/^worker failed: (.*)$/m.exec(r.stderr)?.[1] ?? r.stderr.trim().split('\n').slice(-3).join(' | ')).slice(0, 600)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PhaseResult;
}

const KCAT_PRODUCE_X = ['acks=all', 'partitioner=murmur2_random', 'linger.ms=5'];

async function kcatProduce(b: string, topic: string, file: string, idempotent: boolean, n: number, valueBytes: number): Promise<PhaseResult> {
  const x = [...KCAT_PRODUCE_X, `enable.idempotence=${idempotent}`];
  const r = await runProcess('kcat', ['-P', '-b', b, '-t', topic, '-K', '\t', '-l', ...x.flatMap((s) => ['-X', s]), file]);
  if (r.timedOut) throw new Error(`timed out after ${PHASE_TIMEOUT_MS / 1000} s`);
  if (r.code !== 0) throw new Error(`kcat exited ${r.code}: ${r.stderr.slice(-400)}`);
  return { records: n, valueBytes, seconds: r.seconds, cpuSeconds: NaN, maxRssBytes: NaN, settings: { command: `kcat -P -b B -t T -K '\\t' -l ${x.map((s) => `-X ${s}`).join(' ')} FILE` } };
}

/**
 * kcat's consume: in a group as the clients do (-G: join, read to the end, commit and leave on close; the whole
 * process is the clock), then the same topic read without a group (-o beginning -e: no join, no leave, no commit),
 * whose whole process is the read ceiling of the "first to last record" figure. Block-buffered stdio hides when
 * kcat reads each record (newlines arrive 8 KiB at a time, the last at exit), and -u (a write per record) slows it
 * down, so the read ceiling is timed as a process.
 */
async function kcatConsume(b: string, topic: string, group: string, n: number): Promise<PhaseResult> {
  const count = async (argv: string[]): Promise<number> => {
    let lines = 0;
    const r = await runProcess('kcat', argv, (d) => {
      for (const byte of d) if (byte === 10) lines++;
    });
    if (r.timedOut) throw new Error(`timed out after ${PHASE_TIMEOUT_MS / 1000} s`);
    if (r.code !== 0) throw new Error(`kcat exited ${r.code}: ${r.stderr.slice(-400)}`);
    if (lines < n) throw new Error(`kcat read ${lines} of ${n} records`);
    return r.seconds;
  };
  // fetch.wait.max.ms as the Node clients' (100 ms; librdkafka's default 500 ms is added to the time -e needs to see
  // the end of each partition).
  const seconds = await count(['-C', '-b', b, '-G', group, '-X', 'auto.offset.reset=earliest', '-X', 'fetch.wait.max.ms=100', '-e', '-q', '-f', '\n', topic]);
  const read = await count(['-C', '-b', b, '-t', topic, '-X', 'fetch.wait.max.ms=100', '-o', 'beginning', '-e', '-q', '-f', '\n']);
  return {
    records: n,
    valueBytes: NaN,
    seconds,
    firstRecordSeconds: 0,
    lastRecordSeconds: read,
    cpuSeconds: NaN,
    maxRssBytes: NaN,
    settings: {
      command: "kcat -C -b B -G GROUP -X auto.offset.reset=earliest -X fetch.wait.max.ms=100 -e -q -f '\\n' T (the group commits on close)",
      readCeiling: "kcat -C -b B -t T -X fetch.wait.max.ms=100 -o beginning -e -q -f '\\n' (no group), its whole process",
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const fmt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const LABEL: Record<Contender, string> = { kafkajs: 'kafkajs', platformatic: '@platformatic/kafka', confluent: '@confluentinc/kafka-javascript (KafkaJS API)', 'confluent-native': '@confluentinc/kafka-javascript (native API)', kcat: 'kcat (ceiling)' };

async function main(): Promise<void> {
  const { records: N, rounds: R, partitions: P } = args();
  const loadAtStart = os.loadavg().map(round3);
  const b = brokers();
  const det = detect();
  for (const [c, why] of Object.entries(det.skipped)) process.stderr.write(`SKIPPED ${c}: ${why}\n`);
  const cache = join(ROOT, 'node_modules', '.cache', 'nightshift-bench', 'kafka-clients');
  const file = join(cache, `records-${N}.tsv`);
  process.stderr.write(`writing ${N} simulated records to ${file}\n`);
  const data = await writeRecords(file, N);
  if (data.records < N) throw new Error(`the world holds only ${data.records} records`);

  const client = new Kafka({ clientId: 'bench-kafka-clients', brokers: [b], logLevel: logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  const prefix = `bench-clients-${Date.now().toString(36)}`;
  const consumeTopic = `${prefix}.consume`;
  await createTopic(admin, consumeTopic, P);
  if (det.available.includes('kcat')) await kcatProduce(b, consumeTopic, file, true, N, data.valueBytes);
  else await nodePhase({ client: 'kafkajs', phase: 'produce', brokers: b, topic: consumeTopic, file, idempotent: true });
  const loaded = await recordsOnBroker(admin, consumeTopic);
  if (loaded !== N) throw new Error(`consume topic holds ${loaded} records, not ${N}`);
  process.stderr.write(`loaded ${consumeTopic} with ${loaded} records\n`);

  const attempts: Attempt[] = [];
  const order0 = det.available;
  for (let round = 0; round < R; round++) {
    const order = order0.map((_, i) => order0[(i + round) % order0.length]!);
    process.stderr.write(`round ${round + 1}/${R}: ${order.join(', ')}\n`);
    for (const c of order) {
      for (const mode of MODES) {
        const a: Attempt = { round: round + 1, contender: c, mode, ok: false };
        try {
          if (mode === 'consume') {
            const group = `${prefix}-${c}-${round}-${randomBytes(2).toString('hex')}`;
            a.result = c === 'kcat' ? await kcatConsume(b, consumeTopic, group, N) : await nodePhase({ client: c, phase: 'consume', brokers: b, topic: consumeTopic, group, expect: N });
            if (a.result.records !== N) throw new Error(`read ${a.result.records} of ${N} records`);
          } else {
            const topic = `${prefix}.${c}.${mode}.${round}`;
            await createTopic(admin, topic, P);
            const idempotent = mode === 'produceIdempotent';
            try {
              a.result = c === 'kcat' ? await kcatProduce(b, topic, file, idempotent, N, data.valueBytes) : await nodePhase({ client: c, phase: 'produce', brokers: b, topic, file, idempotent });
              a.onBroker = await recordsOnBroker(admin, topic);
              if (a.onBroker !== N) throw new Error(`the topic holds ${a.onBroker} records after producing ${N}`);
            } finally {
              await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
            }
          }
          a.ok = true;
          process.stderr.write(`  ${c} ${mode}: ${fmt(N / a.result.seconds)} records/s (${a.result.seconds.toFixed(2)} s)\n`);
        } catch (e) {
          a.error = (e as Error).message;
          process.stderr.write(`  ${c} ${mode}: FAILED ${a.error}\n`);
        }
        attempts.push(a);
      }
    }
  }
  await admin.deleteTopics({ topics: [consumeTopic] }).catch(() => undefined);
  await admin.disconnect();

  // Medians over the rounds, and ratios to kcat's median in the same phase.
  const summary: Record<string, Record<string, unknown>> = {};
  // consumeRead: records between the first and the last one read, over the time between them (no connect, group
  // join, commit or, for kcat, process start and group leave).
  const perSec = (a: Attempt, f: Figure): number =>
    f === 'consumeRead' ? (N - 1) / (a.result!.lastRecordSeconds! - a.result!.firstRecordSeconds!) : N / a.result!.seconds;
  const modeOf = (f: Figure): Mode => (f === 'consumeRead' ? 'consume' : f);
  const rate = (c: Contender, f: Figure): number => median(attempts.filter((a) => a.ok && a.contender === c && a.mode === modeOf(f)).map((a) => perSec(a, f)));
  for (const c of det.available) {
    const per: Record<string, unknown> = {};
    for (const m of FIGURES) {
      const ok = attempts.filter((a) => a.ok && a.contender === c && a.mode === modeOf(m));
      const failed = attempts.filter((a) => !a.ok && a.contender === c && a.mode === modeOf(m));
      const rps = rate(c, m);
      const ceiling = rate('kcat', m);
      per[m] = {
        recordsPerSec: Math.round(rps),
        mbPerSec: round3((rps * data.valueBytes) / N / 1e6),
        ratioToKcat: Number.isFinite(ceiling) ? round3(rps / ceiling) : null,
        runs: ok.length,
        failed: failed.map((a) => `round ${a.round}: ${a.error}`),
        secondsPerRun: ok.map((a) => round3(m === 'consumeRead' ? a.result!.lastRecordSeconds! - a.result!.firstRecordSeconds! : a.result!.seconds)),
        cpuSecondsMedian: c === 'kcat' ? null : round3(median(ok.map((a) => a.result!.cpuSeconds))),
        maxRssBytesMedian: c === 'kcat' ? null : Math.round(median(ok.map((a) => a.result!.maxRssBytes))),
        firstRecordSecondsMedian: m === 'consume' ? round3(median(ok.map((a) => a.result!.firstRecordSeconds ?? NaN))) : undefined,
        settings: ok[0]?.result?.settings ?? null,
      };
    }
    summary[c] = per;
  }
  const result = {
    benchmark: 'bench:kafka-clients',
    command: `npm run bench:kafka-clients${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().map((c) => c.model).filter((m, i, a) => a.indexOf(m) === i),
      cores: os.cpus().length,
      memoryBytes: os.totalmem(),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map(round3), note: 'the machine is shared with other work: compare within this run' },
    },
    broker: 'Apache Kafka 3.9.1, single node, KRaft (scripts/kafka.sh), on the same machine',
    clients: det.versions,
    skipped: det.skipped,
    workload: {
      records: N,
      valueBytes: data.valueBytes,
      meanValueBytes: Math.round(data.valueBytes / N),
      keyBytes: data.keyBytes,
      byTopic: data.byTopic,
      source: `first ${N} raw records of simulate(${JSON.stringify(LOAD)}) (bench:kafka's world), keyed by service, values as strings`,
      partitions: P,
      rounds: R,
      order: 'rotated by one client each round; each phase in its own process',
      produce: 'acks=all into a fresh topic per client, mode and round; clock from before connect to the last acknowledgement; count checked on the broker',
      consume: 'fresh consumer group, from the beginning of one topic loaded once by kcat (untimed), until all records arrived, then a commit; clock from before connect to the commit acknowledged; values counted, not decoded',
      consumeRead: 'the same consume runs, records per second between the first record read and the last (no connect, group join or commit); for kcat a second read of the topic without a group (-o beginning -e), its whole process',
      kcat: 'the clock is the whole kcat process (start, connect, join, read to the end, commit and leave on close; produce: until every record is delivered), so its ceiling is if anything low',
      mbPerSec: 'value bytes (1 MB = 10^6 bytes) per second',
      phaseTimeoutSeconds: PHASE_TIMEOUT_MS / 1000,
    },
    summary,
    attempts: attempts.map((a) => ({ round: a.round, contender: a.contender, mode: a.mode, ok: a.ok, error: a.error, seconds: a.result ? round3(a.result.seconds) : undefined, recordsPerSec: a.result ? Math.round(N / a.result.seconds) : undefined, cpuSeconds: a.result && Number.isFinite(a.result.cpuSeconds) ? round3(a.result.cpuSeconds) : undefined, onBroker: a.onBroker })),
  };
  mkdirSync(dirname(OUT_JSON), { recursive: true });
  writeFileSync(OUT_JSON, `${JSON.stringify(result, null, 2)}\n`);

  const text = render(result as unknown as Result);
  writeFileSync(OUT_TXT, text);
  process.stdout.write(text);
  process.stderr.write(`wrote ${OUT_JSON} (${statSync(OUT_JSON).size} bytes) and ${OUT_TXT}\n`);
}

interface Cell {
  recordsPerSec: number;
  mbPerSec: number;
  ratioToKcat: number | null;
  runs: number;
  cpuSecondsMedian: number | null;
  maxRssBytesMedian: number | null;
}

interface Result {
  date: string;
  command: string;
  machine: { cores: number; cpus: string[]; memoryBytes: number; node: string };
  broker: string;
  clients: Record<string, string>;
  skipped: Record<string, string>;
  workload: { records: number; meanValueBytes: number; partitions: number; rounds: number };
  summary: Record<string, Record<Figure, Cell>>;
  attempts: Array<{ round: number; contender: string; mode: string; ok: boolean; error?: string }>;
}

/** The .txt tables, from the result alone (`--render` rewrites the .txt from the committed .json). */
function render(r: Result): string {
  const N = r.workload.records;
  const rows: string[] = [];
  rows.push(`bench:kafka-clients ${r.date}: ${N.toLocaleString('en-US')} records (mean value ${r.workload.meanValueBytes} B), ${r.workload.partitions} partitions, median of ${r.workload.rounds} rounds`);
  rows.push(`machine: ${r.machine.cores} x ${r.machine.cpus.join(', ')}, ${Math.round(r.machine.memoryBytes / 2 ** 30)} GiB, Node ${r.machine.node}; ${r.broker}`);
  rows.push(`command: ${r.command}`);
  rows.push('');
  rows.push('| client | version | produce idempotent rec/s (MB/s) | × kcat | produce not idempotent rec/s (MB/s) | × kcat | consume rec/s (MB/s) | × kcat | consume, first to last record, rec/s | × kcat |');
  rows.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const verOf: Record<Contender, string> = { kafkajs: r.clients.kafkajs ?? '', platformatic: r.clients['@platformatic/kafka'] ?? '', confluent: r.clients[CONFLUENT_PACKAGE] ?? '', 'confluent-native': r.clients[CONFLUENT_PACKAGE] ?? '', kcat: r.clients.kcat ?? '' };
  const ALL = ['kafkajs', 'platformatic', 'confluent', 'confluent-native', 'kcat'] as const;
  for (const c of ALL) {
    if (!r.summary[c]) {
      rows.push(`| ${LABEL[c]} | skipped: ${r.skipped[c] ?? 'not run'} | | | | | | | | |`);
      continue;
    }
    const cell = (m: Figure): string => {
      const s = r.summary[c]![m];
      if (!s) return '- | -';
      if (s.runs === 0) return 'failed | -';
      if (m === 'consumeRead') return `${fmt(s.recordsPerSec)} | ${s.ratioToKcat === null ? '-' : s.ratioToKcat.toFixed(2)}`;
      return `${fmt(s.recordsPerSec)} (${s.mbPerSec.toFixed(1)}) | ${s.ratioToKcat === null ? '-' : s.ratioToKcat.toFixed(2)}`;
    };
    rows.push(`| ${LABEL[c]} | ${verOf[c]} | ${cell('produceIdempotent')} | ${cell('producePlain')} | ${cell('consume')} | ${cell('consumeRead')} |`);
  }
  rows.push('');
  rows.push('CPU of the client process per record (user + system, median; the broker and kcat not included) and its peak RSS:');
  rows.push('');
  rows.push('| client | produce idempotent µs/record | produce not idempotent µs/record | consume µs/record | peak RSS produce / consume (MiB) |');
  rows.push('| --- | ---: | ---: | ---: | ---: |');
  for (const c of ALL) {
    const s = r.summary[c];
    if (!s || c === 'kcat') continue;
    const us = (m: Mode): string => (s[m].runs && s[m].cpuSecondsMedian !== null ? ((s[m].cpuSecondsMedian! / N) * 1e6).toFixed(1) : '-');
    const mib = (m: Mode): string => (s[m].runs && s[m].maxRssBytesMedian !== null ? String(Math.round(s[m].maxRssBytesMedian! / 2 ** 20)) : '-');
    rows.push(`| ${LABEL[c]} | ${us('produceIdempotent')} | ${us('producePlain')} | ${us('consume')} | ${mib('produceIdempotent')} / ${mib('consume')} |`);
  }
  const failures = r.attempts.filter((a) => !a.ok);
  if (failures.length) {
    rows.push('');
    for (const f of failures) rows.push(`failed: round ${f.round} ${f.contender} ${f.mode}: ${f.error}`);
  }
  return `${rows.join('\n')}\n`;
}

if (process.argv.includes('--render')) {
  const text = render(JSON.parse(readFileSync(OUT_JSON, 'utf8')) as Result);
  writeFileSync(OUT_TXT, text);
  process.stdout.write(text);
} else main().catch((e) => {
  process.stderr.write(`bench:kafka-clients failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
