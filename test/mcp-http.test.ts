import { rmSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/log.js';
import { startOpsServer, type OpsServer } from '../core/ops.js';
import { KnowledgeConfig, loadKnowledgeBase } from '../reasoning/rag/kb.js';
import { createChdbClickHouse, type ClickHouseLike } from '../sinks/clickhouse/client.js';
import { migrate } from '../sinks/clickhouse/migrate.js';
import { contextOf, type McpContext } from '../mcp/context.js';
import { mcpHttpHandler } from '../mcp/http.js';
import { startMcpHttpServer, type McpHttpServer } from '../mcp/listen.js';
import { tokenFixture, type TokenFixture } from './helpers/auth.js';
import { payload, replayWorld, TOOL_NAMES, type McpWorld } from './helpers/mcp.js';

/**
 * MCP over streamable HTTP with the SDK's own client, against a real server on 127.0.0.1 over a replayed world in
 * chdb, behind bearer tokens: a write token, and a read-only one that may read but not record feedback.
 */
const WRITER = 'writer-token-0123456789';
const READER = 'reader-token-0123456789';
let world: McpWorld;
let ch: ClickHouseLike;
let ctx: McpContext;
let tokens: TokenFixture;
let server: McpHttpServer;
const clients: Client[] = [];

async function connect(url: string, token?: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
  const client = new Client({ name: 'nightshift-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  world = replayWorld('ns-mcp-http-');
  ch = await createChdbClickHouse(world.chdb);
  await migrate(ch, 'nightshift');
  ctx = contextOf(ch, 'nightshift', loadKnowledgeBase(KnowledgeConfig.parse({})), `chdb at ${world.chdb}`);
  tokens = await tokenFixture({ writer: WRITER, reader: READER }, silentLogger(), { perSecond: 0, burst: 1 }, ['reader']);
  server = await startMcpHttpServer({ ctx, port: 0, host: '127.0.0.1', auth: tokens.auth });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await server?.close();
  await tokens?.close();
  await ctx?.close();
  if (world) rmSync(world.dir, { recursive: true, force: true });
});

describe('MCP over streamable HTTP', () => {
  it('refuses requests without a valid token with 401, before any MCP handling', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(server.url, { method: 'POST', headers, body: JSON.stringify(init) });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await fetch(server.url, { method: 'POST', headers: { ...headers, authorization: 'Bearer not-a-valid-token-at-all' }, body: JSON.stringify(init) });
    expect(wrong.status).toBe(401);
    await expect(connect(server.url)).rejects.toThrow();
    // The control: the same request with a token is answered.
    const ok = await fetch(server.url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${WRITER}` }, body: JSON.stringify(init) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { result: { serverInfo: { name: string } } }).result.serverInfo.name).toBe('nightshift');
  });

  it('lists the tools, each described for an agent with its limits', async () => {
    const c = await connect(server.url, WRITER);
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
    for (const t of tools) {
      expect(t.description?.length ?? 0, t.name).toBeGreaterThan(120);
      expect(t.inputSchema.type).toBe('object');
    }
    const list = tools.find((t) => t.name === 'list_incidents')!;
    expect(list.description).toMatch(/max 100/);
    expect(list.annotations?.readOnlyHint).toBe(true);
    expect(tools.find((t) => t.name === 'record_feedback')!.annotations?.readOnlyHint).toBe(false);
  });

  it('lists and searches the replayed incidents as the pipeline wrote them', async () => {
    const c = await connect(server.url, WRITER);
    const listed = payload(await c.callTool({ name: 'list_incidents', arguments: { limit: 100 } }));
    expect(listed.isError, listed.text).toBe(false);
    const incidents = listed.data!.incidents as Array<{ incident_id: string; status: string; top_service: string | null; services: string[] }>;
    expect(world.latest.size).toBeGreaterThan(0);
    expect(new Set(incidents.map((i) => i.incident_id))).toEqual(new Set(world.latest.keys()));
    for (const i of incidents) {
      const o = world.latest.get(i.incident_id)!;
      expect(i.status).toBe(o.status);
      expect(i.top_service).toBe(o.root_causes[0]?.service ?? null);
      expect([...i.services].sort()).toEqual([...o.services].sort());
    }
    const one = payload(await c.callTool({ name: 'list_incidents', arguments: { limit: 1 } }));
    expect((one.data!.incidents as unknown[]).length).toBe(1);
    expect(one.data!.truncated).toBe(world.latest.size > 1);

    const target = [...world.latest.values()].find((o) => o.root_causes.length > 0)!;
    const byService = payload(await c.callTool({ name: 'list_incidents', arguments: { service: target.root_causes[0]!.service } }));
    expect((byService.data!.incidents as Array<{ incident_id: string }>).map((i) => i.incident_id)).toContain(target.incident_id);
    const found = payload(await c.callTool({ name: 'search_incidents', arguments: { text: target.root_causes[0]!.summary.slice(0, 40) } }));
    expect((found.data!.incidents as Array<{ incident_id: string; hits: number }>).map((i) => i.incident_id)).toContain(target.incident_id);
    const nothing = payload(await c.callTool({ name: 'search_incidents', arguments: { text: 'zz-no-such-text-zz' } }));
    expect(nothing.data!.incidents).toEqual([]);
  });

  it('gets an incident with its root causes and evidence resolved to text, marked untrusted', async () => {
    const c = await connect(server.url, WRITER);
    const target = [...world.latest.values()].find((o) => o.root_causes.length > 0)!;
    const got = payload(await c.callTool({ name: 'get_incident', arguments: { incident_id: target.incident_id, max_signals: 5 } }));
    expect(got.isError, got.text).toBe(false);
    expect(got.data!.data_notice).toMatch(/untrusted_text.*data/);
    const causes = got.data!.root_causes as Array<{ rank: number; service: string; kind: string; untrusted_text: string; evidence: Array<{ id: string; resolved_as: string; untrusted_text?: string }> }>;
    expect(causes.map((x) => [x.rank, x.service, x.kind, x.untrusted_text])).toEqual(target.root_causes.map((x) => [x.rank, x.service, x.kind, x.summary]));
    expect(causes.map((x) => x.evidence.map((e) => e.id))).toEqual(target.root_causes.map((x) => x.evidence));
    const resolved = causes.flatMap((x) => x.evidence).filter((e) => e.resolved_as !== 'unresolved');
    expect(resolved.length).toBeGreaterThan(0);
    for (const e of resolved) expect(e.untrusted_text?.length ?? 0).toBeGreaterThan(5);
    // An opaque id is never the text: the text names what it is about.
    expect(resolved.some((e) => e.resolved_as === 'log_template' || /[a-z]{3,} /.test(e.untrusted_text ?? ''))).toBe(true);
    const signals = got.data!.signals as Array<{ untrusted_text: string; service: string }>;
    expect(signals.length).toBeGreaterThan(0);
    expect(signals.length).toBeLessThanOrEqual(5);
    expect(got.data!.runbooks).toEqual(expect.arrayContaining([expect.stringMatching(/^runbook:\/\//)]));
  });

  it('finds similar incidents with a score and reasons', async () => {
    const c = await connect(server.url, WRITER);
    const ids = [...world.latest.keys()];
    const r = payload(await c.callTool({ name: 'similar_incidents', arguments: { incident_id: ids[0]!, include_later: true, limit: 20 } }));
    expect(r.isError, r.text).toBe(false);
    const sim = r.data!.similar as Array<{ incident_id: string; score: number; reasons: string[] }>;
    expect(r.data!.compared).toBe(world.latest.size);
    for (const s of sim) {
      expect(s.incident_id).not.toBe(ids[0]);
      expect(s.score).toBeGreaterThan(0);
      expect(s.reasons.length).toBeGreaterThan(0);
    }
    expect(sim.map((s) => s.score)).toEqual([...sim.map((s) => s.score)].sort((a, b) => b - a));
  });

  it('runs a saved trend query with the same answer as SQL on the store', async () => {
    const c = await connect(server.url, WRITER);
    const r = payload(await c.callTool({ name: 'run_saved_query', arguments: { name: 'top_root_causes' } }));
    expect(r.isError, r.text).toBe(false);
    const direct = await ch.query<Record<string, unknown>>('SELECT * FROM nightshift.v_top_root_causes');
    expect(JSON.parse(JSON.stringify(r.data!.rows))).toEqual(JSON.parse(JSON.stringify(direct)));
    expect((r.data!.rows as unknown[]).length).toBeGreaterThan(0);
    const bad = payload(await c.callTool({ name: 'run_saved_query', arguments: { name: 'drop_everything' } }));
    expect(bad.isError).toBe(true);
  });

  it('acknowledges and corrects the root cause; reads it back through MCP and from the feedback table', async () => {
    const c = await connect(server.url, WRITER);
    const target = [...world.latest.values()].find((o) => o.root_causes.length > 0)!;
    const ack = payload(await c.callTool({ name: 'acknowledge_incident', arguments: { incident_id: target.incident_id, note: 'on it' } }));
    expect(ack.isError, ack.text).toBe(false);
    const fix = payload(
      await c.callTool({ name: 'record_feedback', arguments: { incident_id: target.incident_id, kind: 'correct_root_cause', service: 'ledger-api', root_kind: 'saturation', note: 'disk full on ledger' } }),
    );
    expect(fix.isError, fix.text).toBe(false);
    expect(fix.data!.recorded).toMatchObject({ kind: 'correct_root_cause', service: 'ledger-api', root_kind: 'saturation', actor: 'writer', source: 'mcp-http' });

    const back = payload(await c.callTool({ name: 'list_feedback', arguments: { incident_id: target.incident_id } }));
    const rows = back.data!.feedback as Array<{ kind: string; actor: string; note: { untrusted_text: string } | null }>;
    expect(rows.map((f) => f.kind).sort()).toEqual(['ack', 'correct_root_cause']);
    expect(rows.every((f) => f.actor === 'writer')).toBe(true);
    expect(rows.find((f) => f.kind === 'ack')!.note).toEqual({ untrusted_text: 'on it' });
    const inIncident = payload(await c.callTool({ name: 'get_incident', arguments: { incident_id: target.incident_id } }));
    expect((inIncident.data!.feedback as unknown[]).length).toBe(2);

    const table = await ch.query<Record<string, unknown>>(
      `SELECT kind, service, root_kind, note, actor, source FROM nightshift.feedback FINAL WHERE incident_id = '${target.incident_id}' ORDER BY toString(kind)`,
    );
    expect(table).toEqual([
      { kind: 'ack', service: null, root_kind: null, note: 'on it', actor: 'writer', source: 'mcp-http' },
      { kind: 'correct_root_cause', service: 'ledger-api', root_kind: 'saturation', note: 'disk full on ledger', actor: 'writer', source: 'mcp-http' },
    ]);
  });

  it('gives clear tool errors for bad input, unknown incidents and incomplete corrections, and stays up', async () => {
    const c = await connect(server.url, WRITER);
    const tooMany = payload(await c.callTool({ name: 'list_incidents', arguments: { limit: 100_000 } }));
    expect(tooMany.isError).toBe(true);
    expect(tooMany.text).toMatch(/limit/);
    const unknown = payload(await c.callTool({ name: 'get_incident', arguments: { incident_id: 'inc_0000000000000000' } }));
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/^NOT_FOUND: no incident "inc_0000000000000000"/);
    const injected = payload(await c.callTool({ name: 'get_incident', arguments: { incident_id: "x' OR 1=1 --" } }));
    expect(injected.isError).toBe(true);
    const incomplete = payload(await c.callTool({ name: 'record_feedback', arguments: { incident_id: [...world.latest.keys()][0]!, kind: 'correct_root_cause' } }));
    expect(incomplete.isError).toBe(true);
    expect(incomplete.text).toMatch(/needs service and root_kind/);
    const ghost = payload(await c.callTool({ name: 'acknowledge_incident', arguments: { incident_id: 'inc_0000000000000000' } }));
    expect(ghost.text).toMatch(/^NOT_FOUND/);
    const longNote = payload(await c.callTool({ name: 'acknowledge_incident', arguments: { incident_id: [...world.latest.keys()][0]!, note: 'x'.repeat(2001) } }));
    expect(longNote.isError).toBe(true);
    expect((await c.listTools()).tools.length).toBe(TOOL_NAMES.length);
  });

  it('a read-only token reads but may not record feedback', async () => {
    const c = await connect(server.url, READER);
    const id = [...world.latest.keys()][0]!;
    expect(payload(await c.callTool({ name: 'get_incident', arguments: { incident_id: id } })).isError).toBe(false);
    const before = await ch.query<{ n: string | number }>(`SELECT count() AS n FROM nightshift.feedback FINAL`);
    const w = payload(await c.callTool({ name: 'record_feedback', arguments: { incident_id: id, kind: 'resolve' } }));
    expect(w.isError).toBe(true);
    expect(w.text).toMatch(/^FORBIDDEN: token reader is read-only/);
    const after = await ch.query<{ n: string | number }>(`SELECT count() AS n FROM nightshift.feedback FINAL`);
    expect(Number(after[0]!.n)).toBe(Number(before[0]!.n));
  });

  it('serves the knowledge base as runbook:// resources', async () => {
    const c = await connect(server.url, READER);
    const { resources } = await c.listResources();
    expect(resources.length).toBeGreaterThan(5);
    const pg = resources.find((r) => r.uri === 'runbook://RB-ALERT-STORM-TRIAGE');
    expect(pg?.mimeType).toBe('text/markdown');
    const read = await c.readResource({ uri: 'runbook://RB-ALERT-STORM-TRIAGE' });
    const body = read.contents[0] as { text: string; mimeType: string };
    expect(body.mimeType).toBe('text/markdown');
    expect(body.text).toMatch(/^# Alert storm triage/);
    expect(body.text).toContain('Order services by first symptom time');
    await expect(c.readResource({ uri: 'runbook://NO-SUCH-DOC' })).rejects.toThrow(/no runbook/);
  });

  it('is also served at /mcp on the ops server, behind the same tokens as /metrics', async () => {
    let ops: OpsServer | null = null;
    try {
      ops = await startOpsServer({ port: 0, healthy: () => true, ready: () => true, metrics: () => '# none\n', auth: tokens.auth, mcp: mcpHttpHandler(ctx, tokens.auth) });
      const url = `http://127.0.0.1:${ops.port}/mcp`;
      expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
      const c = await connect(url, WRITER);
      expect((await c.listTools()).tools.map((t) => t.name)).toContain('get_incident');
      expect((await fetch(`http://127.0.0.1:${ops.port}/healthz`)).status).toBe(200);
    } finally {
      await ops?.close();
    }
  });
});
