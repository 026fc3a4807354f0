import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { silentLogger } from '../core/log.js';
import { openMcpContext, type McpContext } from '../mcp/context.js';
import { createHttpClickHouse, type ClickHouseLike } from '../sinks/clickhouse/client.js';
import type { IncidentDetail } from '../ui/detail.js';
import { renderDetailText } from '../ui/text.js';
import { startUiServer, type UiServer } from '../ui/server.js';
import { tokenFixture, type TokenFixture } from './helpers/auth.js';
import { capture } from './helpers/cli.js';
import { replayWorld, type McpWorld } from './helpers/mcp.js';
import { clickhouseClean, clickhouseUp } from './clickhouse-server.js';

/**
 * The view's JSON API and `nightshift show` on Debian's ClickHouse 18.16 (the oldest engine its SQL must run on),
 * with bearer tokens: what the page reads, who may read it, and who may write feedback through it.
 */
const SERVER = 'ui';
const DB = 'ns_ui';
const WRITER = 'ui-writer-token-0123456789abcdef';
const VIEWER = 'ui-viewer-token-0123456789abcdef';
let url = '';
let env: Record<string, string>;
let world: McpWorld;
let ch: ClickHouseLike;
let ctx: McpContext;
let tokens: TokenFixture;
let srv: UiServer;

