import { mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { knowledgeBaseOf } from '../reasoning/rag/kb.js';
import { NdjsonTableStore } from '../sinks/clickhouse/ndjson-store.js';
import type { McpContext } from '../mcp/context.js';
import { NdjsonFeedbackStore } from '../mcp/feedback.js';
import { createMcpServer } from '../mcp/server.js';
import { rankSimilar, similarity, type Fingerprint } from '../mcp/similar.js';
import type { IncidentSummary, RootCauseView } from '../mcp/store.js';
import { clip, str } from '../mcp/sql.js';
import { rebindSafeHost } from '../mcp/http.js';
import { startMcpHttpServer } from '../mcp/listen.js';
import { request } from 'node:http';
import { payload } from './helpers/mcp.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fp(id: string, services: string[], causes: Array<[string, RootCauseView['kind']]>, templates: string[] = []): Fingerprint {
  const summary: IncidentSummary = {
    incident_id: id,
    status: 'resolved',
    opened_at: 0,
    updated_at: 0,
    services,
    top_service: causes[0]?.[0] ?? null,
    top_kind: causes[0]?.[1] ?? null,
    top_confidence: null,
    counts: { events: 0, alerts: 0, signals: 0 },
    version: 1,
  };
  return { summary, causes: causes.map(([service, kind], i) => ({ rank: i + 1, service, kind, confidence: 0.3, summary: '', evidence: [] })), templates };
}

describe('similarity score', () => {
  const a = fp('a', ['db', 'api', 'web'], [['db', 'saturation'], ['api', 'errors']], ['tpl_1', 'tpl_2']);

  it('adds the documented parts, with reasons', () => {
    const b = fp('b', ['db', 'api'], [['db', 'saturation'], ['api', 'errors']], ['tpl_1']);
    const s = similarity(a, b);
    // 2/3 services + 2 same top cause + 0.5 one shared other pair + 0.25 one shared template
    expect(s.score).toBeCloseTo(2 / 3 + 2 + 0.5 + 0.25, 3);
    expect(s.reasons).toEqual(['shares services api, db', 'same top root cause: db saturation', 'also ranked both: api errors', '1 shared log template(s)']);
    expect(similarity(a, fp('c', ['db'], [['db', 'latency']])).score).toBeCloseTo(1 / 3 + 1, 3);
  });

  it('ranks best first, leaves out the incident itself and the unrelated', () => {
    const near = fp('near', ['db', 'api', 'web'], [['db', 'saturation']]);
    const far = fp('far', ['web'], [['web', 'errors']]);
    const none = fp('none', ['queue'], [['queue', 'errors']]);
    expect(rankSimilar(a, [far, a, none, near], 10).map((s) => s.incident_id)).toEqual(['near', 'far']);
    expect(rankSimilar(a, [far, near], 1).map((s) => s.incident_id)).toEqual(['near']);
  });

  it('compares a candidate by its confirmed cause, says so, and ranks a confirmed match above an unconfirmed one at the same score', () => {
    // Published as db latency, but a responder corrected it to db saturation: it now matches a's top cause fully.
    const corrected = { ...fp('corrected', ['db', 'api', 'web'], [['db', 'latency']]), confirmed: { service: 'db', kind: 'saturation' as const } };
    const s = similarity(a, corrected);
    expect(s.score).toBeCloseTo(1 + 2, 3);
    expect(s.reasons).toContain('same top root cause: db saturation (confirmed by feedback)');
    expect(s.confirmed_root_cause).toEqual({ service: 'db', kind: 'saturation' });
    // Published db saturation, corrected to another service: the published cause no longer counts.
    const wrong = { ...fp('wrong', ['db', 'api', 'web'], [['db', 'saturation']]), confirmed: { service: 'web', kind: 'deploy' as const } };
    expect(similarity(a, wrong).score).toBeCloseTo(1, 3);
    expect(similarity(a, fp('plain', ['db'], [['db', 'saturation']])).confirmed_root_cause).toBeNull();
    // Same score (1 + 2): the confirmed one first, whatever the ids' order.
    const unconfirmed = fp('aaa-unconfirmed', ['db', 'api', 'web'], [['db', 'saturation']]);
    const ranked = rankSimilar(a, [unconfirmed, corrected], 10);
    expect(ranked.map((r) => [r.incident_id, r.score])).toEqual([
      ['corrected', 3],
      ['aaa-unconfirmed', 3],
    ]);
  });
});

describe('SQL literals and clipping', () => {
  it('quotes so that a value cannot end its string', () => {
    expect(str("it's \\ fine")).toBe("'it\\'s \\\\ fine'");
  });
  it('clips long telemetry text and says how much was cut', () => {
    expect(clip('abcdef', 4)).toBe('abcd… [2 more characters]');
    expect(clip('abc', 4)).toBe('abc');
  });
});

