import { rmSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbClickHouse } from '../sinks/clickhouse/client.js';
import { payload, replayWorld, TOOL_NAMES, type McpWorld } from './helpers/mcp.js';

/**
 * `nightshift mcp` over stdio, spawned from the built CLI by the SDK's own client, on a world the built CLI replayed
 * into chdb. The feedback is then read from the feedback table by this process, after the server has exited.
 */
let world: McpWorld;
let client: Client;
let stderr = '';

beforeAll(async () => {
  world = replayWorld('ns-mcp-stdio-');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('NIGHTSHIFT_')) env[k] = v;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['bin/nightshift.js', 'mcp', '--actor', 'oncall-alice'],
    env: { ...env, NIGHTSHIFT_CHDB_PATH: world.chdb, NIGHTSHIFT_LOG_LEVEL: 'warn' },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  client = new Client({ name: 'nightshift-test', version: '1.0.0' });
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
  if (world) rmSync(world.dir, { recursive: true, force: true });
});

describe('nightshift mcp over stdio', () => {
  it('lists the tools and the runbooks', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('runbook://RB-ALERT-STORM-TRIAGE');
    expect(client.getInstructions()).toMatch(/untrusted_text/);
  });

  it('gets an incident with evidence text, records feedback, and the feedback table has it after the server exits', async () => {
    const listed = payload(await client.callTool({ name: 'list_incidents', arguments: {} }));
    expect(listed.isError, `${listed.text}\n${stderr}`).toBe(false);
    const ids = (listed.data!.incidents as Array<{ incident_id: string }>).map((i) => i.incident_id);
    expect(new Set(ids)).toEqual(new Set(world.latest.keys()));
    const target = [...world.latest.values()].find((o) => o.root_causes.length > 0)!;

    const got = payload(await client.callTool({ name: 'get_incident', arguments: { incident_id: target.incident_id } }));
    expect(got.isError, got.text).toBe(false);
    const causes = got.data!.root_causes as Array<{ untrusted_text: string; evidence: Array<{ id: string; resolved_as: string; untrusted_text?: string }> }>;
    expect(causes[0]!.untrusted_text).toBe(target.root_causes[0]!.summary);
    const texts = causes.flatMap((c) => c.evidence).filter((e) => e.resolved_as !== 'unresolved');
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.every((e) => (e.untrusted_text ?? '').length > 5 && e.untrusted_text !== e.id)).toBe(true);

    const resolve = payload(await client.callTool({ name: 'record_feedback', arguments: { incident_id: target.incident_id, kind: 'resolve', note: 'rolled back' } }));
    expect(resolve.isError, resolve.text).toBe(false);
    const fix = payload(await client.callTool({ name: 'record_feedback', arguments: { incident_id: target.incident_id, kind: 'correct_root_cause', service: target.services[0]!, root_kind: 'deploy' } }));
    expect(fix.isError, fix.text).toBe(false);
    const back = payload(await client.callTool({ name: 'list_feedback', arguments: { incident_id: target.incident_id } }));
    expect((back.data!.feedback as Array<{ kind: string }>).map((f) => f.kind).sort()).toEqual(['correct_root_cause', 'resolve']);

    await client.close();
    const ch = await createChdbClickHouse(world.chdb);
    try {
      const rows = await ch.query<Record<string, unknown>>(
        `SELECT kind, service, root_kind, note, actor, source FROM nightshift.feedback FINAL WHERE incident_id = '${target.incident_id}' ORDER BY toString(kind)`,
      );
      expect(rows).toEqual([
        { kind: 'resolve', service: null, root_kind: null, note: 'rolled back', actor: 'oncall-alice', source: 'mcp-stdio' },
        { kind: 'correct_root_cause', service: target.services[0], root_kind: 'deploy', note: null, actor: 'oncall-alice', source: 'mcp-stdio' },
      ].sort((a, b) => a.kind.localeCompare(b.kind)));
    } finally {
      await ch.close();
    }
    // Nothing but protocol on stdout means nothing but warnings (none here) on stderr.
    expect(stderr).not.toMatch(/"level":(50|60)/);
  });
});
