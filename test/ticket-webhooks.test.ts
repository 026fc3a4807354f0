import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { MetricsRegistry } from '../core/metrics.js';
import { startOpsServer, type OpsServer } from '../core/ops.js';
import { contextOf, type McpContext } from '../mcp/context.js';
import { startMcpHttpServer, type McpHttpServer } from '../mcp/listen.js';
import { mapJira } from '../mcp/webhooks/jira.js';
import { mapPagerDuty } from '../mcp/webhooks/pagerduty.js';
import { mapServiceNow } from '../mcp/webhooks/servicenow.js';
import { pastIncidentsFromEnv, storePastIncidents } from '../mcp/past-incidents.js';
import { MAX_WEBHOOK_BODY, ticketWebhooksHandler, webhookConfigFromEnv, WebhookCounters, type WebhookConfig } from '../mcp/webhooks/index.js';
import { knowledgeBaseOf } from '../reasoning/rag/kb.js';
import { createChdbClickHouse } from '../sinks/clickhouse/client.js';
import { ClickHouseSinkConfig } from '../sinks/clickhouse/config.js';
import { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { analyticsFixture, feedFixture } from './clickhouse-fixtures.js';
import { payload } from './helpers/mcp.js';

/**
 * The inbound ticketing webhooks over real HTTP on 127.0.0.1, with vendor-shaped payloads, into a chdb store that
 * holds fixture incidents: signatures good and bad, tickets that carry no incident of ours, retried deliveries, and
 * the feedback read back from the store.
 */
const DB = 'ns_hooks';
const PD_SECRET = 'pd-signing-secret-0123456789';
const JIRA_SECRET = 'jira-webhook-secret-0123456789';
const JIRA_TOKEN = 'jira-automation-token-0123456789';
const SN_TOKEN = 'servicenow-rest-token-0123456789';
const SN_BASIC = 'nightshift-hook:servicenow-password-0123';

let dir = '';
let store: ClickHouseAnalytics;
let ctx: McpContext;
let server: McpHttpServer;
let base = '';
const counters = new WebhookCounters();
const ids: string[] = [];

const env = {
  NIGHTSHIFT_PAGERDUTY_WEBHOOK_SECRET: PD_SECRET,
  NIGHTSHIFT_JIRA_WEBHOOK_SECRET: JIRA_SECRET,
  NIGHTSHIFT_JIRA_WEBHOOK_TOKEN: JIRA_TOKEN,
  NIGHTSHIFT_JIRA_EMAIL: 'nightshift-bot@example.com',
  NIGHTSHIFT_SERVICENOW_WEBHOOK_TOKEN: SN_TOKEN,
  NIGHTSHIFT_SERVICENOW_WEBHOOK_BASIC: SN_BASIC,
  NIGHTSHIFT_SERVICENOW_USER: 'nightshift.integration',
};
let cfg: WebhookConfig;

const hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

function post(path: string, body: string, headers: Record<string, string> = {}, url = base): Promise<Response> {
  return fetch(`${url}/v1/webhooks/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

/** A PagerDuty v3 webhook body, as PagerDuty sends it for an incident Events API v2 opened with dedup_key = id. */
function pdEvent(type: string, incidentKey: string, agent: Record<string, unknown> | null = { id: 'PUSER01', type: 'user_reference', summary: 'Jane Doe', self: 'https://api.pagerduty.com/users/PUSER01', html_url: 'https://acme.pagerduty.com/users/PUSER01' }, eventId = `01${Math.random().toString(36).slice(2, 12).toUpperCase()}`) {
  return JSON.stringify({
    event: {
      id: eventId,
      event_type: type,
      resource_type: 'incident',
      occurred_at: '2024-01-02T10:00:00.000Z',
      agent,
      client: null,
      data: {
        id: 'Q1ABCDEF',
        type: 'incident',
        self: 'https://api.pagerduty.com/incidents/Q1ABCDEF',
        html_url: 'https://acme.pagerduty.com/incidents/Q1ABCDEF',
        number: 42,
        status: type === 'incident.resolved' ? 'resolved' : 'acknowledged',
        incident_key: incidentKey,
        created_at: '2024-01-02T09:50:00Z',
        title: '[nightshift error] errors in db',
        service: { id: 'PSVC01', type: 'service_reference', summary: 'nightshift' },
        assignees: [{ id: 'PUSER01', type: 'user_reference', summary: 'Jane Doe' }],
        escalation_policy: { id: 'PEP01', type: 'escalation_policy_reference', summary: 'Default' },
        teams: [],
        priority: null,
        urgency: 'high',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  });
}

/** A Jira Cloud jira:issue_updated body: a transition into Done with a resolution and a comment. */
function jiraResolved(incidentId: string | null, comment: string, opts: { user?: Record<string, unknown>; changelogId?: string; category?: string; items?: unknown[] } = {}) {
  return JSON.stringify({
    timestamp: 1704189600000,
    webhookEvent: 'jira:issue_updated',
    issue_event_type_name: 'issue_generic',
    user: opts.user ?? { accountId: '5b10ac8d82e05b22cc7d4ef5', displayName: 'Sam Ops', active: true, timeZone: 'UTC' },
    issue: {
      id: '10042',
      key: 'OPS-42',
      self: 'https://acme.atlassian.net/rest/api/2/10042',
      fields: {
        summary: '[nightshift error] errors in db',
        labels: incidentId ? ['nightshift', `nightshift-${incidentId}`] : ['manual'],
        resolution: opts.category === 'indeterminate' ? null : { id: '10000', name: 'Done', description: 'Work has been completed on this issue.' },
        status: { id: '10001', name: opts.category === 'indeterminate' ? 'In Progress' : 'Done', statusCategory: { id: 3, key: opts.category ?? 'done', name: 'Done' } },
        issuetype: { name: 'Incident' },
      },
    },
    changelog: {
      id: opts.changelogId ?? '10100',
      items: opts.items ?? [
        { field: 'resolution', fieldtype: 'jira', fieldId: 'resolution', from: null, fromString: null, to: '10000', toString: 'Done' },
        { field: 'status', fieldtype: 'jira', fieldId: 'status', from: '10000', fromString: 'In Progress', to: '10001', toString: 'Done' },
      ],
    },
    comment: { id: '10200', body: comment, author: { accountId: '5b10ac8d82e05b22cc7d4ef5', displayName: 'Sam Ops' } },
  });
}

/** The JSON the documented ServiceNow business rule posts (deploy/RUNBOOK.md). */
function snBody(correlationId: string, state: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    sys_id: '9d385017c611228701d22104cc95c371',
    number: 'INC0010001',
    state,
    correlation_id: correlationId,
    close_code: 'Solved (Permanently)',
    close_notes: 'Rolled back the connection pool change. Root cause: payments deploy',
    resolved_by: 'jane.doe',
    sys_updated_by: 'jane.doe',
    sys_updated_on: '2024-01-02 10:00:00',
    ...extra,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ns-hooks-'));
  const sink = ClickHouseSinkConfig.parse({ target: { kind: 'chdb', path: dir }, database: DB, writer: { batchRows: 200, batchDelayMs: 10 } });
  store = await ClickHouseAnalytics.open(sink, { log: silentLogger(), deadLetters: new MemoryDeadLetters() }, await createChdbClickHouse(dir));
  const fx = analyticsFixture(11, 6);
  await feedFixture(store, fx);
  ids.push(...[...new Set(fx.outputs.map((o) => o.incident_id))].sort());
  ctx = contextOf(store.client, DB, knowledgeBaseOf([]), `chdb at ${dir}`);
  cfg = webhookConfigFromEnv(env);
  server = await startMcpHttpServer({ ctx, port: 0, host: '127.0.0.1', webhooks: cfg, webhookCounters: counters, log: silentLogger() });
  base = server.url.replace(/\/mcp$/, '');
});

afterAll(async () => {
  await server?.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('PagerDuty v3 webhooks', () => {
  it('records an acknowledge and a resolve by the person named, verified by X-PagerDuty-Signature (any of several)', async () => {
    const id = ids[0]!;
    const ack = pdEvent('incident.acknowledged', id);
    const r1 = await post('pagerduty', ack, { 'x-pagerduty-signature': `v1=${hmac('old-secret-xxxxxxxxxxxx', ack)},v1=${hmac(PD_SECRET, ack)}` });
    expect(r1.status).toBe(200);
    const res = pdEvent('incident.resolved', id);
    expect((await post('pagerduty', res, { 'x-pagerduty-signature': `v1=${hmac(PD_SECRET, res)}` })).status).toBe(200);
    const rows = await ctx.feedback.list(id, 10);
    expect(rows.map((r) => r.kind).sort()).toEqual(['ack', 'resolve']);
    expect(rows.every((r) => r.source === 'pagerduty' && r.actor === 'Jane Doe')).toBe(true);
  });

  it('refuses a bad or missing signature with 401, and counts it', async () => {
    const before = counters.get('pagerduty', 'bad_signature');
    const body = pdEvent('incident.resolved', ids[1]!);
    expect((await post('pagerduty', body, { 'x-pagerduty-signature': `v1=${hmac('wrong-secret-0123456789', body)}` })).status).toBe(401);
    expect((await post('pagerduty', body)).status).toBe(401);
    // A valid signature of another body: tampering.
    expect((await post('pagerduty', body.replace('Jane', 'Mallory'), { 'x-pagerduty-signature': `v1=${hmac(PD_SECRET, body)}` })).status).toBe(401);
    expect(counters.get('pagerduty', 'bad_signature')).toBe(before + 3);
    expect(await ctx.feedback.list(ids[1]!, 10)).toEqual([]);
  });

  it('ignores with 202 and a counted reason: unknown incidents, events not mapped, and resolutions by the Events API', async () => {
    const send = (body: string) => post('pagerduty', body, { 'x-pagerduty-signature': `v1=${hmac(PD_SECRET, body)}` });
    const unknown = await send(pdEvent('incident.resolved', 'hand-made-incident'));
    expect(unknown.status).toBe(202);
    expect(await unknown.json()).toMatchObject({ ignored: 'unknown_incident' });
    expect(counters.get('pagerduty', 'ignored', 'unknown_incident')).toBe(1);
    expect(await (await send(pdEvent('incident.triggered', ids[1]!))).json()).toMatchObject({ ignored: 'event_type_not_mapped' });
    // nightshift resolving its own alert comes back as a resolve by the service: not a person's feedback.
    const auto = await send(pdEvent('incident.resolved', ids[1]!, { id: 'PSVC01', type: 'service_reference', summary: 'nightshift' }));
    expect(await auto.json()).toMatchObject({ ignored: 'not_by_a_person' });
    expect(await ctx.feedback.list(ids[1]!, 10)).toEqual([]);
  });

  it('a redelivered event (same event.id) is the same row; bad JSON is 400; a huge body 413', async () => {
    const id = ids[2]!;
    const body = pdEvent('incident.acknowledged', id, undefined, '01REDELIVERED');
    const sig = { 'x-pagerduty-signature': `v1=${hmac(PD_SECRET, body)}` };
    const a = (await (await post('pagerduty', body, sig)).json()) as { recorded: { feedback_id: string }[] };
    const b = (await (await post('pagerduty', body, sig)).json()) as { recorded: { feedback_id: string }[] };
    expect(a.recorded[0]!.feedback_id).toBe(b.recorded[0]!.feedback_id);
    expect((await ctx.feedback.all(1000)).filter((r) => r.incident_id === id)).toHaveLength(1);
    const bad = '{"event": ';
    expect((await post('pagerduty', bad, { 'x-pagerduty-signature': `v1=${hmac(PD_SECRET, bad)}` })).status).toBe(400);
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_WEBHOOK_BODY) });
    expect((await post('pagerduty', big, { 'x-pagerduty-signature': `v1=${hmac(PD_SECRET, big)}` })).status).toBe(413);
    expect((await fetch(`${base}/v1/webhooks/pagerduty`)).status).toBe(405);
  });
});

describe('Jira Cloud webhooks', () => {
  it('records a resolution with its comment, and the root cause it names, verified by X-Hub-Signature', async () => {
    const id = ids[3]!;
    const body = jiraResolved(id, 'Fixed the pool. root cause: db saturation');
    const r = await post('jira', body, { 'x-hub-signature': `sha256=${hmac(JIRA_SECRET, body)}` });
    expect(r.status).toBe(200);
    const rows = await ctx.feedback.list(id, 10);
    expect(rows.map((x) => x.kind).sort()).toEqual(['correct_root_cause', 'resolve']);
    const resolve = rows.find((x) => x.kind === 'resolve')!;
    expect(resolve).toMatchObject({ source: 'jira', actor: 'Sam Ops', note: 'resolution: Done\nFixed the pool. root cause: db saturation' });
    expect(rows.find((x) => x.kind === 'correct_root_cause')).toMatchObject({ service: 'db', root_kind: 'saturation', source: 'jira' });
  });

  it('accepts the Automation bearer token, records a move to In Progress as ack, ignores edits, hand-made issues and its own account', async () => {
    const id = ids[4]!;
    const prog = jiraResolved(id, 'looking', { category: 'indeterminate', changelogId: '10300', items: [{ field: 'status', from: '10000', fromString: 'To Do', to: '3', toString: 'In Progress' }] });
    expect((await post('jira', prog, { authorization: `Bearer ${JIRA_TOKEN}` })).status).toBe(200);
    expect((await ctx.feedback.list(id, 10)).map((x) => x.kind)).toEqual(['ack']);
    const edit = jiraResolved(id, 'x', { items: [{ field: 'summary', toString: 'new title' }], changelogId: '10301' });
    expect(await (await post('jira', edit, { authorization: `Bearer ${JIRA_TOKEN}` })).json()).toMatchObject({ ignored: 'no_state_change' });
    const manual = jiraResolved(null, 'x');
    expect(await (await post('jira', manual, { authorization: `Bearer ${JIRA_TOKEN}` })).json()).toMatchObject({ ignored: 'no_nightshift_label' });
    const self = jiraResolved(id, 'resolved by nightshift', { user: { accountId: 'bot', emailAddress: 'nightshift-bot@example.com', displayName: 'nightshift' } });
    expect(await (await post('jira', self, { authorization: `Bearer ${JIRA_TOKEN}` })).json()).toMatchObject({ ignored: 'by_nightshift' });
    expect((await ctx.feedback.list(id, 10)).map((x) => x.kind)).toEqual(['ack']);
  });

  it('401 for a wrong signature or token', async () => {
    const body = jiraResolved(ids[5]!, 'x');
    expect((await post('jira', body, { 'x-hub-signature': `sha256=${hmac('nope-nope-nope-nope', body)}` })).status).toBe(401);
    expect((await post('jira', body, { authorization: `Bearer ${JIRA_TOKEN}x` })).status).toBe(401);
    expect((await post('jira', body, { 'x-hub-signature': `sha1=${hmac(JIRA_SECRET, body)}` })).status).toBe(401);
    expect(counters.get('jira', 'bad_signature')).toBe(3);
  });
});

describe('ServiceNow business-rule REST message', () => {
  it('records state 6 as resolve with close notes and the root cause, by bearer token or basic auth', async () => {
    const id = ids[5]!;
    const r = await post('servicenow', snBody(id, '6'), { authorization: `Bearer ${SN_TOKEN}` });
    expect(r.status).toBe(200);
    const rows = await ctx.feedback.list(id, 10);
    expect(rows.map((x) => x.kind).sort()).toEqual(['correct_root_cause', 'resolve']);
    expect(rows.find((x) => x.kind === 'resolve')).toMatchObject({ source: 'servicenow', actor: 'jane.doe', note: 'close code: Solved (Permanently)\nRolled back the connection pool change. Root cause: payments deploy' });
    expect(rows.find((x) => x.kind === 'correct_root_cause')).toMatchObject({ service: 'payments', root_kind: 'deploy' });
    // Closing it (state 7) is another change, recorded; the same delivery twice is one row.
    const basic = { authorization: `Basic ${Buffer.from(SN_BASIC).toString('base64')}` };
    const closed = snBody(id, '7', { close_notes: 'closed', sys_updated_on: '2024-01-03 10:00:00' });
    expect((await post('servicenow', closed, basic)).status).toBe(200);
    expect((await post('servicenow', closed, basic)).status).toBe(200);
    expect((await ctx.feedback.all(1000)).filter((x) => x.incident_id === id)).toHaveLength(3);
  });

  it('ignores states it does not map, tickets without our correlation id, unknown incidents and its own updates; 401 without credentials', async () => {
    const id = ids[1]!;
    const auth = { authorization: `Bearer ${SN_TOKEN}` };
    expect(await (await post('servicenow', snBody(id, '3'), auth)).json()).toMatchObject({ ignored: 'state_not_mapped' });
    expect(await (await post('servicenow', snBody('', '6'), auth)).json()).toMatchObject({ ignored: 'no_correlation_id' });
    expect(await (await post('servicenow', snBody('INC-by-hand', '6'), auth)).json()).toMatchObject({ ignored: 'unknown_incident' });
    expect(await (await post('servicenow', snBody(id, '6', { sys_updated_by: 'nightshift.integration' }), auth)).json()).toMatchObject({ ignored: 'by_nightshift' });
    expect((await post('servicenow', snBody(id, '6'))).status).toBe(401);
    expect((await post('servicenow', snBody(id, '6'), { authorization: 'Basic ' + Buffer.from('nightshift-hook:wrong').toString('base64') })).status).toBe(401);
    expect(await ctx.feedback.list(id, 10)).toEqual([]);
  });
});

describe('serving and configuration', () => {
  it('is served on the ops server too, and counts deliveries as a Prometheus counter', async () => {
    const reg = new MetricsRegistry();
    const c = new WebhookCounters();
    c.registerMetrics(reg);
    const ops: OpsServer = await startOpsServer({ port: 0, healthy: () => true, ready: () => true, metrics: () => reg.render(), webhooks: ticketWebhooksHandler(ctx, cfg, { counters: c }) });
    try {
      const url = `http://127.0.0.1:${ops.port}`;
      const body = snBody(ids[0]!, '2');
      expect((await post('servicenow', body, { authorization: `Bearer ${SN_TOKEN}` }, url)).status).toBe(200);
      expect((await post('servicenow', body, {}, url)).status).toBe(401);
      const text = reg.render();
      expect(text).toContain('nightshift_ticket_webhooks_total{outcome="recorded",reason="",system="servicenow"} 1');
      expect(text).toContain('nightshift_ticket_webhooks_total{outcome="bad_signature",reason="",system="servicenow"} 1');
      expect((await fetch(`${url}/v1/webhooks/nosuch`, { method: 'POST' })).status).toBe(404);
    } finally {
      await ops.close();
    }
  });

  it('an unconfigured system answers 404; secrets come from env or _FILE and must be long enough', async () => {
    const s2 = await startMcpHttpServer({ ctx, port: 0, host: '127.0.0.1', webhooks: {} });
    try {
      expect((await post('pagerduty', '{}', {}, s2.url.replace(/\/mcp$/, ''))).status).toBe(404);
    } finally {
      await s2.close();
    }
    const f = join(dir, 'pd-secret');
    writeFileSync(f, `${PD_SECRET}\n`);
    expect(webhookConfigFromEnv({ NIGHTSHIFT_PAGERDUTY_WEBHOOK_SECRET_FILE: f }).pagerduty).toEqual({ secret: PD_SECRET });
    expect(() => webhookConfigFromEnv({ NIGHTSHIFT_JIRA_WEBHOOK_SECRET: 'short' })).toThrow(/at least 16/);
    expect(() => webhookConfigFromEnv({ NIGHTSHIFT_SERVICENOW_WEBHOOK_BASIC: 'no-colon-in-this-secret' })).toThrow(/user:password/);
    expect(webhookConfigFromEnv({})).toEqual({});
  });

  it('mappers read the vendor fields defensively', () => {
    expect(mapPagerDuty(null)).toEqual({ kind: 'ignored', reason: 'not_a_v3_event' });
    expect(mapPagerDuty({ event: { event_type: 'incident.resolved', data: { type: 'incident' } } })).toEqual({ kind: 'ignored', reason: 'no_incident_key' });
    expect(mapJira([], cfg.jira!)).toEqual({ kind: 'ignored', reason: 'not_a_jira_event' });
    expect(mapJira({ webhookEvent: 'comment_created' }, cfg.jira!)).toEqual({ kind: 'ignored', reason: 'event_type_not_mapped' });
    expect(mapServiceNow({ state: 6 }, cfg.servicenow!)).toEqual({ kind: 'ignored', reason: 'no_sys_id_or_state' });
    const m = mapServiceNow({ sys_id: 'x', state: 6, correlation_id: 'inc_1', close_notes: 'root_cause = auth-api errors' }, cfg.servicenow!);
    expect(m.kind === 'event' && m.event.rootCause).toEqual({ service: 'auth-api', kind: 'errors' });
  });
});

