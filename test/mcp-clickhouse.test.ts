import { rmSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/log.js';
import { startOpsServer, type OpsServer } from '../core/ops.js';
import { createHttpClickHouse, type ClickHouseLike } from '../sinks/clickhouse/client.js';
import { opsMcpFromEnv, type OpsMcp } from '../mcp/ops.js';
import { tokenFixture, type TokenFixture } from './helpers/auth.js';
import { payload, replayWorld, type McpWorld } from './helpers/mcp.js';
import { clickhouseClean, clickhouseUp } from './clickhouse-server.js';

/**
 * The same tools on Debian's ClickHouse 18.16 server (the oldest engine the SQL must run on), mounted the way
 * `nightshift run` mounts them: NIGHTSHIFT_OPS_MCP=on with NIGHTSHIFT_CLICKHOUSE_URL, at /mcp on the ops server.
 */
const SERVER = 'mcp';
const DB = 'ns_mcp';
const TOKEN = 'ops-writer-token-0123456789';
let url = '';
let world: McpWorld;
let ch: ClickHouseLike;
let tokens: TokenFixture;
let mcp: OpsMcp | null = null;
let ops: OpsServer;
let client: Client;

beforeAll(async () => {
  url = clickhouseUp(SERVER);
  ch = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  await ch.command(`DROP DATABASE IF EXISTS ${DB}`);
  const env = { NIGHTSHIFT_CLICKHOUSE_URL: url, NIGHTSHIFT_CLICKHOUSE_DATABASE: DB };
  world = replayWorld('ns-mcp-ch-', env);
  tokens = await tokenFixture({ writer: TOKEN }, silentLogger());
  mcp = await opsMcpFromEnv({ ...env, NIGHTSHIFT_OPS_MCP: 'on' }, tokens.auth, silentLogger());
  ops = await startOpsServer({ port: 0, healthy: () => true, ready: () => true, metrics: () => '', auth: tokens.auth, mcp: mcp!.handler });
  client = new Client({ name: 'nightshift-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${ops.port}/mcp`), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
});

afterAll(async () => {
  await client?.close();
  await ops?.close();
  await mcp?.close();
  await tokens?.close();
  await ch?.close();
  clickhouseClean(SERVER);
  if (world) rmSync(world.dir, { recursive: true, force: true });
});

describe('MCP on ClickHouse 18.16, at /mcp on the ops server', () => {
  it('is off unless asked for, and refuses to start without a ClickHouse server', async () => {
    expect(await opsMcpFromEnv({ NIGHTSHIFT_CLICKHOUSE_URL: url }, undefined, silentLogger())).toBeNull();
    await expect(opsMcpFromEnv({ NIGHTSHIFT_OPS_MCP: 'on' }, undefined, silentLogger())).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(opsMcpFromEnv({ NIGHTSHIFT_OPS_MCP: 'maybe', NIGHTSHIFT_CLICKHOUSE_URL: url }, undefined, silentLogger())).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(mcp?.description).toBe(`ClickHouse at ${url} (database ${DB})`);
  });

  it('lists, searches, gets with evidence text, finds similar, runs a saved query and records feedback', async () => {
    const listed = payload(await client.callTool({ name: 'list_incidents', arguments: { status: 'resolved' } }));
    expect(listed.isError, listed.text).toBe(false);
    const resolved = [...world.latest.values()].filter((o) => o.status === 'resolved').map((o) => o.incident_id);
    expect((listed.data!.incidents as Array<{ incident_id: string }>).map((i) => i.incident_id).sort()).toEqual(resolved.sort());

    const target = [...world.latest.values()].find((o) => o.root_causes.length > 0)!;
    const found = payload(await client.callTool({ name: 'search_incidents', arguments: { text: target.root_causes[0]!.service } }));
    expect(found.isError, found.text).toBe(false);
    expect((found.data!.incidents as Array<{ incident_id: string }>).map((i) => i.incident_id)).toContain(target.incident_id);

    const got = payload(await client.callTool({ name: 'get_incident', arguments: { incident_id: target.incident_id } }));
    expect(got.isError, got.text).toBe(false);
    const evidence = (got.data!.root_causes as Array<{ evidence: Array<{ resolved_as: string; untrusted_text?: string }> }>).flatMap((c) => c.evidence);
    expect(evidence.filter((e) => e.resolved_as !== 'unresolved' && (e.untrusted_text ?? '').length > 5).length).toBeGreaterThan(0);

    const sim = payload(await client.callTool({ name: 'similar_incidents', arguments: { incident_id: target.incident_id, include_later: true } }));
    expect(sim.isError, sim.text).toBe(false);
    const q = payload(await client.callTool({ name: 'run_saved_query', arguments: { name: 'incidents_per_service_week' } }));
    expect(q.isError, q.text).toBe(false);
    expect((q.data!.rows as unknown[]).length).toBeGreaterThan(0);

    const fix = payload(await client.callTool({ name: 'record_feedback', arguments: { incident_id: target.incident_id, kind: 'correct_root_cause', service: 'ledger-api', root_kind: 'errors' } }));
    expect(fix.isError, fix.text).toBe(false);
    const rows = await ch.query<Record<string, unknown>>(`SELECT kind, service, root_kind, actor, source FROM ${DB}.feedback FINAL WHERE incident_id = '${target.incident_id}'`);
    expect(rows).toEqual([{ kind: 'correct_root_cause', service: 'ledger-api', root_kind: 'errors', actor: 'writer', source: 'mcp-http' }]);
  });
});
