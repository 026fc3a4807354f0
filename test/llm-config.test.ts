import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { estimateCostUsd, llmConfigFromEnv, priceOf } from '../reasoning/llm/config.js';
import { formatRunSummary, retrievalHitVsTruth, summarizeRuns } from '../eval/llm.js';
import { knowledgeBaseOf } from '../reasoning/rag/kb.js';
import type { ScenarioReport } from '../eval/metrics.js';
import { RunLog, skippedRun, type ReasoningRun } from '../reasoning/llm/run.js';

describe('LLM configuration', () => {
  it('is off without a model', () => {
    expect(llmConfigFromEnv({})).toBeNull();
    expect(llmConfigFromEnv({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://localhost:11434/v1' })).toBeNull();
  });

  it('is on with NIGHTSHIFT_LLM_MODEL and honours the standard OpenAI variables', () => {
    const c = llmConfigFromEnv({ NIGHTSHIFT_LLM_MODEL: 'gpt-4o-mini', OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://localhost:11434/v1' });
    expect(c).toMatchObject({ model: 'gpt-4o-mini', apiKey: 'sk-x', baseUrl: 'http://localhost:11434/v1', mode: 'async', responseFormat: 'auto', concurrency: 2, maxInputTokens: 8000 });
    expect(c?.knowledge.topK).toBe(3);
    expect(c?.redact.enabled).toBe(true);
  });

  it('is on with a model in the file; the environment wins over the file, the file over the caller\'s defaults', () => {
    const file = { model: 'llama3.1:8b', baseUrl: 'http://ollama:11434/v1', concurrency: 1, mode: 'async', knowledge: { topK: 5 } };
    expect(llmConfigFromEnv({}, file)).toMatchObject({ model: 'llama3.1:8b', concurrency: 1, knowledge: { topK: 5 } });
    const c = llmConfigFromEnv(
      { NIGHTSHIFT_LLM_MODEL: 'qwen2.5:7b', NIGHTSHIFT_LLM_CONCURRENCY: '4', NIGHTSHIFT_LLM_TIMEOUT_MS: '5000', NIGHTSHIFT_LLM_TOKEN_BUDGET: '20000', NIGHTSHIFT_KNOWLEDGE_DIR: '/kb', NIGHTSHIFT_EMBEDDINGS_MODEL: 'nomic-embed-text', NIGHTSHIFT_LLM_RESPONSE_FORMAT: 'tools' },
      file,
      { mode: 'inline' },
    );
    expect(c).toMatchObject({ model: 'qwen2.5:7b', concurrency: 4, timeoutMs: 5000, tokenBudget: 20000, mode: 'async', responseFormat: 'tools', knowledge: { dir: '/kb', topK: 5 }, embeddings: { model: 'nomic-embed-text' } });
    expect(llmConfigFromEnv({ NIGHTSHIFT_LLM_MODEL: 'm' }, undefined, { mode: 'inline' })?.mode).toBe('inline');
    expect(llmConfigFromEnv({ NIGHTSHIFT_LLM_MODEL: 'm', NIGHTSHIFT_LLM_MODE: 'async' }, undefined, { mode: 'inline' })?.mode).toBe('async');
  });

  it('rejects bad values with every problem named', () => {
    const bad = () => llmConfigFromEnv({ NIGHTSHIFT_LLM_MODEL: 'm', NIGHTSHIFT_LLM_MODE: 'sometimes' }, { concurrency: 0, baseUrl: 'not a url' });
    expect(bad).toThrow(NightshiftError);
    expect(bad).toThrow(/llm\.concurrency.*llm\.baseUrl|llm\.baseUrl.*llm\.concurrency/);
    expect(bad).toThrow(/llm\.mode/);
    expect(() => llmConfigFromEnv({ NIGHTSHIFT_LLM_MODEL: 'm', NIGHTSHIFT_LLM_CONCURRENCY: 'two' })).toThrow(/NIGHTSHIFT_LLM_CONCURRENCY=two is not an integer/);
    expect(() => llmConfigFromEnv({}, ['x'])).toThrow(/llm: must be an object/);
  });

  it('prices known models, dated variants and configured ones; unknown is null, not zero', () => {
    expect(priceOf('gpt-4o-mini-2024-07-18', {})).toEqual({ input: 0.15, output: 0.6 });
    expect(priceOf('llama3.1:8b', {})).toBeNull();
    expect(estimateCostUsd('llama3.1:8b', 1000, 100, { 'llama3.1:8b': { input: 0, output: 0 } })).toBe(0);
    expect(estimateCostUsd('gpt-4o', 1_000_000, 100_000, {})).toBeCloseTo(3.5, 10);
  });
});

describe('run summary', () => {
  const base = skippedRun('i1', 0, 'first', 'gpt-4o-mini', 'queue_full', ['a']);
  const run = (p: Partial<ReasoningRun>): ReasoningRun => ({ ...base, outcome: 'llm', reason: null, attempts: 1, ...p });
  it('summarizes outcomes, hallucination, latency quantiles, tokens and cost per incident', () => {
    const g = { causes_proposed: 3, causes_accepted: 2, causes_rejected: 1, hallucinated_causes: 1, evidence_proposed: 10, evidence_rejected: 2, runbooks_rejected: 0, confidence_clipped: false, renormalized: false, rejections: [] };
    const runs = [
      run({ incident_id: 'i1', latency_ms: 100, tokens_in: 1000, tokens_out: 100, cost_usd: 0.001, guard: g, agreement: { top1: true, overlap_at_3: 1 }, retrieval: { method: 'bm25', docs: [], hit: true } }),
      run({ incident_id: 'i1', latency_ms: 300, tokens_in: 2000, tokens_out: 200, cost_usd: 0.002, guard: g, repaired: true, attempts: 2, agreement: { top1: false, overlap_at_3: 0.5 }, retrieval: { method: 'bm25', docs: [], hit: false } }),
      run({ incident_id: 'i2', latency_ms: 200, tokens_in: 500, tokens_out: 50, cost_usd: 0.0005, outcome: 'fallback', reason: 'error:TIMEOUT', guard: null, agreement: null }),
      base,
    ];
    const s = summarizeRuns(runs);
    expect(s).toMatchObject({
      records: 4,
      model_runs: 3,
      incidents: 2,
      by_outcome: { llm: 2, 'fallback:error:TIMEOUT': 1, 'skipped:queue_full': 1 },
      causes_proposed: 6,
      causes_rejected: 2,
      latency_p50_ms: 200,
      latency_p95_ms: 300,
      tokens_in: 3500,
      tokens_out: 350,
      tokens_per_incident: 1925,
      retrieval_hit_rate: 0.5,
      agreement_top1: 0.5,
    });
    expect(s.hallucination_rate_causes).toBeCloseTo(2 / 6, 10);
    expect(s.hallucination_rate_evidence).toBeCloseTo(0.2, 10);
    expect(s.published_rate).toBeCloseTo(2 / 3, 10);
    expect(s.repair_rate).toBeCloseTo(1 / 3, 10);
    expect(s.cost_usd).toBeCloseTo(0.0035, 10);
    expect(s.cost_usd_per_incident).toBeCloseTo(0.00175, 10);
    expect(summarizeRuns([...runs, run({ cost_usd: null })]).cost_usd).toBeNull();
    expect(formatRunSummary(s)).toMatch(/llm \(gpt-4o-mini\): +3 runs for 2 incidents/);
    expect(formatRunSummary(summarizeRuns([]))).toBe('');
  });
});

describe('retrieval judged against the ground truth', () => {
  const kb = knowledgeBaseOf([
    { id: 'RB-DB', type: 'runbook', title: 't', services: ['*-db'], kinds: ['errors'], templates: [], tags: [], body: '', source: 'x' },
    { id: 'RB-LAT', type: 'runbook', title: 't', services: ['*-api'], kinds: ['latency'], templates: [], tags: [], body: '', source: 'x' },
  ]);
  const fault = (incident: string | null, service: string, kind: string) => ({ fault_id: 'f', service, kind, detected: true, incident_id: incident, rank: 1, predicted_top: service, predicted_kind: kind, delay_ms: 0 });
  const report = { per_fault: [fault('i1', 'orders-db', 'errors'), fault('i2', 'orders-db', 'latency'), fault('i3', 'cart-worker', 'errors'), fault(null, 'x', 'errors')] } as unknown as ScenarioReport;
  const runWith = (incident: string, docs: string[]): ReasoningRun => ({ ...skippedRun(incident, 0, 'first', 'm', 'queue_full', []), retrieval: { method: 'bm25', docs: docs.map((id) => ({ id, score: 1, relevant: true })), hit: true } });
  it('counts a fault as hit when a retrieved document carries its service or kind (strict: both)', () => {
    const runs = [runWith('i1', ['RB-DB']), runWith('i2', ['RB-DB']), runWith('i3', ['RB-LAT'])];
    expect(retrievalHitVsTruth(runs, [report], kb)).toBeCloseTo(2 / 3, 10); // i3: cart-worker errors vs *-api latency: no
    expect(retrievalHitVsTruth(runs, [report], kb, true)).toBeCloseTo(1 / 3, 10);
    expect(retrievalHitVsTruth([], [report], kb)).toBeNull();
  });
});

describe('run log', () => {
  it('keeps at most its capacity, without per-cause texts, and counts the rest', () => {
    const log = new RunLog(2);
    const r = { ...skippedRun('i', 0, 'first', 'm', 'queue_full', []), causes: [{ service: 's', kind: 'errors' as const, confidence: 1, explanation: 'long', evidence: [], next_steps: [] }] };
    for (let i = 0; i < 5; i++) log.add(r);
    expect(log.runs).toHaveLength(2);
    expect(log.runs[0]?.causes).toEqual([]);
    expect(log.dropped).toBe(3);
  });
});
