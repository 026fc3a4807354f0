import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NightshiftError } from '../core/errors.js';
import {
  Http,
  JiraClient,
  PagerDutyClient,
  parseTicketingConfig,
  ServiceNowClient,
  versionOf,
  WebhookClient,
  type TicketContext,
} from '../sinks/ticketing/index.js';
import { FAST_HTTP, HOOK_SECRET, JIRA_EMAIL, JIRA_TOKEN, PD_KEY, PD_TOKEN, SN_AUTH, startFakes, type Fakes } from './fakes/all.js';
import { lifecycle } from './fakes/incidents.js';

let f: Fakes;
beforeAll(async () => {
  f = await startFakes();
});
afterAll(async () => {
  await f.close();
});

const policy = parseTicketingConfig({ http: FAST_HTTP }).http;
function http(now: () => number = Date.now): { h: Http; retries: string[] } {
  const retries: string[] = [];
  return { h: new Http(policy, { fetch: globalThis.fetch, now }, { onRetry: (e, _a, d) => void retries.push(`${e.code}:${d}`) }), retries };
}
const ctx = (o = lifecycle('inc_c1')[0]!): TicketContext => ({ output: o, severity: 'error', version: versionOf(o, 'error') });
async function failure(p: Promise<unknown>): Promise<NightshiftError> {
  try {
    await p;
  } catch (e) {
    return e as NightshiftError;
  }
  throw new Error('expected a failure');
}

