import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { silentLogger } from '../core/log.js';
import { startOpsServer, type OpsServer } from '../core/ops.js';
import { expectedKinds } from '../eval/metrics.js';
import { contextOf, type McpContext } from '../mcp/context.js';
import { feedbackHttpHandler, MAX_FEEDBACK_BODY } from '../mcp/feedback-http.js';
import { startMcpHttpServer, type McpHttpServer } from '../mcp/listen.js';
import { KnowledgeConfig, loadKnowledgeBase } from '../reasoning/rag/kb.js';
import type { GroundTruth, IncidentOutput } from '../schemas/index.js';
import { createChdbClickHouse } from '../sinks/clickhouse/client.js';
import { migrate } from '../sinks/clickhouse/migrate.js';
import { tokenFixture, type TokenFixture } from './helpers/auth.js';
import { replayWorld, type McpWorld } from './helpers/mcp.js';
import { capture } from './helpers/cli.js';

/**
 * The loop end to end: a simulated world replayed into chdb, feedback recorded over real HTTP (confirmations where
 * the published top cause is the simulator's fault, corrections naming the fault where it is not), then
 * `nightshift eval --feedback` in-process, whose AC@1 and ECE must equal what this test computes from the same rows.
 */
const WRITER = 'writer-token-0123456789';
const READER = 'reader-token-0123456789';
let world: McpWorld;
let ctx: McpContext;
let tokens: TokenFixture;
let server: McpHttpServer;
let feedbackUrl: string;


const post = (body: unknown, token: string | null = WRITER, raw?: string) =>
  fetch(feedbackUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: raw ?? JSON.stringify(body) });

const top1 = (o: IncidentOutput) => o.root_causes.find((c) => c.rank === 1);

/** The simulator's fault behind an incident: one that was active when it opened and whose service it involves. */
function faultOf(o: IncidentOutput, truth: readonly GroundTruth[]): GroundTruth | undefined {
  return truth.find((t) => o.opened_at >= t.start - 60_000 && o.opened_at <= t.end + 15 * 60_000 && (o.services.includes(t.service) || o.root_causes.some((c) => c.service === t.service)));
}

beforeAll(async () => {
  // Seed 5 at this size: five incidents, four with the fault's service on top and one without, so the eval sees
  // confirmations and a correction (the small default world's two incidents are both right).
  world = replayWorld('ns-feedback-', {}, ['--seed', '5', '--services', '16', '--hours', '6', '--faults', '5']);
  const ch = await createChdbClickHouse(world.chdb);
  await migrate(ch, 'nightshift');
  ctx = contextOf(ch, 'nightshift', loadKnowledgeBase(KnowledgeConfig.parse({})), `chdb at ${world.chdb}`);
  tokens = await tokenFixture({ writer: WRITER, reader: READER }, silentLogger(), { perSecond: 0, burst: 1 }, ['reader']);
  server = await startMcpHttpServer({ ctx, port: 0, host: '127.0.0.1', auth: tokens.auth });
  feedbackUrl = server.url.replace(/\/mcp$/, '/v1/feedback');
});

afterAll(async () => {
  await server?.close();
  await tokens?.close();
  await ctx?.close();
  if (world) rmSync(world.dir, { recursive: true, force: true });
});

