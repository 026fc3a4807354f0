import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chain, runPipeline } from '../core/pipeline.js';
import type { IncidentOutput } from '../schemas/index.js';
import { createTicketingSink, parseTicketingConfig, versionOf, type TicketingSink } from '../sinks/ticketing/index.js';
import { allConfig, FAST_HTTP, SN_AUTH, startFakes, testDeps, type Fakes } from './fakes/all.js';
import { cause, lifecycle, noise, output } from './fakes/incidents.js';

let f: Fakes;
beforeEach(async () => {
  f = await startFakes();
});
afterEach(async () => {
  await f.close();
});

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const x of items) yield x;
}

/** One pipeline run whose last stage is the ticketing sink: the runner calls flush and close, as in production. */
async function run(sink: TicketingSink, outputs: readonly IncidentOutput[]): Promise<void> {
  await runPipeline(from(outputs), chain<IncidentOutput, never>(sink), { queueBatches: 2, batchSize: 2 });
}

const critical = (id: string): IncidentOutput[] =>
  lifecycle(id, 30).map((o) => ({ ...o, services: ['api', 'db', 'web'], counts: { ...o.counts, alerts: Math.max(3, o.counts.alerts) } }));

describe('ticketing sink across a restart of the pipeline', () => {
  it.each([
    ['with', true],
    ['without', false],
  ])('keeps one ticket per incident with its updates, in every integration (PagerDuty %s a REST token)', async (_w, pdLookup) => {
    const [a1, a2, a3, a4, a5] = lifecycle('inc_A');
    const [b1, b2] = noise('inc_B', 1);
    const [c1, c2, , c4, c5] = critical('inc_C');
    const cfg = allConfig(f, {}, pdLookup);

    // First life: up to A's second version, then the process stops (flush and close by the runner).
    const d1 = testDeps();
    const s1 = createTicketingSink(cfg, d1);
    await run(s1, [a1!, b1!, a2!, c1!]);

    // Second life, a fresh process with an empty cache, re-delivers from before the stop (at-least-once input).
    const d2 = testDeps();
    const s2 = createTicketingSink(cfg, d2);
    await run(s2, [a2!, c1!, a3!, c2!, a4!, b2!, a5!, c4!, c5!]);

    // ServiceNow: one record per incident, every change a work note, resolved with the last version.
    const snA = f.sn.byCorrelation('inc_A');
    expect(snA).toHaveLength(1);
    expect(snA[0]!.work_notes).toHaveLength(3);
    expect(snA[0]!.work_notes[0]).toMatch(/Updated by nightshift/);
    expect(snA[0]!.work_notes[2]).toMatch(/Resolved by nightshift/);
    expect(snA[0]!.state).toBe('6');
    expect(snA[0]!.correlation_display).toContain(`${versionOf(a5!, 'error').ts}.1.`);
    expect(f.sn.byCorrelation('inc_C')).toHaveLength(1);
    expect(f.sn.byCorrelation('inc_B')).toHaveLength(0);
    expect(f.sn.http.count('POST', /incident$/)).toBe(2);

    // Jira: one issue per incident found again by its label, comments for each change, Done at the end.
    const jA = f.jira.withLabel('nightshift-inc_A');
    expect(jA).toHaveLength(1);
    expect(jA[0]!.comments).toHaveLength(3);
    expect(f.jira.statusName(jA[0]!)).toBe('Done');
    expect(f.jira.withLabel('nightshift-inc_C')).toHaveLength(1);
    expect(f.jira.withLabel('nightshift-inc_B')).toHaveLength(0);

    // PagerDuty: one incident per dedup key, resolved.
    expect(f.pd.byKey('inc_A')).toHaveLength(1);
    expect(f.pd.byKey('inc_A')[0]!.status).toBe('resolved');
    expect(f.pd.byKey('inc_C')).toHaveLength(1);
    expect(f.pd.byKey('inc_B')).toHaveLength(0);

    // Webhook: the receiver saw each state once; the re-delivered ones were duplicates by Idempotency-Key.
    expect(f.hook.incidents.get('inc_A')?.actions).toEqual(['open', 'update', 'update', 'resolve']);
    expect(f.hook.incidents.get('inc_A')?.last.status).toBe('resolved');
    expect(f.hook.duplicates).toBe(2);
    expect(f.hook.badSignatures).toBe(0);

    expect(d1.deadLetters.count + d2.deadLetters.count).toBe(0);
    const st = s2.stats();
    expect(st.servicenow!.dropped).toMatchObject({ unchanged: 3, below_threshold: 1 });
    expect(st.jira!.dropped.unchanged).toBe(3);
    expect(s2.counters.snapshot().received).toBe(9);
  });

  it('does not trigger PagerDuty again for an incident resolved before the restart (with a REST token)', async () => {
    const outs = lifecycle('inc_R');
    const s1 = createTicketingSink(allConfig(f), testDeps());
    await run(s1, outs);
    // A replay from the very beginning, as after losing the committed offsets.
    const d2 = testDeps();
    const s2 = createTicketingSink(allConfig(f), d2);
    await run(s2, outs);
    expect(f.pd.byKey('inc_R')).toHaveLength(1);
    expect(f.sn.byCorrelation('inc_R')).toHaveLength(1);
    expect(f.sn.byCorrelation('inc_R')[0]!.work_notes).toHaveLength(3);
    expect(f.jira.withLabel('nightshift-inc_R')[0]!.comments).toHaveLength(3);
    expect(s2.stats().servicenow!.dropped.ticket_resolved).toBe(5);
    expect(s2.stats().servicenow!.sent).toBe(0);
  });
});

