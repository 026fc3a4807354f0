import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { estimateTokens } from '../reasoning/llm/client.js';
import { LlmConfig, type ActiveLlmConfig } from '../reasoning/llm/config.js';
import { OpenAiLlmClient } from '../reasoning/llm/openai-client.js';
import { buildPrompt, requestTokens } from '../reasoning/llm/prompt.js';
import { LlmReasoner } from '../reasoning/llm/reasoner.js';
import { KnowledgeConfig, loadKnowledgeBase, Retriever } from '../reasoning/rag/index.js';
import { RedactConfig, Redactor } from '../reasoning/redact/index.js';
import type { Signal } from '../schemas/index.js';
import { FakeOpenAi, groundedAnswer, promptDoc, type ChatBody, type FakeReply } from './fakes/openai.js';
import { dbOutage, makeBundle, T0 } from './fakes/openai-fixtures.js';

const KB = loadKnowledgeBase(KnowledgeConfig.parse({}));
const fake = new FakeOpenAi(() => ({ kind: 'status', status: 500 }));
let baseUrl = '';
beforeAll(async () => {
  baseUrl = await fake.start();
});
afterAll(async () => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.chatCount = 0;
});

function cfg(over: Partial<LlmConfig> = {}, model = 'gpt-4o-mini'): ActiveLlmConfig {
  return { ...LlmConfig.parse({ baseUrl, timeoutMs: 1000, maxRetries: 1, ...over }), model };
}
function reasoner(over: Partial<LlmConfig> = {}, model?: string): LlmReasoner {
  const c = cfg(over, model);
  return new LlmReasoner({ client: new OpenAiLlmClient(c, { retryBaseMs: 5 }), cfg: c, kb: KB, retriever: new Retriever(KB, c.knowledge), redactor: new Redactor(c.redact) });
}
const signal = () => new AbortController().signal;
const answer = (content: string, usage = { in: 1000, out: 200 }): FakeReply => ({ kind: 'content', content, usage });