describe('feedback HTTP API', () => {
  it('refuses without a token (401), a read-only POST (403), bad bodies (400, 413) and unknown incidents (404)', async () => {
    const id = [...world.latest.keys()][0]!;
    expect((await post({ kind: 'ack', incident_id: id }, null)).status).toBe(401);
    const ro = await post({ kind: 'ack', incident_id: id }, READER);
    expect(ro.status).toBe(403);
    expect(((await ro.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect((await post({ kind: 'correct_root_cause', incident_id: id, service: 'x' })).status).toBe(400);
    expect((await post({ kind: 'ack', incident_id: id, extra: 1 })).status).toBe(400);
    expect((await post(null, WRITER, '{not json')).status).toBe(400);
    expect((await post(null, WRITER, JSON.stringify({ kind: 'comment', incident_id: id, note: 'x'.repeat(MAX_FEEDBACK_BODY) }))).status).toBe(413);
    const unknown = await post({ kind: 'ack', incident_id: 'no-such-incident' });
    expect(unknown.status).toBe(404);
    // None of the refused requests stored anything.
    expect(await ctx.feedback.list(id, 10)).toEqual([]);
    expect((await fetch(feedbackUrl, { method: 'DELETE', headers: { authorization: `Bearer ${WRITER}` } })).status).toBe(405);
  });

  it('is served on the ops port too, behind the same tokens', async () => {
    const ops: OpsServer = await startOpsServer({ port: 0, healthy: () => true, ready: () => true, metrics: () => '', auth: tokens.auth, feedback: feedbackHttpHandler(ctx, tokens.auth) });
    try {
      const id = [...world.latest.keys()][0]!;
      const url = `http://127.0.0.1:${ops.port}/v1/feedback?incident=${id}`;
      expect((await fetch(url)).status).toBe(401);
      const r = await fetch(url, { headers: { authorization: `Bearer ${READER}` } });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ incident_id: id, feedback: [] });
    } finally {
      await ops.close();
    }
  });
});

describe('nightshift eval --feedback on feedback recorded over HTTP', () => {
  it('reports the AC@1 and ECE computed here from the same rows', async () => {
    const truth = readFileSync(join(world.dir, 'world.truth.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as GroundTruth);
    const expected: { confidence: number; correct: boolean }[] = [];
    let confirmed = 0;
    let corrected = 0;
    let unjudged = 0;
    for (const o of world.latest.values()) {
      const top = top1(o);
      const fault = faultOf(o, truth);
      let body: Record<string, unknown>;
      if (!fault || (unjudged === 0 && top?.service === fault.service)) {
        // A false incident, or (once) a right one closed without naming its cause: counted, not scored.
        body = { kind: 'resolve', incident_id: o.incident_id, note: 'fixed' };
        unjudged++;
      } else if (top && top.service === fault.service) {
        body = { kind: 'confirm', incident_id: o.incident_id };
        confirmed++;
        expected.push({ confidence: top.confidence, correct: true });
      } else {
        body = { kind: 'correct_root_cause', incident_id: o.incident_id, service: fault.service, root_kind: expectedKinds(fault.kind)?.[0] ?? 'unknown' };
        corrected++;
        expected.push({ confidence: top?.confidence ?? 0, correct: false });
      }
      const ack = await post({ kind: 'ack', incident_id: o.incident_id });
      expect(ack.status).toBe(201);
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(201);
      const stored = ((await r.json()) as { recorded: { kind: string; service: string | null; actor: string; source: string } }).recorded;
      expect(stored).toMatchObject({ actor: 'writer', source: 'http-api' });
      // A confirmation is stored as the correction naming the published top cause.
      if (body.kind === 'confirm') expect(stored).toMatchObject({ kind: 'correct_root_cause', service: top!.service });
    }
    // The mix this world gives; if the simulator or ranker changes it, the checks below would be weaker, so say so.
    expect({ confirmed, corrected, unjudged }).toEqual({ confirmed: 4, corrected: 1, unjudged: 1 });

    // Read back over HTTP with the read-only token, newest first.
    const someId = [...world.latest.keys()][0]!;
    const got = await fetch(`${feedbackUrl}?incident=${someId}`, { headers: { authorization: `Bearer ${READER}` } });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { feedback: { kind: string }[] }).feedback.map((f) => f.kind)).toHaveLength(2);

    // Independent of eval/calibration.ts: ten bins, last one closed, ECE = Σ n_b/N |acc_b − conf_b|.
    const n = expected.length;
    const ac1 = expected.filter((e) => e.correct).length / n;
    expect(ac1).toBe(0.8);
    const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, hit: 0 }));
    for (const e of expected) {
      const b = bins[Math.min(9, Math.floor(e.confidence * 10))]!;
      b.n++;
      b.conf += e.confidence;
      b.hit += e.correct ? 1 : 0;
    }
    const ece = bins.reduce((s, b) => (b.n ? s + (b.n / n) * Math.abs(b.hit / b.n - b.conf / b.n) : s), 0);

    const jsonFile = join(world.dir, 'feedback-eval.json');
    const c = capture();
    const saved = { chdb: process.env.NIGHTSHIFT_CHDB_PATH, url: process.env.NIGHTSHIFT_CLICKHOUSE_URL, analytics: process.env.NIGHTSHIFT_ANALYTICS, level: process.env.NIGHTSHIFT_LOG_LEVEL };
    process.env.NIGHTSHIFT_CHDB_PATH = world.chdb;
    process.env.NIGHTSHIFT_LOG_LEVEL = 'warn';
    delete process.env.NIGHTSHIFT_CLICKHOUSE_URL;
    delete process.env.NIGHTSHIFT_ANALYTICS;
    let code: number;
    try {
      code = await main(['eval', '--feedback', '--json', jsonFile], c.io);
    } finally {
      for (const [k, v] of Object.entries({ NIGHTSHIFT_CHDB_PATH: saved.chdb, NIGHTSHIFT_CLICKHOUSE_URL: saved.url, NIGHTSHIFT_ANALYTICS: saved.analytics, NIGHTSHIFT_LOG_LEVEL: saved.level })) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as { incidents_with_feedback: number; judged: number; ac1: number; ece: number; reliability: { count: number }[] };
    expect(report.incidents_with_feedback).toBe(confirmed + corrected + unjudged);
    expect(report.judged).toBe(n);
    expect(report.ac1).toBeCloseTo(ac1, 12);
    expect(report.ece).toBeCloseTo(ece, 12);
    expect(report.reliability.map((b) => b.count)).toEqual(bins.map((b) => b.n));
    expect(c.out()).toContain(`AC@1 ${ac1.toFixed(3)}`);
    expect(c.out()).toContain(`ECE ${ece.toFixed(3)}`);
  }, 240_000);
});