describe('ticketing sink policy', () => {
  it('opens per integration at its own severity and acknowledges at the configured confidence', async () => {
    const cfg = allConfig(f, { acknowledgeAtConfidence: 0.6, pagerduty: { routingKey: allConfig(f).pagerduty!.routingKey, url: f.pd.url, openAt: 'critical' } });
    const sink = createTicketingSink(cfg, testDeps());
    await run(sink, [...lifecycle('inc_E'), ...critical('inc_K')]);
    // inc_E reaches critical only with its fourth output (3 services, 6 alerts): PagerDuty opens it there.
    expect(f.pd.byKey('inc_E')).toHaveLength(1);
    expect(f.pd.byKey('inc_E')[0]!.log).toEqual(['trigger', 'resolve']);
    expect(f.pd.byKey('inc_E')[0]!.lastPayload.severity).toBe('critical');
    expect(f.pd.byKey('inc_K')).toHaveLength(1);
    expect(f.pd.byKey('inc_K')[0]!.log.filter((x) => x === 'acknowledge')).toHaveLength(1);
    expect(f.sn.byCorrelation('inc_E')).toHaveLength(1);
    expect(sink.stats().pagerduty!.dropped.below_threshold).toBe(3);
    expect(f.hook.incidents.get('inc_E')?.actions).toEqual(['open', 'acknowledge', 'update', 'resolve']);
  });

  it('never opens a ticket for an incident first seen resolved, nor for one below the threshold', async () => {
    const sink = createTicketingSink(allConfig(f), testDeps());
    const resolvedOnly = output('inc_late', { status: 'resolved' });
    await run(sink, [resolvedOnly, ...noise('inc_quiet')]);
    expect(f.sn.records.size).toBe(0);
    expect(f.jira.issues.size).toBe(0);
    expect(f.pd.incidents).toHaveLength(0);
    expect(sink.stats().servicenow!.dropped).toEqual({ below_threshold: 2, resolved_before_ticket: 1 });
    // Noise costs no request at all.
    expect(f.sn.http.requests.filter((r) => r.query.get('sysparm_query')?.includes('inc_quiet'))).toHaveLength(0);
  });

  it('with a cache of one ticket, interleaved incidents are looked up again and still get one ticket each', async () => {
    const sink = createTicketingSink(allConfig(f, { cacheSize: 1 }), testDeps());
    const a = lifecycle('inc_X');
    const b = lifecycle('inc_Y', 1);
    const inter: IncidentOutput[] = [];
    for (let i = 0; i < a.length; i++) inter.push(a[i]!, b[i]!);
    await run(sink, inter);
    for (const id of ['inc_X', 'inc_Y']) {
      expect(f.sn.byCorrelation(id)).toHaveLength(1);
      expect(f.sn.byCorrelation(id)[0]!.work_notes).toHaveLength(3);
      expect(f.jira.withLabel(`nightshift-${id}`)).toHaveLength(1);
    }
    const st = sink.stats().servicenow!;
    expect(st.cached).toBe(1);
    expect(st.cacheEvictions).toBeGreaterThan(0);
    expect(f.sn.http.count('GET', /incident$/)).toBe(10);
  });
});

