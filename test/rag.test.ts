import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmConfig } from '../reasoning/llm/config.js';
import { OpenAiEmbedder } from '../reasoning/llm/openai-client.js';
import { Bm25Index, KnowledgeConfig, loadKnowledgeBase, parseKnowledgeFile, Retriever, serviceMatches, tokenize, type Embedder } from '../reasoning/rag/index.js';
import { Redactor } from '../reasoning/redact/index.js';
import type { IncidentBundle, RootCause, RootCauseKind } from '../schemas/index.js';
import { FakeOpenAi } from './fakes/openai.js';
import { alertSignal, dbOutage, makeBundle, metricSignal, T0, tplSignal } from './fakes/openai-fixtures.js';

const KB = loadKnowledgeBase(KnowledgeConfig.parse({}));
const noRedact = { redact: (s: string) => s };

function cause(service: string, kind: RootCauseKind, evidence: string[] = ['x']): RootCause {
  return { rank: 1, service, kind, summary: `${service}: ${kind}`, confidence: 0.7, evidence };
}

/** One bundle per simulator fault type, with the log lines the simulator writes for it. */
function faultCases(): { name: string; bundle: IncidentBundle; ranked: RootCause[]; expect: string }[] {
  const one = (svc: string, text: string, hint: RootCauseKind, extra: Partial<Parameters<typeof makeBundle>[0]> = {}) => {
    const t = tplSignal(svc, text, T0, 0.8, hint);
    return makeBundle({ signals: [t.signal], templates: [t.template], ...extra });
  };
  const db = dbOutage();
  return [
    { name: 'datastore outage', bundle: db.bundle, ranked: db.ranked, expect: 'RB-PG-OUTAGE' },
    {
      name: 'pool exhaustion (postgres)',
      bundle: one('orders-db', '<*> [<*>] FATAL:  sorry, too many clients already', 'saturation'),
      ranked: [cause('orders-db', 'saturation')],
      expect: 'RB-POOL-EXHAUSTION',
    },
    {
      name: 'thread pool saturation',
      bundle: one('inventory-api', 'thread pool exhausted: <*> workers busy, queue <*>, rejecting GET <*>', 'saturation'),
      ranked: [cause('inventory-api', 'saturation')],
      expect: 'RB-THREADPOOL-SATURATION',
    },
    {
      name: 'memory leak',
      bundle: one('search-indexer', 'GC overhead high: <*>% of time spent in GC over the last 60s (heap <*>M/<*>M)', 'resource'),
      ranked: [cause('search-indexer', 'resource')],
      expect: 'RB-MEMORY-LEAK',
    },
    {
      name: 'bad deploy',
      bundle: one('checkout-api', 'TypeError: Cannot read properties of undefined (reading <*>) at /app/dist/checkout-handler.js:<*>:<*>', 'errors', {
        changes: [{ kind: 'change', id: 'deploy-1', ts: T0 - 60_000, service: 'checkout-api', change_kind: 'deploy', summary: 'deploy checkout-api v3.1.0 (commit abc1234): refactor handlers' }],
      }),
      ranked: [cause('checkout-api', 'deploy')],
      expect: 'RB-BAD-DEPLOY',
    },
    {
      name: 'latency (postgres)',
      bundle: one('auth-db', '<*> [<*>] LOG:  process <*> still waiting for ShareLock on transaction <*> after <*> ms', 'latency'),
      ranked: [cause('auth-db', 'latency')],
      expect: 'RB-PG-SLOW-QUERIES',
    },
    {
      name: 'external dependency',
      bundle: one('fraud-api', 'POST https://score.riskcheck.example.com/v1/<*> failed: ETIMEDOUT after <*>ms', 'errors'),
      ranked: [cause('fraud-api', 'dependency')],
      expect: 'RB-EXTERNAL-PROVIDER',
    },
    {
      name: 'api errors',
      bundle: one('cart-api', 'unhandled exception in POST <*>: java.lang.IllegalStateException: cart <*> in unexpected state RELEASED', 'errors'),
      ranked: [cause('cart-api', 'errors')],
      expect: 'RB-API-ERRORS',
    },
  ];
}

