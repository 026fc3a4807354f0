import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestTopics } from '../ingest/config.js';
import { clickhouseConfigFromEnv } from '../sinks/clickhouse/config.js';
import { simulateToFiles } from '../sim/index.js';

/**
 * deploy/compose: no Docker engine here, so the compose file is checked for structure (services, images, the wiring
 * between them, files it mounts), and the producer its simulator runs is run for real against the project's broker.
 */
const ROOT = join(import.meta.dirname, '..');
const COMPOSE_DIR = join(ROOT, 'deploy', 'compose');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  read_only?: boolean;
}
interface Compose {
  services: Record<string, Service>;
}

const compose = parseYaml(readFileSync(join(COMPOSE_DIR, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const S = compose.services;

describe('compose file: structure', () => {
  it('has Kafka (KRaft), ClickHouse, the pipeline, the gateway, the simulator, Prometheus and Grafana', () => {
    expect(Object.keys(S).sort()).toEqual(['clickhouse', 'gateway', 'grafana', 'kafka', 'kafka-init', 'nightshift', 'prometheus', 'simulator']);
    expect(S.kafka!.image).toMatch(/^apache\/kafka:3\.9\.\d+$/);
    expect(S.kafka!.environment!.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(S.kafka!.environment!.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    expect(S.clickhouse!.image).toMatch(/^clickhouse\/clickhouse-server:\d+\.\d+$/);
  });

  it('builds nightshift from the repo Dockerfile, and every nightshift service uses that image', () => {
    for (const name of ['nightshift', 'gateway', 'simulator']) {
      const b = S[name]!.build!;
      expect(resolve(COMPOSE_DIR, b.context), name).toBe(ROOT);
      expect(existsSync(join(ROOT, b.dockerfile)), name).toBe(true);
      // With a build section compose never pulls the image from a registry, where it does not exist.
      expect(S[name]!.image, name).toBe('nightshift:dev');
    }
    expect(S.nightshift!.command).toEqual(['run']);
    expect(S.gateway!.command).toEqual(['gateway']);
    expect(S.nightshift!.read_only).toBe(true);
  });

  it('points every nightshift service at the broker\'s internal listener', () => {
    const internal = /INTERNAL:\/\/kafka:(\d+)/.exec(S.kafka!.environment!.KAFKA_ADVERTISED_LISTENERS!)![1];
    for (const name of ['nightshift', 'gateway', 'simulator']) expect(S[name]!.environment!.NIGHTSHIFT_KAFKA_BROKERS, name).toBe(`kafka:${internal}`);
  });

  it('creates the raw topics the ingest stage reads by default, and the root-cause topic', () => {
    const script = S['kafka-init']!.command!.join('\n');
    const topics = /for topic in ([^;]+);/.exec(script)![1]!.trim().split(/\s+/);
    expect(topics).toEqual([...Object.values(IngestTopics.parse({})), 'nightshift.rca']);
    expect(S.nightshift!.depends_on).toMatchObject({ 'kafka-init': { condition: 'service_completed_successfully' } });
  });

  it('gives the pipeline a ClickHouse sink configuration the sink accepts', () => {
    const cfg = clickhouseConfigFromEnv(S.nightshift!.environment!);
    expect(cfg).not.toBeNull();
    expect(cfg!.target).toMatchObject({ kind: 'http', url: 'http://clickhouse:8123', username: 'nightshift', password: 'nightshift' });
    expect(cfg!.database).toBe(S.clickhouse!.environment!.CLICKHOUSE_DB);
  });

  it('feeds the simulator\'s world into Kafka only once the pipeline is healthy', () => {
    const sim = S.simulator!;
    const cmd = sim.command!.join(' ');
    expect(cmd).toMatch(/nightshift simulate --out (\S+)/);
    const out = /nightshift simulate --out (\S+)/.exec(cmd)![1];
    expect(cmd).toContain(`node /app/deploy/produce-replay.mjs --in ${out}`);
    expect(sim.volumes).toContain('./produce-replay.mjs:/app/deploy/produce-replay.mjs:ro');
    expect(sim.depends_on).toMatchObject({ nightshift: { condition: 'service_healthy' } });
    // service_healthy needs a health check: the image's HEALTHCHECK.
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^HEALTHCHECK /m);
  });

  it('binds every published nightshift listener to the container address, not the CLI\'s loopback default', () => {
    expect(S.nightshift!.environment!.NIGHTSHIFT_OPS_HOST).toBe('0.0.0.0');
    expect(S.gateway!.environment!.NIGHTSHIFT_OPS_HOST).toBe('0.0.0.0');
    expect(S.gateway!.environment!.NIGHTSHIFT_GATEWAY_HOST).toBe('0.0.0.0');
  });

  it('scrapes the ops port of each nightshift service and provisions the dashboards of deploy/grafana', () => {
    const prom = parseYaml(readFileSync(join(COMPOSE_DIR, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets)).sort();
    expect(targets).toEqual(['gateway', 'nightshift'].map((s) => `${s}:${S[s]!.environment!.NIGHTSHIFT_OPS_PORT}`));
    const grafanaMounts = S.grafana!.volumes!.map((v) => v.split(':'));
    const dash = grafanaMounts.find(([, to]) => to === '/var/lib/grafana/dashboards/nightshift')!;
    expect(resolve(COMPOSE_DIR, dash[0]!)).toBe(join(ROOT, 'deploy', 'grafana'));
    const provider = parseYaml(readFileSync(join(COMPOSE_DIR, 'grafana', 'provisioning', 'dashboards', 'nightshift.yaml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards/nightshift');
    const ds = parseYaml(readFileSync(join(COMPOSE_DIR, 'grafana', 'provisioning', 'datasources', 'nightshift.yaml'), 'utf8')) as {
      datasources: Array<{ type: string }>;
    };
    expect(ds.datasources.map((d) => d.type).sort()).toEqual(['grafana-clickhouse-datasource', 'prometheus']);
  });

  it('mounts only files that exist', () => {
    for (const [name, svc] of Object.entries(S)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.') || src.startsWith('/')) expect(existsSync(resolve(COMPOSE_DIR, src)), `${name}: ${src}`).toBe(true);
      }
    }
  });
});

describe('produce-replay.mjs (the simulator\'s producer) on a real broker', () => {
  let brokers = '';
  let dir = '';
  const prefix = `deploytest-${process.pid}-`;

  beforeAll(() => {
    // The project's single-node broker (scripts/kafka.sh, idempotent: reuses a running one).
    const out = execFileSync('bash', [join(ROOT, 'scripts', 'kafka.sh'), 'up'], { encoding: 'utf8', timeout: 240_000 });
    brokers = out.trim().split('\n').pop()!;
    expect(brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    dir = mkdtempSync(join(tmpdir(), 'ns-produce-'));
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('produces every record of a simulated world to its topic with its key and timestamp, skipping bad lines', async () => {
    const replay = join(dir, 'world.ndjson');
    await simulateToFiles({ seed: 3, services: 10, hours: 0.25, faults: 0 }, { replay, truth: join(dir, 'truth.ndjson'), topology: join(dir, 'topo.json') });
    // Own topic names, so the shared broker's real topics are never written to.
    const records = readFileSync(replay, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { topic: string; key?: string | null; payload: string; ts?: number });
    const renamed = records.map((r) => ({ ...r, topic: prefix + r.topic }));
    const input = join(dir, 'input.ndjson');
    writeFileSync(input, `${renamed.map((r) => JSON.stringify(r)).join('\n')}\nnot json\n{"topic":"x"}\n`);
    const expected = new Map<string, number>();
    for (const r of renamed) expected.set(r.topic, (expected.get(r.topic) ?? 0) + 1);

    const kafka = new Kafka({ clientId: 'deploy-test', brokers: [brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [...expected.keys()].map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })), waitForLeaders: true });
      const run = spawnSync('node', [join(COMPOSE_DIR, 'produce-replay.mjs'), '--in', input, '--brokers', brokers, '--batch', '500'], {
        encoding: 'utf8',
        timeout: 120_000,
        cwd: dirname(COMPOSE_DIR),
      });
      expect(run.status, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout.trim()) as { produced: number; skipped: number; perTopic: Record<string, number> };
      expect(summary.produced).toBe(records.length);
      expect(summary.skipped).toBe(2);
      expect(summary.perTopic).toEqual(Object.fromEntries(expected));
      // What the broker holds: end offsets summed over partitions equal the records of each topic.
      for (const [topic, n] of expected) {
        const offsets = await admin.fetchTopicOffsets(topic);
        expect(offsets.reduce((s, o) => s + Number(o.high), 0), topic).toBe(n);
      }
      // Key, value and timestamp of the first record of the alerts topic, read back.
      const first = renamed.find((r) => r.topic === `${prefix}alerts`)!;
      const consumer = kafka.consumer({ groupId: `${prefix}check` });
      await consumer.connect();
      const got: Array<{ key: string | null; value: string; timestamp: string }> = [];
      await consumer.subscribe({ topic: first.topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ key: message.key?.toString() ?? null, value: message.value!.toString(), timestamp: message.timestamp });
        },
      });
      const deadline = Date.now() + 60_000;
      while (got.length < expected.get(first.topic)! && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await consumer.disconnect();
      const match = got.find((g) => g.value === first.payload);
      expect(match).toBeDefined();
      expect(match!.key).toBe(first.key ?? null);
      expect(match!.timestamp).toBe(String(first.ts));
    } finally {
      await admin.deleteTopics({ topics: [...expected.keys()] }).catch(() => undefined);
      await admin.deleteGroups([`${prefix}check`]).catch(() => undefined);
      await admin.disconnect();
    }
  }, 240_000);

  it('fails with a usage error, not a crash, when arguments are missing', () => {
    const run = spawnSync('node', [join(COMPOSE_DIR, 'produce-replay.mjs'), '--brokers', brokers], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--in FILE is required/);
  });
});

/** A field of a JSON document by a path like `results[1].rows_per_second`. */
function jsonPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

describe('deploy/RUNBOOK.md: figures only from committed bench results', () => {
  const runbook = readFileSync(join(ROOT, 'deploy', 'RUNBOOK.md'), 'utf8');
  // `value ... (bench/results/FILE.json → path)`, the value at most a few words before its source.
  const citations = [...runbook.matchAll(/(\d[\d,]*(?:\.\d+)?)[^()\d\n]{0,40}\((bench\/results\/[\w.-]+\.json) → ([\w.[\]]+)\)/g)].map((m) => ({
    text: m[1]!,
    file: m[2]!,
    path: m[3]!,
  }));

  it('cites at least one committed result, and every cited number matches its file', () => {
    expect(citations.length).toBeGreaterThan(3);
    for (const c of citations) {
      const tracked = spawnSync('git', ['ls-files', '--error-unmatch', c.file], { cwd: ROOT, encoding: 'utf8' });
      expect(tracked.status, `${c.file} is not committed`).toBe(0);
      const actual = jsonPath(JSON.parse(readFileSync(join(ROOT, c.file), 'utf8')), c.path);
      expect(typeof actual, `${c.file} → ${c.path}`).toBe('number');
      const cited = Number(c.text.replace(/,/g, ''));
      const decimals = c.text.split('.')[1]?.length ?? 0;
      // The cited figure is the file's value rounded to the digits written.
      expect(Math.abs(cited - (actual as number)), `${c.text} vs ${String(actual)} (${c.file} → ${c.path})`).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 1e-9);
    }
  });

  it('names no result file that is not committed, except as a benchmark still to come', () => {
    for (const m of runbook.matchAll(/bench\/results\/[\w.-]+\.json/g)) {
      expect(spawnSync('git', ['ls-files', '--error-unmatch', m[0]], { cwd: ROOT }).status, m[0]).toBe(0);
    }
  });
});