describe('ServiceNow client (Table API)', () => {
  const cfg = () => parseTicketingConfig({ servicenow: { url: f.sn.url, auth: { kind: 'basic', ...SN_AUTH } } }).servicenow!;

  it('creates an incident with correlation id, finds it by correlation id, adds work notes, resolves it', async () => {
    const { h } = http();
    const c = new ServiceNowClient(cfg(), h);
    const [v1, v2, , , v5] = lifecycle('inc_sn1');
    expect(await c.find('inc_sn1')).toBeNull();
    const ref = await c.open(ctx(v1));
    const rec = f.sn.records.get(ref.id)!;
    expect(rec.correlation_id).toBe('inc_sn1');
    expect(rec.short_description).toMatch(/latency in payments/);
    expect(rec.urgency).toBe('2');
    expect(rec.description).toMatch(/Incident: inc_sn1/);
    const found = await c.find('inc_sn1');
    expect(found).toEqual({ id: ref.id, display: rec.number, version: versionOf(v1!, 'error'), resolved: false });
    await c.update(found!, { ...ctx(v2), acknowledge: true });
    expect(rec.work_notes).toHaveLength(1);
    expect(rec.work_notes[0]).toMatch(/#1 db \(saturation, 60%\)/);
    expect(rec.state).toBe('2');
    const done = await c.resolve(found!, ctx(v5));
    expect(done.resolved).toBe(true);
    expect(rec.state).toBe('6');
    expect(rec.close_code).toBe('Solved (Permanently)');
    expect((await c.find('inc_sn1'))?.version).toEqual(versionOf(v5!, 'error'));
    const post = f.sn.http.requests.find((r) => r.method === 'POST')!;
    expect(post.headers['content-type']).toMatch(/application\/json/);
    expect(post.headers.authorization).toMatch(/^Basic /);
  });

  it('uses a bearer token when configured', async () => {
    const { FakeServiceNow } = await import('./fakes/servicenow.js');
    const sn = await new FakeServiceNow({ token: 'oauth-token' }).start();
    try {
      const c = new ServiceNowClient(parseTicketingConfig({ servicenow: { url: sn.url, auth: { kind: 'bearer', token: 'oauth-token' } } }).servicenow!, http().h);
      await c.open(ctx(lifecycle('inc_bearer')[0]));
      expect(sn.byCorrelation('inc_bearer')).toHaveLength(1);
    } finally {
      await sn.http.close();
    }
  });

  it('trusts only an exact correlation match in a lookup', async () => {
    const c = new ServiceNowClient(cfg(), http().h);
    f.sn.http.fail({ method: 'GET', times: 1, reply: { status: 200, body: { result: [{ sys_id: 'f'.repeat(32), correlation_id: 'somebody_else' }] } } });
    expect(await c.find('inc_nomatch')).toBeNull();
  });

  it('wrong credentials are permanent (CONFIG_INVALID), tried once', async () => {
    const c = new ServiceNowClient(parseTicketingConfig({ servicenow: { url: f.sn.url, auth: { kind: 'basic', user: 'x', password: 'y' } } }).servicenow!, http().h);
    const before = f.sn.http.requests.length;
    const e = await failure(c.find('inc_auth'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toMatch(/401/);
    expect(f.sn.http.requests.length - before).toBe(1);
  });

  it('a 429 with Retry-After is waited out, then the update succeeds once', async () => {
    const { h, retries } = http();
    const c = new ServiceNowClient(cfg(), h);
    const [v1, v2] = lifecycle('inc_sn429');
    const ref = await c.open(ctx(v1));
    f.sn.http.fail({ method: 'PATCH', times: 1, reply: { status: 429, headers: { 'Retry-After': '1' }, body: { error: { message: 'Too many requests' }, status: 'failure' } } });
    const t0 = Date.now();
    await c.update(ref, { ...ctx(v2), acknowledge: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(retries).toEqual(['RATE_LIMITED:1000']);
    expect(f.sn.records.get(ref.id)!.work_notes).toHaveLength(1);
  });

  it('an update of a deleted record is permanent (404), a create is not retried by the client (the sink looks up first)', async () => {
    const c = new ServiceNowClient(cfg(), http().h);
    const [v1, v2] = lifecycle('inc_gone');
    const ref = await c.open(ctx(v1));
    f.sn.records.delete(ref.id);
    const before = f.sn.http.requests.length;
    const e = await failure(c.update(ref, { ...ctx(v2), acknowledge: false }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(f.sn.http.requests.length - before).toBe(1);

    f.sn.http.fail({ method: 'POST', times: 1, reply: { status: 502, body: 'Bad Gateway' } });
    const e2 = await failure(c.open(ctx(lifecycle('inc_502')[0])));
    expect(e2.code).toBe('IO_ERROR');
    expect(e2.retriable).toBe(true);
    expect(f.sn.byCorrelation('inc_502')).toHaveLength(0);
  });

  it('rejects an incident id that cannot be a correlation key, without a request', async () => {
    const c = new ServiceNowClient(cfg(), http().h);
    const before = f.sn.http.requests.length;
    const e = await failure(c.find('inc^ORcorrelation_id!=x'));
    expect(e.code).toBe('SCHEMA_MISMATCH');
    expect(f.sn.http.requests.length).toBe(before);
  });
});

describe('Jira client (REST v3)', () => {
  const cfg = (over: Record<string, unknown> = {}) =>
    parseTicketingConfig({ jira: { url: f.jira.url, email: JIRA_EMAIL, token: JIRA_TOKEN, project: 'OPS', acknowledgeTransition: 'In Progress', ...over } }).jira!;

  it('creates an issue with labels, ADF and a version property; finds it by label; comments; transitions to Done', async () => {
    const c = new JiraClient(cfg(), http().h);
    const [v1, v2, , , v5] = lifecycle('inc_j1');
    expect(await c.find('inc_j1')).toBeNull();
    const ref = await c.open(ctx(v1));
    const issue = f.jira.issues.get(ref.id)!;
    expect(issue.labels).toEqual(['nightshift', 'nightshift-inc_j1']);
    expect(issue.issuetype).toBe('Task');
    expect(issue.summary).toMatch(/\[nightshift error\]/);
    const found = await c.find('inc_j1');
    expect(found).toEqual({ id: ref.id, display: ref.id, version: versionOf(v1!, 'error'), resolved: false });
    await c.update(found!, { ...ctx(v2), acknowledge: true });
    expect(issue.comments).toHaveLength(1);
    expect(f.jira.statusName(issue)).toBe('In Progress');
    expect((await c.find('inc_j1'))?.version).toEqual(versionOf(v2!, 'error'));
    const done = await c.resolve(found!, ctx(v5));
    expect(done.resolved).toBe(true);
    expect(f.jira.statusName(issue)).toBe('Done');
    expect(issue.comments).toHaveLength(2);
    expect(await c.find('inc_j1')).toMatchObject({ resolved: true, version: versionOf(v5!, 'error') });
  });

  it('retries a 503 on a comment without repeating finished steps', async () => {
    const { h, retries } = http();
    const c = new JiraClient(cfg(), h);
    const [v1, v2] = lifecycle('inc_j503');
    const ref = await c.open(ctx(v1));
    f.jira.http.fail({ method: 'POST', path: /\/comment$/, times: 2, reply: { status: 503, body: 'Service Unavailable' } });
    await c.update(ref, { ...ctx(v2), acknowledge: false });
    expect(retries).toHaveLength(2);
    expect(f.jira.issues.get(ref.id)!.comments).toHaveLength(1);
  });

  it('an unknown project or issue type is a permanent SCHEMA_MISMATCH with Jira\'s message', async () => {
    const c = new JiraClient(cfg({ project: 'NOPE', issueType: 'Story' }), http().h);
    const e = await failure(c.open(ctx(lifecycle('inc_jbad')[0])));
    expect(e.code).toBe('SCHEMA_MISMATCH');
    expect(e.message).toMatch(/valid project is required/);
    expect(e.message).toMatch(/valid issue type/);
  });
});

describe('PagerDuty client (Events API v2)', () => {
  const cfg = (apiToken: string | null = PD_TOKEN) =>
    parseTicketingConfig({ pagerduty: { routingKey: PD_KEY, url: f.pd.url, apiUrl: f.pd.url, ...(apiToken ? { apiToken } : {}) } }).pagerduty!;

  it('triggers, re-triggers into the same incident, acknowledges and resolves by dedup_key', async () => {
    const c = new PagerDutyClient(cfg(), http().h);
    const [v1, v2, , , v5] = lifecycle('inc_pd1');
    expect(await c.find('inc_pd1')).toBeNull();
    const ref = await c.open(ctx(v1));
    await c.update(ref, { ...ctx(v2), acknowledge: true });
    expect(await c.find('inc_pd1')).toMatchObject({ id: 'inc_pd1', resolved: false, version: null });
    await c.resolve(ref, ctx(v5));
    const incs = f.pd.byKey('inc_pd1');
    expect(incs).toHaveLength(1);
    expect(incs[0]!.log).toEqual(['trigger', 'trigger', 'acknowledge', 'resolve']);
    expect(incs[0]!.lastPayload).toMatchObject({ severity: 'error', source: 'db', component: 'db', class: 'saturation' });
    expect(await c.find('inc_pd1')).toMatchObject({ resolved: true });
    expect(await new PagerDutyClient(cfg(null), http().h).find('inc_pd1')).toBeNull();
  });

  it('429 then success; an invalid event is permanent', async () => {
    const { h, retries } = http();
    const c = new PagerDutyClient(cfg(), h);
    f.pd.http.fail({ path: /enqueue/, times: 1, reply: { status: 429, headers: { 'Retry-After': '0' }, body: { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' } } });
    await c.open(ctx(lifecycle('inc_pd429')[0]));
    expect(retries).toEqual(['RATE_LIMITED:0']);
    expect(f.pd.byKey('inc_pd429')).toHaveLength(1);

    const bad = new PagerDutyClient({ ...cfg(), routingKey: 'X'.repeat(32) }, http().h);
    const e = await failure(bad.open(ctx(lifecycle('inc_pdbad')[0])));
    expect(e.code).toBe('SCHEMA_MISMATCH');
    expect(e.message).toMatch(/routing_key/);
  });
});

describe('webhook client', () => {
  it('signs the body; the receiver verifies it, dedups by Idempotency-Key, and a retry is signed afresh', async () => {
    let clock = Date.now();
    const { h, retries } = http(() => (clock += 1000));
    const c = new WebhookClient(parseTicketingConfig({ webhook: { url: f.hook.url, secret: HOOK_SECRET } }).webhook!, h);
    const [v1, v2] = lifecycle('inc_wh1');
    f.hook.http.fail({ times: 1, reply: { status: 500, body: { error: 'boom' } } });
    const ref = await c.open(ctx(v1));
    expect(retries).toHaveLength(1);
    const sent = f.hook.http.requests.filter((r) => r.method === 'POST');
    const stamps = sent.slice(-2).map((r) => r.headers['x-nightshift-timestamp']);
    expect(stamps[0]).not.toBe(stamps[1]);
    await c.update(ref, { ...ctx(v2), acknowledge: false });
    await c.update(ref, { ...ctx(v2), acknowledge: false });
    expect(f.hook.incidents.get('inc_wh1')?.actions).toEqual(['open', 'update']);
    expect(f.hook.duplicates).toBe(1);
    expect(f.hook.badSignatures).toBe(0);
  });

  it('a wrong secret is refused by the receiver: permanent', async () => {
    const c = new WebhookClient(parseTicketingConfig({ webhook: { url: f.hook.url, secret: 'not-the-shared-secret' } }).webhook!, http().h);
    const e = await failure(c.open(ctx(lifecycle('inc_whbad')[0])));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(f.hook.badSignatures).toBe(1);
    expect(f.hook.incidents.has('inc_whbad')).toBe(false);
  });
});