describe('ticketing sink failures', () => {
  it('retries 5xx and 429 and then succeeds; a create whose response was lost is found, not repeated', async () => {
    const deps = testDeps();
    const sink = createTicketingSink(allConfig(f), deps);
    f.sn.http.fail({ method: 'POST', times: 1, when: 'after', reply: { status: 504, body: 'Gateway Timeout' } });
    f.jira.http.fail({ method: 'POST', path: /issue$/, times: 2, reply: { status: 503, body: 'Service Unavailable' } });
    f.pd.http.fail({ times: 2, reply: { status: 429, headers: { 'Retry-After': '0' }, body: { status: 'throttle event' } } });
    f.hook.http.fail({ times: 3, reply: { status: 500, body: { error: 'boom' } } });
    await run(sink, lifecycle('inc_F'));
    expect(f.sn.byCorrelation('inc_F')).toHaveLength(1);
    expect(f.sn.byCorrelation('inc_F')[0]!.work_notes).toHaveLength(3);
    expect(f.jira.withLabel('nightshift-inc_F')).toHaveLength(1);
    expect(f.pd.byKey('inc_F')).toHaveLength(1);
    expect(f.hook.incidents.get('inc_F')?.actions).toEqual(['open', 'update', 'update', 'resolve']);
    expect(deps.deadLetters.count).toBe(0);
    const st = sink.stats();
    expect(st.servicenow!.retries).toBe(1);
    expect(st.jira!.retries).toBe(2);
    expect(st.pagerduty!.retries).toBe(2);
    expect(st.webhook!.retries).toBe(3);
    expect(sink.counters.sent).toBe(16);
  });

  it('sends 4xx rejections and exhausted retries to dead letters with the operation and payload', async () => {
    const deps = testDeps();
    const cfg = allConfig(f, { jira: { url: f.jira.url, email: 'bot@example.com', token: 'ATATT3xFfGF0-test-token', project: 'NOPE' } });
    const sink = createTicketingSink(cfg, deps);
    f.pd.http.fail({ path: /enqueue/, times: 1000, reply: { status: 502, body: 'Bad Gateway' } });
    const [v1, v2] = lifecycle('inc_D');
    await run(sink, [v1!, v2!]);

    expect(f.sn.byCorrelation('inc_D')[0]!.work_notes).toHaveLength(1);
    expect(deps.deadLetters.byCode()).toEqual({ IO_ERROR: 2, SCHEMA_MISMATCH: 2 });
    const jiraDl = deps.deadLetters.items.filter((d) => d.code === 'SCHEMA_MISMATCH');
    expect(jiraDl[0]!.stage).toBe('sink-ticketing');
    expect(jiraDl[0]!.key).toBe('inc_D');
    expect(jiraDl[0]!.error).toMatch(/^jira open: .*valid project is required/);
    const payload = JSON.parse(jiraDl[0]!.payload) as { integration: string; operation: string; incident: IncidentOutput };
    expect(payload).toMatchObject({ integration: 'jira', operation: 'open', incident: { incident_id: 'inc_D' } });
    const pdDl = deps.deadLetters.items.find((d) => d.code === 'IO_ERROR')!;
    expect(JSON.parse(pdDl.payload)).toMatchObject({ integration: 'pagerduty', operation: 'open' });
    // maxAttempts per operation, for each of the two outputs.
    expect(f.pd.http.count('POST', /enqueue/)).toBe(2 * FAST_HTTP.maxAttempts);
    expect(sink.counters.snapshot().dropped).toMatchObject({ 'dead_letter:IO_ERROR': 2, 'dead_letter:SCHEMA_MISMATCH': 2 });
    await expect(sink.process(v1!)).rejects.toThrow(/after close/);

    // A bad incident id is a clear dead letter per integration, not a crash.
    const d2 = testDeps();
    const s2 = createTicketingSink(allConfig(f), d2);
    await s2.process(output('bad id with spaces'));
    await s2.flush();
    expect(d2.deadLetters.byCode()).toEqual({ SCHEMA_MISMATCH: 4 });
    expect(d2.deadLetters.items[0]!.error).toMatch(/not usable as a correlation key/);
    await s2.close();
  });
});

describe('ticketing sink backpressure', () => {
  it('process() waits when an integration queue is full, and drains when the service answers', async () => {
    const cfg = parseTicketingConfig({ queueCapacity: 2, http: FAST_HTTP, servicenow: { url: f.sn.url, auth: { kind: 'basic', ...SN_AUTH } } });
    const sink = createTicketingSink(cfg, testDeps());
    const release = f.sn.http.hold();
    const outs = Array.from({ length: 6 }, (_, i) => output(`inc_bp${i}`, { root_causes: [cause(1, 'db', 'errors', 0.4)] }));
    // Job 0 is taken by the worker (its lookup hangs), jobs 1 and 2 fill the queue.
    for (const o of outs.slice(0, 3)) await sink.process(o);
    let fourthDone = false;
    const fourth = Promise.resolve(sink.process(outs[3]!)).then(() => (fourthDone = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(fourthDone).toBe(false);
    expect(f.sn.http.heldCount).toBe(1);
    expect(sink.stats().servicenow!.queueDepth).toBe(2);
    release();
    await fourth;
    for (const o of outs.slice(4)) await sink.process(o);
    await sink.flush();
    expect(f.sn.records.size).toBe(6);
    expect(sink.stats().servicenow!.queueMaxDepth).toBeLessThanOrEqual(2);
    await sink.close();
  });
});