const get = (path: string, token?: string) => fetch(`${srv.url}${path.replace(/^\//, '')}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  url = clickhouseUp(SERVER);
  ch = createHttpClickHouse({ kind: 'http', url, username: 'default', password: '' }, { requestTimeoutMs: 20_000 });
  await ch.command(`DROP DATABASE IF EXISTS ${DB}`);
  env = { NIGHTSHIFT_CLICKHOUSE_URL: url, NIGHTSHIFT_CLICKHOUSE_DATABASE: DB };
  world = replayWorld('ns-ui-ch-', env);
  tokens = await tokenFixture({ writer: WRITER, viewer: VIEWER }, silentLogger(), undefined, ['viewer']);
  ctx = await openMcpContext(env, silentLogger());
  srv = await startUiServer({ ctx, port: 0, auth: tokens.auth, log: silentLogger() });
}, 240_000);

afterAll(async () => {
  await srv?.close();
  await ctx?.close();
  await tokens?.close();
  await ch?.close();
  clickhouseClean(SERVER);
  if (world) rmSync(world.dir, { recursive: true, force: true });
});

describe('incident view API on ClickHouse 18.16', () => {
  it('needs a token for data but not for the page itself', async () => {
    expect((await get('/')).status).toBe(200);
    expect((await get('/assets/app.js')).status).toBe(200);
    expect((await get('/api/incidents')).status).toBe(401);
    expect((await get('/api/incidents', 'not-a-token-at-all-0000000000')).status).toBe(401);
    expect((await get('/api/incidents', VIEWER)).status).toBe(200);
    expect((await fetch(`${srv.url}api/incidents`, { method: 'POST', headers: { authorization: `Bearer ${WRITER}` } })).status).toBe(405);
  });

  it('lists every incident with its latest state, and filters by service, status and time', async () => {
    const all = (await (await get('/api/incidents?limit=100', VIEWER)).json()) as { incidents: Array<{ incident_id: string; status: string; services: string[]; opened_at: number }> };
    expect(all.incidents.map((i) => i.incident_id).sort()).toEqual([...world.latest.keys()].sort());
    for (const i of all.incidents) expect(i.status).toBe(world.latest.get(i.incident_id)!.status);
    const svc = all.incidents[0]!.services[0]!;
    const bySvc = (await (await get(`/api/incidents?service=${encodeURIComponent(svc)}`, VIEWER)).json()) as typeof all;
    expect(bySvc.incidents.map((i) => i.incident_id).sort()).toEqual([...world.latest.values()].filter((o) => o.services.includes(svc)).map((o) => o.incident_id).sort());
    const first = Math.min(...all.incidents.map((i) => i.opened_at));
    const later = (await (await get(`/api/incidents?since=${first + 1}`, VIEWER)).json()) as typeof all;
    expect(later.incidents.length).toBe(all.incidents.filter((i) => i.opened_at >= first + 1).length);
    expect((await get('/api/incidents?limit=0', VIEWER)).status).toBe(400);
    expect((await get('/api/incidents?bogus=1', VIEWER)).status).toBe(400);
  });

  it('gives one incident with its causes in order, evidence as text, timeline, topology and feedback', async () => {
    const target = [...world.latest.values()].find((o) => o.root_causes.length === 3) ?? [...world.latest.values()].find((o) => o.root_causes.length > 0)!;
    const d = (await (await get(`/api/incidents/${target.incident_id}`, VIEWER)).json()) as IncidentDetail;
    expect(d.incident.incident_id).toBe(target.incident_id);
    expect(d.title).toBe(target.title);
    expect(d.causes.map((c) => [c.rank, c.service, c.kind])).toEqual(target.root_causes.map((c) => [c.rank, c.service, c.kind]));
    const cited = target.root_causes.flatMap((c) => c.evidence);
    const shown = d.causes.flatMap((c) => c.evidence);
    expect(shown.map((e) => e.id)).toEqual(cited);
    expect(shown.filter((e) => e.type === 'unresolved')).toEqual([]);
    for (const e of shown) expect(e.text.length).toBeGreaterThan(3);
    expect(d.timeline.length).toBeGreaterThan(0);
    expect(d.timeline.map((t) => t.ts)).toEqual([...d.timeline.map((t) => t.ts)].sort((a, b) => a - b));
    expect(d.topology.nodes.find((n) => n.role === 'root')?.service).toBe(target.root_causes[0]!.service);
    expect((await get('/api/incidents/inc_nope', VIEWER)).status).toBe(404);
  });

  it('takes feedback from a writer token and refuses it from a read-only one', async () => {
    const id = [...world.latest.keys()][0]!;
    const post = (token: string) =>
      fetch(`${srv.url}v1/feedback`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'ack', incident_id: id }) });
    expect((await post(VIEWER)).status).toBe(403);
    expect((await post(WRITER)).status).toBe(201);
    const meta = (await (await get('/api/meta', VIEWER)).json()) as { can_write: boolean };
    expect(meta.can_write).toBe(false);
    expect(((await (await get('/api/meta', WRITER)).json()) as { can_write: boolean }).can_write).toBe(true);
    const d = (await (await get(`/api/incidents/${id}`, VIEWER)).json()) as IncidentDetail;
    expect(d.feedback.map((f) => [f.kind, f.actor])).toEqual([['ack', 'writer']]);
  });

  it('`nightshift show` prints the same incident in a terminal, and --json is what the API gives', async () => {
    const target = [...world.latest.values()].find((o) => o.root_causes.length > 0)!;
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const text = capture();
      expect(await main(['show', target.incident_id], text.io), text.err()).toBe(0);
      const api = (await (await get(`/api/incidents/${target.incident_id}`, VIEWER)).json()) as IncidentDetail;
      expect(text.out()).toBe(renderDetailText(api));
      expect(text.out()).toContain(`#1 ${target.root_causes[0]!.service}`);
      const json = capture();
      expect(await main(['show', target.incident_id, '--json'], json.io)).toBe(0);
      expect(JSON.parse(json.out())).toEqual(api);
      const bad = capture();
      expect(await main(['show', 'no such id'], bad.io)).toBe(2);
      const missing = capture();
      expect(await main(['show', 'inc_missing'], missing.io)).toBe(1);
      expect(missing.err()).toContain('NOT_FOUND');
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('keeps control characters in telemetry out of the terminal', () => {
    const d = {
      incident: { incident_id: 'inc_x', status: 'open', opened_at: 0, updated_at: 0, services: ['a'], top_service: 'a', top_kind: 'errors', top_confidence: 1, counts: { events: 1, alerts: 0, signals: 1 }, version: 1 },
      title: 'errors in a',
      severity: null,
      causes: [{ rank: 1, service: 'a', kind: 'errors', confidence: 1, explanation: 'x', evidence: [{ id: 'tpl_1', type: 'log_template', service: 'a', text: 'bad \u001b[2J\u001b]0;owned\u0007 line', facts: [], links: [] }] }],
      timeline: [],
      plots: [],
      topology: { nodes: [], edges: [] },
      tickets: [],
      feedback: [],
    } as unknown as IncidentDetail;
    const out = renderDetailText(d);
    expect(out).not.toContain('\u001b');
    expect(out).not.toContain('\u0007');
    expect(out).toContain('bad \\x1b[2J');
  });
});