describe('LLM reasoner: bundle -> retrieval -> LLM -> guard -> result', () => {
  it('publishes a grounded answer and records the run', async () => {
    fake.script = (b) => answer(groundedAnswer(b));
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasoner().reason(bundle, ranked, 'first', signal());
    expect(causes?.map((c) => [c.rank, c.service, c.kind])).toEqual([
      [1, 'payments-db', 'errors'],
      [2, 'payments-api', 'errors'],
      [3, 'api-gateway', 'errors'],
    ]);
    expect(causes?.[0]?.summary).toMatch(/^payments-db is the most likely origin: .* Next steps: 1\. Check payments-db first \[/);
    expect(run).toMatchObject({ outcome: 'llm', reason: null, attempts: 1, repaired: false, tokens_in: 1000, tokens_out: 200, tokens_estimated: false, response_format: 'json_schema', model: 'gpt-4o-mini' });
    expect(run.cost_usd).toBeCloseTo((1000 * 0.15 + 200 * 0.6) / 1e6, 12);
    expect(run.retrieval?.hit).toBe(true);
    expect(run.retrieval?.docs.map((d) => d.id)).toContain('RB-PG-OUTAGE');
    expect(run.guard).toMatchObject({ causes_proposed: 3, causes_accepted: 3, causes_rejected: 0, hallucinated_causes: 0, evidence_rejected: 0 });
    expect(run.agreement).toEqual({ top1: true, overlap_at_3: 1 });
    expect(run.causes[0]?.next_steps[0]?.runbook).toBe(promptDoc(fake.chatBodies()[0]!).knowledge[0]?.id);
    // The prompt carries the ranker's candidates, the evidence and the retrieved knowledge.
    const doc = promptDoc(fake.chatBodies()[0]!);
    expect(doc.ranker_candidates.map((c) => c.service)).toEqual(['payments-db', 'payments-api', 'api-gateway']);
    expect(doc.evidence.map((e) => e.id)).toEqual(expect.arrayContaining(ranked[0]!.evidence));
    expect(doc.knowledge.map((k) => k.id)).toEqual(run.retrieval?.docs.map((d) => d.id));
  });

  it('disagreeing with the ranker is allowed and measured', async () => {
    fake.script = (b) => answer(groundedAnswer(b, { reverse: true }));
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasoner().reason(bundle, ranked, 'first', signal());
    expect(causes?.[0]?.service).toBe('api-gateway');
    expect(run.agreement).toEqual({ top1: false, overlap_at_3: 1 });
  });

  it('repairs an answer citing evidence that does not exist, once, and publishes the repaired one', async () => {
    fake.script = (b, n) => {
      if (n > 0) return answer(groundedAnswer(b));
      const good = JSON.parse(groundedAnswer(b)) as { causes: { evidence: string[] }[] };
      good.causes[0]!.evidence.push('tpl_invented0000001');
      return answer(JSON.stringify(good));
    };
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasoner().reason(bundle, ranked, 'first', signal());
    expect(causes?.[0]?.service).toBe('payments-db');
    expect(run).toMatchObject({ outcome: 'llm', attempts: 2, repaired: true, tokens_in: 2000, tokens_out: 400 });
    expect(run.guard).toMatchObject({ causes_proposed: 6, causes_rejected: 1, hallucinated_causes: 1, evidence_rejected: 1 });
    expect(run.guard?.rejections[0]).toMatchObject({ service: 'payments-db', reason: 'unknown_evidence' });
    const repair = fake.chatBodies()[1]!;
    expect(repair.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(repair.messages[3]?.content).toContain('tpl_invented0000001');
    expect(repair.messages[3]?.content).toMatch(/unknown_evidence/);
  });

  it('keeps the first answer\'s accepted causes when the repair is worse', async () => {
    fake.script = (b, n) => {
      if (n > 0) return answer('sorry, I cannot help');
      const a = JSON.parse(groundedAnswer(b)) as { causes: { service: string }[] };
      a.causes[2]!.service = 'billing-api';
      return answer(JSON.stringify(a));
    };
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasoner({ fillFromRanker: false }).reason(bundle, ranked, 'first', signal());
    expect(causes?.map((c) => c.service)).toEqual(['payments-db', 'payments-api']);
    expect(run).toMatchObject({ outcome: 'llm', repaired: true, attempts: 2 });
    expect(run.guard?.hallucinated_causes).toBe(1);
  });

  it('a weak local model (Ollama-like: no json_schema, answers in prose) gets one repair, then the ranker stands', async () => {
    const prose = 'Based on the logs, the root cause is most likely payments-db being down. I recommend restarting it.';
    fake.script = (b: ChatBody) =>
      b.response_format?.type === 'json_schema' ? { kind: 'status', status: 400, body: { error: { message: 'invalid response_format' } } } : { kind: 'content', content: prose, usage: null };
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasoner({}, 'llama3.2:3b').reason(bundle, ranked, 'first', signal());
    expect(causes).toBeNull();
    expect(run).toMatchObject({ outcome: 'fallback', reason: 'invalid_output', attempts: 2, repaired: true, response_format: 'json_object', tokens_estimated: true, cost_usd: null });
    expect(run.tokens_in).toBeGreaterThan(0);
    expect(fake.chatCount).toBe(3); // the refused json_schema request, the json_object request, the repair
  });

  it('a model that keeps naming services outside the incident falls back with guard_rejected_all', async () => {
    const bad = JSON.stringify({ causes: [{ service: 'billing-api', kind: 'errors', explanation: 'x', confidence: 0.9, evidence: ['tpl_x'], next_steps: [] }] });
    fake.script = () => answer(bad);
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasoner().reason(bundle, ranked, 'first', signal());
    expect(causes).toBeNull();
    expect(run).toMatchObject({ outcome: 'fallback', reason: 'guard_rejected_all', attempts: 2 });
    expect(run.guard).toMatchObject({ causes_proposed: 2, causes_accepted: 0, hallucinated_causes: 2 });
  });

  it('repairs truncated JSON (finish_reason length)', async () => {
    fake.script = (b, n) => (n === 0 ? { kind: 'content', content: groundedAnswer(b).slice(0, 80), finish: 'length' } : answer(groundedAnswer(b)));
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasoner().reason(bundle, ranked, 'first', signal());
    expect(causes).not.toBeNull();
    expect(run.repaired).toBe(true);
    expect(fake.chatBodies()[1]?.messages[3]?.content).toMatch(/not valid JSON|no JSON object/);
  });

  it('falls back with the error code when the endpoint keeps failing', async () => {
    fake.script = () => ({ kind: 'status', status: 500 });
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasoner().reason(bundle, ranked, 'first', signal());
    expect(causes).toBeNull();
    expect(run).toMatchObject({ outcome: 'fallback', reason: 'error:IO_ERROR', attempts: 0 });
  });

  it('redacts before sending and restores what people read', async () => {
    fake.script = (b) => {
      const a = JSON.parse(groundedAnswer(b)) as { causes: { explanation: string }[] };
      const user = b.messages[1]!.content;
      const ph = /<EMAIL_\d+>/.exec(user)?.[0] ?? 'none';
      a.causes[0]!.explanation = `Connections from ${ph} were refused.`;
      return answer(JSON.stringify(a));
    };
    const { bundle, ranked } = dbOutage({ summarySuffix: ' (user dba@shop.example, password=hunter22)' });
    const { causes, run } = await reasoner().reason(bundle, ranked, 'first', signal());
    const raw = fake.requests.map((r) => r.raw).join('\n');
    expect(raw).not.toContain('dba@shop.example');
    expect(raw).not.toContain('hunter22');
    // Personal data stays a placeholder in what people read unless its class is configured restorable.
    expect(causes?.[0]?.summary).toContain('Connections from <EMAIL_1> were refused.');
    expect(run.redactions).toBeGreaterThanOrEqual(2);
  });

  it('restores only the configured classes and the incident\'s service names, never a credential', async () => {
    fake.script = (b) => {
      const a = JSON.parse(groundedAnswer(b)) as { causes: { explanation: string }[] };
      const user = b.messages[1]!.content;
      const email = /<EMAIL_\d+>/.exec(user)?.[0] ?? 'none';
      const secret = /<SECRET_\d+>|<redacted:[a-z0-9-]+>/.exec(user)?.[0] ?? 'none';
      a.causes[0]!.explanation = `Connections from ${email} were refused (${secret}).`;
      return answer(JSON.stringify(a));
    };
    const { bundle, ranked } = dbOutage({ summarySuffix: ' (user dba@shop.example, password=hunter22)' });
    const { causes } = await reasoner({ redact: { restore: ['EMAIL'] } }).reason(bundle, ranked, 'first', signal());
    expect(causes?.[0]?.summary).toContain('Connections from dba@shop.example were refused');
    expect(causes?.[0]?.summary).not.toContain('hunter22');
    expect(causes?.[0]?.summary).toMatch(/<SECRET_\d+>|<redacted:/);
    expect(() => RedactConfig.parse({ restore: ['SECRET'] })).toThrow(/never restored/);
  });
});

describe('prompt budget', () => {
  function storm(n: number) {
    const signals: Signal[] = [];
    const templates = [];
    for (let i = 0; i < n; i++) {
      const ref = `tpl_${i.toString(16).padStart(16, '0')}`;
      signals.push({ id: `sig_${i}`, ts: T0 + i, service: `svc-${i % 50}`, type: 'template_new', score: 0.5 + (i % 7) / 20, hint: 'errors', summary: `new error log template ${i}: ${'x'.repeat(200)}`, ref });
      templates.push({ id: ref, service: `svc-${i % 50}`, template: `error ${i} ${'y'.repeat(300)}`, level: 'error', count: 100, first_seen: T0 + i });
    }
    const edges: [string, string][] = Array.from({ length: 2000 }, (_, i) => [`svc-${i % 50}`, `svc-${(i * 7) % 50}`]);
    return makeBundle({ signals, templates, edges });
  }

  let big: ReturnType<typeof storm> | null = null;
  it.each([3000, 6000, 16000])('stays within the budget for %i tokens whatever the bundle size, keeping the ranker\'s evidence', (max) => {
    big ??= storm(100_000);
    const bundle = big;
    const ranked = [{ rank: 1, service: 'svc-7', kind: 'errors' as const, summary: 's', confidence: 0.5, evidence: ['tpl_0000000000001869', 'tpl_0000000000000007'] }];
    const p = buildPrompt({ bundle, ranked, knowledge: KB.docs.slice(0, 3), session: new Redactor().session(), maxInputTokens: max, maxOutputTokens: 500, temperature: 0, snippetChars: 900 });
    expect(p.estimatedTokens).toBeLessThanOrEqual(max);
    expect(requestTokens(p.request)).toBe(p.estimatedTokens);
    expect(p.omitted.signals).toBeGreaterThan(90_000);
    const doc = JSON.parse(p.request.messages[1]!.content) as { evidence: { id: string }[]; omitted_for_size: { signals: number } };
    expect(doc.evidence.slice(0, 2).map((e) => e.id).sort()).toEqual(['tpl_0000000000000007', 'tpl_0000000000001869']);
    expect(doc.omitted_for_size.signals).toBe(p.omitted.signals);
  });

  it('every request sent (the repair included) stays within maxInputTokens', async () => {
    fake.script = (b, n) => (n === 0 ? answer(`{"causes": [${'{"service": "nope"},'.repeat(400)}]}`) : answer(groundedAnswer(b)));
    const bundle = storm(20_000);
    const ranked = [{ rank: 1, service: 'svc-7', kind: 'errors' as const, summary: 's', confidence: 0.5, evidence: ['tpl_0000000000000007'] }];
    const r = await reasoner({ maxInputTokens: 3000 }).reason(bundle, ranked, 'first', signal());
    expect(r.run.attempts).toBe(2);
    for (const body of fake.chatBodies()) {
      const tokens = body.messages.reduce((a, m) => a + estimateTokens(m.content) + 4, 0) + estimateTokens(JSON.stringify(body.response_format?.json_schema?.schema ?? {}));
      expect(tokens).toBeLessThanOrEqual(3000);
    }
  });
});