describe('on the NDJSON fallback store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-mcp-ndjson-'));
  dirs.push(dir);
  const store = new NdjsonTableStore(dir);
  // A clock that advances 1 s per row, so "newest first" has one answer.
  let clock = 1_700_000_000_000;
  const ctx: McpContext = {
    description: `NDJSON table files in ${dir}`,
    reader: null,
    feedback: new NdjsonFeedbackStore(store, dir, () => (clock += 1000)),
    kb: knowledgeBaseOf([]),
    runSaved: () => Promise.reject(new NightshiftError('CONFIG_INVALID', 'the NDJSON analytics store answers no queries')),
    close: async () => undefined,
  };

  async function client(): Promise<Client> {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await createMcpServer(ctx, { actor: 'tester', canWrite: true, source: 'mcp-stdio' }).connect(a);
    const c = new Client({ name: 't', version: '1' });
    await c.connect(b);
    return c;
  }

  it('the incident tools are tool errors naming the store, feedback is appended to feedback.ndjson and read back', async () => {
    const c = await client();
    const list = payload(await c.callTool({ name: 'list_incidents', arguments: {} }));
    expect(list.isError).toBe(true);
    expect(list.text).toMatch(/^CONFIG_INVALID: the analytics store \(NDJSON table files in .*\) answers no queries/);
    const q = payload(await c.callTool({ name: 'run_saved_query', arguments: { name: 'top_root_causes' } }));
    expect(q.isError).toBe(true);

    const rec = payload(await c.callTool({ name: 'record_feedback', arguments: { incident_id: 'inc_1', kind: 'correct_root_cause', service: 'db', root_kind: 'saturation' } }));
    expect(rec.isError, rec.text).toBe(false);
    expect(rec.data!.stored_in).toBe(`file ${join(dir, 'feedback.ndjson')}`);
    // A torn line from a crash mid-append is skipped, not fatal.
    appendFileSync(join(dir, 'feedback.ndjson'), '{"incident_id":"inc_1","kind"');
    appendFileSync(join(dir, 'feedback.ndjson'), '\n');
    expect(payload(await c.callTool({ name: 'acknowledge_incident', arguments: { incident_id: 'inc_1' } })).isError).toBe(false);
    expect(payload(await c.callTool({ name: 'acknowledge_incident', arguments: { incident_id: 'inc_2' } })).isError).toBe(false);
    const back = payload(await c.callTool({ name: 'list_feedback', arguments: { incident_id: 'inc_1' } }));
    expect((back.data!.feedback as Array<{ kind: string; actor: string; time: string }>).map((f) => [f.kind, f.actor, f.time])).toEqual([
      ['ack', 'tester', '2023-11-14T22:13:22.000Z'],
      ['correct_root_cause', 'tester', '2023-11-14T22:13:21.000Z'],
    ]);
    const lines = readFileSync(join(dir, 'feedback.ndjson'), 'utf8').split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0]!)).toMatchObject({ incident_id: 'inc_1', kind: 'correct_root_cause', service: 'db', root_kind: 'saturation', actor: 'tester', source: 'mcp-stdio', at: 1_700_000_001_000 });
    await c.close();
  });

  it('a caller that may not write gets FORBIDDEN and nothing is written', async () => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await createMcpServer(ctx, { actor: 'ro', canWrite: false, source: 'mcp-http' }).connect(a);
    const c = new Client({ name: 't', version: '1' });
    await c.connect(b);
    const before = readFileSync(join(dir, 'feedback.ndjson'), 'utf8');
    const r = payload(await c.callTool({ name: 'acknowledge_incident', arguments: { incident_id: 'inc_1' } }));
    expect(r.text).toMatch(/^FORBIDDEN/);
    expect(readFileSync(join(dir, 'feedback.ndjson'), 'utf8')).toBe(before);
    await c.close();
  });
});

describe('without tokens, HTTP answers only rebinding-safe Host names', () => {
  it('accepts localhost and IP literals, refuses DNS names', () => {
    for (const h of ['127.0.0.1:9465', 'localhost:9465', 'localhost', '[::1]:9465', '10.0.0.7:80']) expect(rebindSafeHost(h), h).toBe(true);
    for (const h of ['evil.example:9465', 'localhost.evil.example', undefined]) expect(rebindSafeHost(h), String(h)).toBe(false);
  });

  it('a request whose Host is a DNS name gets 403; the same one to the IP is answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-mcp-open-'));
    dirs.push(dir);
    const store = new NdjsonTableStore(dir);
    const ctx: McpContext = {
      description: 'ndjson',
      reader: null,
      feedback: new NdjsonFeedbackStore(store, dir),
      kb: knowledgeBaseOf([]),
      runSaved: () => Promise.reject(new NightshiftError('CONFIG_INVALID', 'no queries')),
      close: async () => undefined,
    };
    const srv = await startMcpHttpServer({ ctx, port: 0, host: '127.0.0.1' });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const post = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const r = request({ host: '127.0.0.1', port: srv.port, path: '/mcp', method: 'POST', headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        r.on('error', reject);
        r.end(body);
      });
    try {
      expect(await post(`rebind.example:${srv.port}`)).toBe(403);
      expect(await post(`127.0.0.1:${srv.port}`)).toBe(200);
    } finally {
      await srv.close();
    }
  });
});