describe('BM25', () => {
  it('tokenizes names whole and by parts, drops stop words', () => {
    expect(tokenize('The payments-db is DOWN')).toEqual(['payments-db', 'payments', 'db', 'down']);
  });
  it('ranks the document sharing rare terms first and ignores documents sharing none', () => {
    const idx = new Bm25Index(['postgres connection refused outage', 'redis cache outage', 'thread pool exhausted rejecting requests']);
    const s = idx.score('connection refused by postgres');
    expect([...s.keys()]).toEqual([0]);
    const s2 = idx.score('outage');
    expect(s2.get(0)).toBeGreaterThan(0);
    expect(s2.get(1)).toBeGreaterThan(s2.get(0)!); // shorter document, same term frequency
  });
  it('globs services', () => {
    expect(serviceMatches('*-db', 'payments-db')).toBe(true);
    expect(serviceMatches('*-db', 'payments-api')).toBe(false);
    expect(serviceMatches('payments-api', 'payments-api')).toBe(true);
    expect(serviceMatches('pay*.api', 'payments-api')).toBe(false);
  });
});

describe('knowledge base', () => {
  it('ships a sample that loads without problems and covers every root-cause kind the simulator uses', () => {
    expect(KB.problems).toEqual([]);
    expect(KB.docs.length).toBeGreaterThanOrEqual(20);
    const kinds = new Set(KB.docs.flatMap((d) => d.kinds));
    for (const k of ['errors', 'latency', 'saturation', 'resource', 'deploy', 'dependency'] as const) expect(kinds.has(k)).toBe(true);
    expect(new Set(KB.docs.map((d) => d.type))).toEqual(new Set(['runbook', 'postmortem', 'incident']));
  });

  it('skips bad files with a reason and keeps the good ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kb-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'good.md'), '---\nid: RB-1\ntype: runbook\ntitle: Good\nkinds: [errors]\n---\nbody text');
    writeFileSync(join(dir, 'nofront.md'), '# no front matter');
    writeFileSync(join(dir, 'badkind.md'), '---\nid: RB-2\ntype: runbook\ntitle: Bad\nkinds: [explosions]\n---\n');
    writeFileSync(join(dir, 'sub', 'dup.json'), JSON.stringify([{ id: 'RB-1', type: 'incident', title: 'dup' }, { id: 'INC-1', type: 'incident', title: 'ok', body: 'b' }]));
    writeFileSync(join(dir, 'broken.json'), '{');
    writeFileSync(join(dir, 'big.md'), `---\nid: BIG\ntype: runbook\ntitle: big\n---\n${'x'.repeat(5000)}`);
    const kb = loadKnowledgeBase(KnowledgeConfig.parse({ dir, maxFileBytes: 2048 }));
    expect(kb.docs.map((d) => d.id)).toEqual(['RB-1', 'INC-1']);
    expect(kb.problems.join('\n')).toMatch(/nofront\.md: no YAML front matter/);
    expect(kb.problems.join('\n')).toMatch(/badkind\.md: document 1: kinds\.0/);
    expect(kb.problems.join('\n')).toMatch(/dup\.json: duplicate id RB-1/);
    expect(kb.problems.join('\n')).toMatch(/broken\.json/);
    expect(kb.problems.join('\n')).toMatch(/big\.md: skipped, \d+ bytes > 2048/);
  });

  it('a configured folder that does not exist is a config error', () => {
    expect(() => loadKnowledgeBase(KnowledgeConfig.parse({ dir: '/nonexistent/kb' }))).toThrow(/not a folder/);
  });

  it('parses JSON documents with bodies', () => {
    const [d] = parseKnowledgeFile(JSON.stringify({ id: 'X', type: 'postmortem', title: 't', services: ['a'], body: ' hello ' }), 'x.json');
    expect(d).toMatchObject({ id: 'X', body: 'hello', services: ['a'], kinds: [] });
  });
});