describe('a root cause confirmed in a ticket', () => {
  it('is what similar_incidents compares that incident by, marked confirmed_root_cause', async () => {
    // ids[3] was resolved in Jira naming "db saturation", ids[5] in ServiceNow naming "payments deploy" (above); every other incident that finds it similar sees that.
    const client = new Client({ name: 'nightshift-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    try {
      const seen: Array<Record<string, unknown>> = [];
      const others: Array<Record<string, unknown>> = [];
      for (const id of ids.filter((x) => x !== ids[3])) {
        const r = payload(await client.callTool({ name: 'similar_incidents', arguments: { incident_id: id, include_later: true, limit: 20 } }));
        expect(r.isError).toBe(false);
        for (const s of r.data!.similar as Array<Record<string, unknown>>) (s.incident_id === ids[3] ? seen : others).push(s);
      }
      expect(seen.length).toBeGreaterThan(0);
      for (const s of seen) expect(s.confirmed_root_cause).toEqual({ service: 'db', kind: 'saturation' });
      // ids[5] got "payments deploy" from ServiceNow; nothing else was corrected.
      for (const s of others) expect(s.confirmed_root_cause).toEqual(s.incident_id === ids[5] ? { service: 'payments', kind: 'deploy' } : null);
    } finally {
      await client.close();
    }
  });

  it('are the LLM\'s past-incident knowledge, read from the same store', async () => {
    const docs = await storePastIncidents(ctx.feedback, ctx.reader!, 'test').load();
    expect(docs.map((d) => d.source).sort()).toEqual([`feedback:${ids[3]}`, `feedback:${ids[5]}`].sort());
    const jira = docs.find((d) => d.source === `feedback:${ids[3]}`)!;
    expect(jira).toMatchObject({ type: 'incident', kinds: ['saturation'], title: 'Past incident (confirmed by feedback): saturation in db' });
    expect(jira.body).toContain('(feedback from «jira» by «Sam Ops»');
    // The top cause's evidence, resolved to text from the store.
    expect(jira.body).toMatch(/Evidence then: «/);
    expect((await storePastIncidents(ctx.feedback, ctx.reader!, 'test', 1).load())).toHaveLength(1);
    expect(pastIncidentsFromEnv({ NIGHTSHIFT_LLM_PAST_INCIDENTS: 'off' }, store.client, DB, 'x')).toBeNull();
    expect(pastIncidentsFromEnv({ NIGHTSHIFT_LLM_PAST_INCIDENTS_REFRESH_S: '60' }, store.client, DB, 'x')?.refreshMs).toBe(60_000);
    expect(() => pastIncidentsFromEnv({ NIGHTSHIFT_LLM_PAST_INCIDENTS: 'maybe' }, store.client, DB, 'x')).toThrow(/on or off/);
  });
});
