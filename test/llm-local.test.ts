import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { estimateCostUsd, LlmConfig, llmConfigFromEnv, type ActiveLlmConfig } from '../reasoning/llm/config.js';
import { parseAnswer } from '../reasoning/llm/answer.js';
import { bundleEvidenceIds, guardCauses, HALLUCINATION_REASONS } from '../reasoning/llm/guard.js';
import {
  boundArrays,
  DEFAULT_LOCAL_MODEL_PATH,
  importNodeLlamaCpp,
  LOCAL_MAX_ARRAY_ITEMS,
  LocalLlamaClient,
  localClientFromConfig,
  localModelPath,
  NODE_LLAMA_CPP_INSTALL,
  toHistory,
} from '../reasoning/llm/local.js';
import { buildPrompt } from '../reasoning/llm/prompt.js';
import { LlmReasoner } from '../reasoning/llm/reasoner.js';
import { KnowledgeConfig, loadKnowledgeBase, Retriever } from '../reasoning/rag/index.js';
import { Redactor } from '../reasoning/redact/index.js';
import { dbOutage } from './fakes/openai-fixtures.js';

const KB = loadKnowledgeBase(KnowledgeConfig.parse({}));
const MODEL_PATH = process.env.NIGHTSHIFT_LLM_LOCAL_MODEL || DEFAULT_LOCAL_MODEL_PATH;
// Both the model file and the optional package are needed; either missing skips the real-model tests.
const modelPresent = existsSync(MODEL_PATH) && existsSync(new URL('../node_modules/node-llama-cpp/package.json', import.meta.url));

function cfgFor(path: string, over: Partial<LlmConfig> = {}): ActiveLlmConfig {
  // Bounded for a 2-core CPU: a short prompt and answer keep one run (plus its repair) well under the test's limit.
  return { ...LlmConfig.parse({ maxInputTokens: 4000, maxOutputTokens: 600, timeoutMs: 50_000, ...over }), model: `local:${path}` };
}
function reasonerWith(client: LocalLlamaClient, cfg: ActiveLlmConfig): LlmReasoner {
  return new LlmReasoner({ client, cfg, kb: KB, retriever: new Retriever(KB, cfg.knowledge), redactor: new Redactor(cfg.redact) });
}

describe('local model: configuration', () => {
  it('NIGHTSHIFT_LLM_LOCAL_MODEL selects an in-process model, priced at zero', () => {
    const cfg = llmConfigFromEnv({ NIGHTSHIFT_LLM_LOCAL_MODEL: '/m/x.gguf' });
    expect(cfg?.model).toBe('local:/m/x.gguf');
    expect(localModelPath(cfg!.model)).toBe('/m/x.gguf');
    expect(localModelPath('gpt-4o-mini')).toBeNull();
    expect(estimateCostUsd('local:/m/x.gguf', 5000, 500, {})).toBe(0);
    expect(llmConfigFromEnv({ NIGHTSHIFT_LLM_MODEL: 'local:/m/x.gguf' })?.model).toBe('local:/m/x.gguf');
  });

  it('two different models in the environment are a configuration error', () => {
    expect(() => llmConfigFromEnv({ NIGHTSHIFT_LLM_LOCAL_MODEL: '/m/x.gguf', NIGHTSHIFT_LLM_MODEL: 'gpt-4o' })).toThrow(/name different models/);
    expect(llmConfigFromEnv({ NIGHTSHIFT_LLM_LOCAL_MODEL: '/m/x.gguf', NIGHTSHIFT_LLM_MODEL: 'local:/m/x.gguf' })?.model).toBe('local:/m/x.gguf');
  });

  it('builds a client only for local: models', () => {
    expect(localClientFromConfig({ model: 'gpt-4o', timeoutMs: 1000 })).toBeNull();
    expect(localClientFromConfig({ model: 'local:/m/x.gguf', timeoutMs: 1000 })?.modelPath).toBe('/m/x.gguf');
  });

  it('bounds every unbounded array of the answer schema for the grammar, keeping given limits', () => {
    const s = boundArrays({ type: 'object', properties: { a: { type: 'array', items: { type: 'array', items: { type: 'string' } } }, b: { type: 'array', maxItems: 3 } } });
    expect(s).toEqual({
      type: 'object',
      properties: { a: { type: 'array', maxItems: LOCAL_MAX_ARRAY_ITEMS, items: { type: 'array', maxItems: LOCAL_MAX_ARRAY_ITEMS, items: { type: 'string' } } }, b: { type: 'array', maxItems: 3 } },
    });
  });

  it('maps the chat to a history and a final user prompt, and refuses a chat that does not end with the user', () => {
    const { history, prompt } = toHistory([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'fix it' },
    ]);
    expect(history).toEqual([{ type: 'system', text: 'sys' }, { type: 'user', text: 'q1' }, { type: 'model', response: ['a1'] }]);
    expect(prompt).toBe('fix it');
    expect(() => toHistory([{ role: 'system', content: 'sys' }])).toThrow(NightshiftError);
  });

  it('a missing model file is a clear CONFIG_INVALID, and the reasoner falls back to the ranker', async () => {
    const path = '/nonexistent/nightshift-model.gguf';
    const client = new LocalLlamaClient(path);
    const { bundle, ranked } = dbOutage();
    const { causes, run } = await reasonerWith(client, cfgFor(path)).reason(bundle, ranked, 'first', new AbortController().signal);
    expect(causes).toBeNull();
    expect(run).toMatchObject({ outcome: 'fallback', reason: 'error:CONFIG_INVALID', model: `local:${path}` });
    await expect(client.complete({ messages: [{ role: 'user', content: 'x' }], schema: { name: 'a', description: 'a', schema: {} }, maxOutputTokens: 10, temperature: 0 }, new AbortController().signal)).rejects.toThrow(
      /does not exist.*get-local-model\.sh/,
    );
  });
});

