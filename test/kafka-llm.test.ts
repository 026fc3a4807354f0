import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRun, type RunHandle } from '../cli/run.js';
import { silentLogger } from '../core/log.js';
import { ALL_STAGES } from '../pipeline/kafka/runner.js';
import { IncidentOutput } from '../schemas/index.js';
import { simulate } from '../sim/index.js';
import { createHttpClickHouse, type ClickHouseLike } from '../sinks/clickhouse/client.js';
import { FakeOpenAi, groundedAnswer } from './fakes/openai.js';
import { clickhouseClean, clickhouseUp } from './clickhouse-server.js';
import { produceLines, testCluster, testProducer, waitFor, waitQuiet, type TestCluster } from './helpers/kafka.js';

/**
 * `nightshift run` reasons with the LLM as `replay` does (one graph, pipeline/graph.ts): with a model configured (an
 * OpenAI-compatible fake), the cluster publishes `llm:<model>` results after the ranker's, its /metrics LLM series
 * move, and the reasoning_runs table gets a row per run, on the real broker and Debian's ClickHouse 18.16.
 */
const SERVER = 'kllm';
const DB = 'ns_kafka_llm';
const MODEL = 'fake-gpt';

let tc: TestCluster;
let producer: Producer;
let run: RunHandle | null = null;
let ch: ClickHouseLike;
const fake = new FakeOpenAi((b) => ({ kind: 'content', content: groundedAnswer(b) }));
const dir = mkdtempSync(join(tmpdir(), 'ns-kafka-llm-'));

beforeAll(async () => {
  tc = testCluster('llm');
  producer = await testProducer(tc.brokers);
  const url = clickhouseUp(SERVER);
  ch = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  await ch.command(`DROP DATABASE IF EXISTS ${DB}`);
  const baseUrl = await fake.start();
  const sim = simulate({ seed: 3, services: 12, hours: 2.5, faults: 2 });
  const env = { ...process.env, NIGHTSHIFT_LLM_MODEL: MODEL, OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: 'test-key', NIGHTSHIFT_CLICKHOUSE_URL: url, NIGHTSHIFT_CLICKHOUSE_DATABASE: DB };
  run = await startRun({ stages: ALL_STAGES, config: tc.config, kafka: tc.kafka, topology: sim.result().topology, out: join(dir, 'out.ndjson'), opsPort: 0, log: silentLogger(), env });
  await produceLines(producer, [...sim.records], tc.raw);
}, 240_000);

afterAll(async () => {
  await run?.stop();
  await producer?.disconnect();
  await fake.close();
  await ch?.close();
  clickhouseClean(SERVER);
  rmSync(dir, { recursive: true, force: true });
});

describe('nightshift run with an LLM', () => {
  it('publishes llm:<model> results after the ranker, fills the LLM metrics and the reasoning_runs table', async () => {
    await waitQuiet([run!.cluster], 3000, 240_000);
    await run!.stop();
    const outputs = readFileSync(join(dir, 'out.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as IncidentOutput);
    expect(outputs.length).toBeGreaterThan(0);
    for (const o of outputs) expect(IncidentOutput.safeParse(o).success).toBe(true);
    expect(new Set(outputs.map((o) => o.reasoner))).toEqual(new Set(['ranker', `llm:${MODEL}`]));
    const first = new Map<string, string>();
    for (const o of outputs) if (!first.has(o.incident_id)) first.set(o.incident_id, o.reasoner);
    for (const r of first.values()) expect(r).toBe('ranker');
    expect(fake.requests.length).toBeGreaterThan(0);

    const text = run!.cluster.metrics.render();
    const tokensIn = Number(/nightshift_llm_tokens_total\{direction="in"\} (\d+)/.exec(text)?.[1] ?? 0);
    expect(tokensIn).toBeGreaterThan(0);
    expect(text).toMatch(/nightshift_llm_latency_seconds_count [1-9]/);

    await waitFor('reasoning_runs rows', async () => Number((await ch.query<{ n: unknown }>(`SELECT count() AS n FROM ${DB}.reasoning_runs`))[0]?.n ?? 0) > 0, 30_000);
    const rows = await ch.query<{ model: string; guard_result: string }>(`SELECT model, guard_result FROM ${DB}.reasoning_runs`);
    expect(rows.every((r) => r.model === MODEL)).toBe(true);
    expect(rows.some((r) => r.guard_result === 'passed')).toBe(true);
    // The graph's analytics taps run in the cluster too: signals, log templates and per-minute statistics, labelled
    // with this instance.
    for (const t of ['signals', 'log_templates', 'pipeline_stats', 'incident_details']) {
      expect(Number((await ch.query<{ n: unknown }>(`SELECT count() AS n FROM ${DB}.${t}`))[0]?.n ?? 0), t).toBeGreaterThan(0);
    }
    const labels = await ch.query<{ pipeline: string }>(`SELECT DISTINCT pipeline FROM ${DB}.pipeline_stats`);
    expect(labels.map((l) => l.pipeline)).toEqual([`run:${hostname()}`]);
    // A run that asked the model is one request, two with a repair; skipped runs (nothing changed) ask nothing.
    const asked = rows.filter((r) => r.guard_result !== 'skipped').length;
    expect(asked).toBeGreaterThan(0);
    expect(asked).toBeLessThanOrEqual(fake.requests.length);
  }, 300_000);
});