describe('retrieval', () => {
  const retriever = new Retriever(KB, { topK: 3, minRelativeScore: 0.15 });

  it.each(faultCases().map((c) => [c.name, c] as const))('retrieves the runbook of a %s, and the first document is relevant', async (_n, c) => {
    const r = await retriever.retrieve(c.bundle, c.ranked, noRedact);
    // A postmortem of the same service may come first; the fault's runbook must be in the prompt.
    expect(r.docs.map((d) => d.id)).toContain(c.expect);
    expect(r.docs[0]?.relevant).toBe(true);
    expect(r.hit).toBe(true);
    expect(r.method).toBe('bm25');
  });

  it('is deterministic', async () => {
    const c = faultCases()[0]!;
    const a = await retriever.retrieve(c.bundle, c.ranked, noRedact);
    const b = await new Retriever(KB, { topK: 3, minRelativeScore: 0.15 }).retrieve(c.bundle, c.ranked, noRedact);
    expect(b).toEqual(a);
  });

  it('reports no hit when nothing retrieved is tagged with the top service or kind', async () => {
    const t = tplSignal('mystery-svc', 'frobnication counter wrapped', T0);
    const bundle = makeBundle({ signals: [t.signal], templates: [t.template] });
    const r = await retriever.retrieve(bundle, [cause('mystery-svc', 'unknown')], noRedact);
    expect(r.hit).toBe(false);
  });

  describe('with embeddings through the OpenAI-compatible endpoint', () => {
    const fake = new FakeOpenAi(() => ({ kind: 'status', status: 500 }));
    let baseUrl = '';
    beforeAll(async () => {
      baseUrl = await fake.start();
    });
    afterAll(async () => fake.close());

    const cfg = () => ({ ...LlmConfig.parse({ baseUrl, maxRetries: 0, timeoutMs: 2000 }), model: 'm' });

    it('blends cosine similarity, embeds the documents once, and redacts what it sends', async () => {
      fake.embeddingsStatus = null;
      const before = fake.embeddingCount;
      const emb: Embedder = new OpenAiEmbedder('embed-small', cfg(), { retryBaseMs: 1 });
      const r = new Retriever(KB, { topK: 3, minRelativeScore: 0.15 }, emb, 0.5);
      const db = dbOutage({ summarySuffix: ' user ops@shop.example' });
      const session = new Redactor().session();
      const res = await r.retrieve(db.bundle, db.ranked, { redact: (s) => session.redact(s) });
      expect(res.method).toBe('bm25+embeddings');
      expect(res.docs.map((d) => d.id)).toContain('RB-PG-OUTAGE');
      await r.retrieve(db.bundle, db.ranked, { redact: (s) => session.redact(s) });
      // One batch for the documents (fewer than 64), one query per retrieval.
      expect(fake.embeddingCount - before).toBe(3);
      const sent = fake.requests.filter((q) => q.path.endsWith('/embeddings')).map((q) => q.raw).join('\n');
      expect(sent).not.toContain('ops@shop.example');
      expect(sent).toContain('<EMAIL_1>');
    });

    it('falls back to BM25 when the embeddings endpoint fails, and says so', async () => {
      fake.embeddingsStatus = 503;
      const r = new Retriever(KB, { topK: 3, minRelativeScore: 0.15 }, new OpenAiEmbedder('embed-small', cfg(), { retryBaseMs: 1 }), 0.5);
      const db = dbOutage();
      const res = await r.retrieve(db.bundle, db.ranked, noRedact);
      expect(res.method).toMatch(/^bm25 \(embeddings failed: /);
      expect(res.docs.map((d) => d.id)).toContain('RB-PG-OUTAGE');
    });
  });
});

// Keeps the helpers honest: the metric helper is used by other suites.
void metricSignal;
void alertSignal;