describe('local model: node-llama-cpp is opt-in', () => {
  it('without the package, loading fails as CONFIG_INVALID naming the install step', async () => {
    const err = await importNodeLlamaCpp('nightshift-absent-node-llama-cpp').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NightshiftError);
    expect((err as NightshiftError).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toContain(NODE_LLAMA_CPP_INSTALL);
  });

  it('is no dependency of the package, and CI installs it with the documented command', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'optionalDependencies', 'devDependencies', 'peerDependencies']) expect(pkg[field]?.['node-llama-cpp'], field).toBeUndefined();
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(ci).toContain(NODE_LLAMA_CPP_INSTALL);
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).toContain(NODE_LLAMA_CPP_INSTALL);
  });

  // .ci/run sets this after installing the package and the model, so there the real-model test cannot skip silently.
  it.runIf(process.env.NIGHTSHIFT_REQUIRE_LOCAL_LLM === '1')('CI has the package and the model, so the real-model test runs', () => {
    expect(existsSync(new URL('../node_modules/node-llama-cpp/package.json', import.meta.url)), NODE_LLAMA_CPP_INSTALL).toBe(true);
    expect(existsSync(MODEL_PATH), 'bash scripts/get-local-model.sh').toBe(true);
  });
});

describe('local model: one incident through a real GGUF model', () => {
  const client = new LocalLlamaClient(MODEL_PATH, { timeoutMs: 50_000 });
  afterAll(async () => client.close());

  it.skipIf(!modelPresent)(
    `the guard holds whatever the model says (skipped without ${MODEL_PATH}: bash scripts/get-local-model.sh, or without node-llama-cpp: ${NODE_LLAMA_CPP_INSTALL})`,
    async () => {
      const cfg = cfgFor(MODEL_PATH);
      const { bundle, ranked } = dbOutage();
      const t0 = performance.now();
      const { causes, run } = await reasonerWith(client, cfg).reason(bundle, ranked, 'first', new AbortController().signal);
      const ms = Math.round(performance.now() - t0);
      console.info(`local model: ${run.outcome} (${run.reason ?? 'ok'}) in ${ms} ms, attempts ${run.attempts}, tokens ${run.tokens_in}/${run.tokens_out}, guard ${JSON.stringify(run.guard)}`);

      // The run is recorded as the local model's, with real token counts and no cost.
      expect(run.model).toBe(`local:${MODEL_PATH}`);
      expect(run.attempts).toBeGreaterThanOrEqual(1);
      expect(run.tokens_estimated).toBe(false);
      expect(run.tokens_in).toBeGreaterThan(100);
      expect(run.cost_usd).toBe(0);
      expect(run.response_format).toBe('json_schema');
      // A weak model may fail (cut answer, invented ids); that is a fallback with a reason, never an exception.
      if (run.outcome === 'fallback') {
        expect(causes).toBeNull();
        expect(run.reason).toMatch(/^(invalid_output|guard_rejected_all|error:TIMEOUT)$/);
        return;
      }
      // Whatever it said, what is published is grounded in the bundle.
      const services = new Set(bundle.services);
      const evidence = bundleEvidenceIds(bundle);
      expect(causes!.length).toBeGreaterThan(0);
      expect(causes!.length).toBeLessThanOrEqual(3);
      expect(causes!.map((c) => c.rank)).toEqual(causes!.map((_, i) => i + 1));
      for (const c of causes!) {
        expect(services.has(c.service), c.service).toBe(true);
        expect(c.evidence.length).toBeGreaterThan(0);
        for (const e of c.evidence) expect(evidence.has(e), e).toBe(true);
        expect(c.confidence).toBeGreaterThanOrEqual(0);
      }
      expect(causes!.reduce((a, c) => a + c.confidence, 0)).toBeLessThanOrEqual(1 + 1e-9);
      expect(new Set(causes!.map((c) => c.service)).size).toBe(causes!.length);
      expect(run.guard).not.toBeNull();
      expect(run.llm_top.length).toBe(run.guard!.causes_accepted);
      for (const s of run.llm_top) expect(services.has(s)).toBe(true);
    },
    300_000, // a shared 2-core CI machine runs other test files beside this one
  );

  it.skipIf(!modelPresent)(
    `a forced answer is valid JSON by grammar, and the guard keeps only what the bundle backs (skipped without ${MODEL_PATH})`,
    async () => {
      const cfg = cfgFor(MODEL_PATH);
      const { bundle, ranked } = dbOutage();
      const session = new Redactor(cfg.redact).session();
      const prompt = buildPrompt({ bundle, ranked, knowledge: [], session, maxInputTokens: cfg.maxInputTokens, maxOutputTokens: cfg.maxOutputTokens, temperature: 0, snippetChars: 200 });
      // A tiny model happily answers "no causes"; requiring one (and only one, so that it fits the token limit on a
      // 2-core CPU) makes it commit to a claim the guard must judge.
      const schema = structuredClone(prompt.request.schema.schema) as { properties: { causes: Record<string, unknown> } };
      schema.properties.causes.minItems = 1;
      schema.properties.causes.maxItems = 1;
      const t0 = performance.now();
      const r = await client.complete({ ...prompt.request, schema: { ...prompt.request.schema, schema } }, new AbortController().signal);
      const ms = Math.round(performance.now() - t0);
      console.info(`local model, forced answer in ${ms} ms (${r.tokensIn}/${r.tokensOut} tokens, ${r.finishReason}): ${r.content.slice(0, 600)}`);
      expect(r.format).toBe('json_schema');
      expect(r.tokensOut).toBeGreaterThan(0);
      const parsed = parseAnswer(r.content);
      if (r.finishReason === 'length') return; // cut by maxOutputTokens: nothing to judge, and the reasoner would fall back.
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.causes.length).toBeGreaterThanOrEqual(1);
      const g = guardCauses(session.restoreDeep(parsed.causes), bundle, new Set(KB.byId.keys()));
      expect(g.causesProposed).toBe(parsed.causes.length);
      expect(g.accepted.length + g.rejected.length).toBeGreaterThanOrEqual(Math.min(3, parsed.causes.length));
      const services = new Set(bundle.services);
      const evidence = bundleEvidenceIds(bundle);
      for (const c of g.accepted) {
        expect(services.has(c.service), c.service).toBe(true);
        for (const e of c.evidence) expect(evidence.has(e), e).toBe(true);
      }
      expect(g.accepted.reduce((a, c) => a + c.confidence, 0)).toBeLessThanOrEqual(1 + 1e-9);
      for (const x of g.rejected) expect(['malformed', 'over_limit', 'bad_kind', 'duplicate_service', ...HALLUCINATION_REASONS]).toContain(x.reason);
      console.info(`guard: ${g.accepted.length} accepted, rejected ${JSON.stringify(g.rejected.map((x) => x.reason))}`);
    },
    300_000, // a shared 2-core CI machine runs other test files beside this one
  );
});
