import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import type { Emitter } from '../core/stage.js';
import { sleep, type CompletionRequest, type CompletionResult, type LlmClient } from '../reasoning/llm/client.js';
import { LlmConfig, type ActiveLlmConfig } from '../reasoning/llm/config.js';
import { LlmReasoner } from '../reasoning/llm/reasoner.js';
import type { ReasoningRun } from '../reasoning/llm/run.js';
import { LlmReasoningStage } from '../reasoning/llm/stage.js';
import { KnowledgeConfig, loadKnowledgeBase, Retriever } from '../reasoning/rag/index.js';
import { Redactor } from '../reasoning/redact/index.js';
import { ReasoningConfig, ReasoningStage } from '../reasoning/stage.js';
import { IncidentOutput, type IncidentBundle } from '../schemas/index.js';
import { groundedAnswer, type ChatBody } from './fakes/openai.js';
import { dbOutage } from './fakes/openai-fixtures.js';

const KB = loadKnowledgeBase(KnowledgeConfig.parse({}));

type Reply = (req: CompletionRequest, n: number, signal: AbortSignal) => Promise<CompletionResult> | CompletionResult;

/** An in-process model behind the LlmClient interface, scripted per call. */
class ScriptedClient implements LlmClient {
  readonly model = 'fake-model';
  readonly calls: CompletionRequest[] = [];
  constructor(public reply: Reply) {}
  async complete(req: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    const n = this.calls.length;
    this.calls.push(req);
    return this.reply(req, n, signal);
  }
}

const good = (req: CompletionRequest, tokens = 100): CompletionResult => ({
  content: groundedAnswer(req as unknown as ChatBody),
  format: 'json_schema',
  tokensIn: tokens,
  tokensOut: tokens / 10,
  finishReason: 'stop',
  retries: 0,
});

function setup(over: Partial<LlmConfig>, reply: Reply, now?: () => number) {
  const cfg: ActiveLlmConfig = { ...LlmConfig.parse({ mode: 'inline', ...over }), model: 'fake-model' };
  const client = new ScriptedClient(reply);
  const runs: ReasoningRun[] = [];
  const ranked: IncidentOutput[] = [];
  const reasoner = new LlmReasoner({ client, cfg, kb: KB, retriever: new Retriever(KB, cfg.knowledge), redactor: new Redactor(cfg.redact) });
  const stage = new LlmReasoningStage({
    cfg,
    ranker: new ReasoningStage(ReasoningConfig.parse({})),
    reasoner,
    onRun: (r) => runs.push(r),
    onRanked: (o) => ranked.push(o),
    ...(now ? { now } : {}),
  });
  const outputs: IncidentOutput[] = [];
  const em: Emitter<IncidentOutput> = { emit: (o) => outputs.push(o) };
  return { stage, client, runs, ranked, outputs, em };
}

/** Update n of an incident: counts grow; `withChange` adds a change (the trigger for a new run). */
function update(id: string, n: number, withChange = false): IncidentBundle {
  const b = dbOutage({ id, updatedAt: 1_780_000_300_000 + n * 60_000 }).bundle;
  const changes = withChange
    ? [...b.changes, { kind: 'change' as const, id: `cfg-${n}`, ts: b.opened_at + n, service: 'checkout-api', change_kind: 'config' as const, summary: 'checkout-api: raise timeout to 5s' }]
    : b.changes;
  return { ...b, counts: { ...b.counts, events: b.counts.events + n }, changes };
}

/** Waits (bounded: 5 s) until a condition holds; the stage's answers arrive on the event loop. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
  expect(cond()).toBe(true);
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('LLM reasoning stage, inline mode', () => {
  it('emits the ranker first, then the LLM update; keeps the LLM result while current; reruns on a new change', async () => {
    const t = setup({}, (req) => good(req));
    await t.stage.process(update('inc_a', 1), t.em);
    await t.stage.process(update('inc_a', 2), t.em);
    await t.stage.process(update('inc_a', 3, true), t.em);
    await t.stage.flush(t.em);
    expect(t.outputs.map((o) => [o.counts.events, o.reasoner])).toEqual([
      [1001, 'ranker'],
      [1001, 'llm:fake-model'],
      [1002, 'llm:fake-model'], // same candidates: the LLM's answer still stands
      [1003, 'ranker'], // a new change: the ranker first again...
      [1003, 'llm:fake-model'], // ...then the new answer
    ]);
    for (const o of t.outputs) expect(IncidentOutput.safeParse(o).success).toBe(true);
    expect(t.runs.map((r) => [r.trigger, r.outcome])).toEqual([
      ['first', 'llm'],
      ['changes_changed', 'llm'],
    ]);
    expect(t.ranked).toHaveLength(3);
    expect(t.ranked.every((o) => o.reasoner === 'ranker')).toBe(true);
    expect(t.stage.runCounts()).toEqual({ llm: 2 });
  });

  it('reruns when the ranker\'s candidates change (a change on the top service makes it a deploy)', async () => {
    const t = setup({}, (req) => good(req));
    await t.stage.process(update('inc_a', 1), t.em);
    const b = update('inc_a', 2);
    await t.stage.process({ ...b, changes: [...b.changes, { kind: 'change', id: 'deploy-db', ts: b.opened_at - 60_000, service: 'payments-db', change_kind: 'deploy', summary: 'deploy payments-db 16.2' }] }, t.em);
    expect(t.runs.map((r) => r.trigger)).toEqual(['first', 'candidates_changed']);
    expect(t.outputs.at(-1)?.root_causes[0]).toMatchObject({ service: 'payments-db', kind: 'deploy' });
  });

  it('is reproducible: the same input gives the same output lines', async () => {
    const run = async () => {
      const t = setup({}, async (req, n) => {
        await sleep(n % 2 === 0 ? 30 : 1); // answers take different times
        return good(req);
      });
      for (const [id, n, ch] of [['inc_a', 1, false], ['inc_b', 1, false], ['inc_a', 2, true], ['inc_c', 1, false], ['inc_b', 2, false]] as const) await t.stage.process(update(id, n, ch), t.em);
      await t.stage.flush(t.em);
      return JSON.stringify(t.outputs);
    };
    const a = await run();
    expect(await run()).toBe(a);
    expect(a).toContain('llm:fake-model');
  });

  it('keeps the ranker\'s result when the model answers badly', async () => {
    const t = setup({}, () => ({ content: 'no idea', format: 'json_schema', tokensIn: 10, tokensOut: 2, finishReason: 'stop', retries: 0 }));
    await t.stage.process(update('inc_a', 1), t.em);
    await t.stage.flush(t.em);
    expect(t.outputs.map((o) => o.reasoner)).toEqual(['ranker']);
    expect(t.runs[0]).toMatchObject({ outcome: 'fallback', reason: 'invalid_output', attempts: 2 });
  });

  it('bounds runs per incident and tokens per incident', async () => {
    const t = setup({ maxRunsPerIncident: 1 }, (req) => good(req));
    await t.stage.process(update('inc_a', 1), t.em);
    await t.stage.process(update('inc_a', 2, true), t.em);
    expect(t.runs.map((r) => r.reason)).toEqual([null, 'max_runs']);
    const u = setup({ tokenBudget: 1000 }, (req) => good(req, 1200));
    await u.stage.process(update('inc_a', 1), u.em);
    await u.stage.process(update('inc_a', 2, true), u.em);
    expect(u.runs.map((r) => [r.outcome, r.reason])).toEqual([
      ['llm', null],
      ['skipped', 'token_budget'],
    ]);
    expect(u.client.calls).toHaveLength(1);
  });

  it('pauses the LLM after consecutive failures (circuit breaker) and resumes after the cool-down', async () => {
    let clock = 0;
    const t = setup({ breakerFailures: 2, breakerCooldownMs: 1000 }, () => {
      throw new NightshiftError('IO_ERROR', 'down');
    }, () => clock);
    for (const id of ['a', 'b', 'c']) await t.stage.process(update(id, 1), t.em);
    expect(t.runs.map((r) => r.reason)).toEqual(['error:IO_ERROR', 'error:IO_ERROR', 'circuit_open']);
    clock = 1001;
    await t.stage.process(update('d', 1), t.em);
    expect(t.runs.at(-1)?.reason).toBe('error:IO_ERROR');
    expect(t.outputs.every((o) => o.reasoner === 'ranker')).toBe(true);
  });
});

describe('LLM reasoning stage, async mode', () => {
  it('never delays the first output: a slow model answers later, at the next input', async () => {
    const gate = deferred<void>();
    const t = setup({ mode: 'async' }, async (req) => {
      await gate.promise;
      return good(req);
    });
    const t0 = performance.now();
    await t.stage.process(update('inc_a', 1), t.em);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(t.outputs.map((o) => o.reasoner)).toEqual(['ranker']);
    gate.resolve();
    await until(() => t.stage.readyAnswers === 1);
    await t.stage.process(update('inc_b', 1), t.em);
    expect(t.outputs.map((o) => [o.incident_id, o.reasoner])).toEqual([
      ['inc_a', 'ranker'],
      ['inc_a', 'llm:fake-model'],
      ['inc_b', 'ranker'],
    ]);
    await t.stage.flush(t.em);
    expect(t.outputs.at(-1)).toMatchObject({ incident_id: 'inc_b', reasoner: 'llm:fake-model' });
  });

  it('skips the LLM when its queue is full, replacing a waiting update of the same incident instead', async () => {
    const gate = deferred<void>();
    const t = setup({ mode: 'async', concurrency: 1, queueSize: 1 }, async (req) => {
      await gate.promise;
      return good(req);
    });
    await t.stage.process(update('inc_a', 1), t.em); // runs
    await t.stage.process(update('inc_b', 1), t.em); // waits
    await t.stage.process(update('inc_b', 2, true), t.em); // replaces the waiting one
    await t.stage.process(update('inc_c', 1), t.em); // queue full: skipped
    expect(t.runs.map((r) => [r.incident_id, r.outcome, r.reason])).toEqual([['inc_c', 'skipped', 'queue_full']]);
    expect(t.outputs.filter((o) => o.incident_id === 'inc_c').map((o) => o.reasoner)).toEqual(['ranker']);
    gate.resolve();
    await t.stage.flush(t.em);
    expect(t.client.calls).toHaveLength(2);
    const bRun = t.runs.find((r) => r.incident_id === 'inc_b')!;
    expect(bRun.bundle_updated_at).toBe(update('inc_b', 2).updated_at);
    expect(t.outputs.filter((o) => o.reasoner.startsWith('llm:')).map((o) => o.incident_id)).toEqual(['inc_a', 'inc_b']);
  });

  it('drops a stale answer when the incident moved on while the model thought', async () => {
    const gates = [deferred<void>(), deferred<void>()];
    const t = setup({ mode: 'async', concurrency: 2 }, async (req, n) => {
      await gates[n]!.promise;
      return good(req);
    });
    await t.stage.process(update('inc_a', 1), t.em);
    await t.stage.process(update('inc_a', 2, true), t.em);
    gates[0]!.resolve();
    await until(() => t.stage.readyAnswers === 1);
    await t.stage.process(update('inc_z', 1), t.em);
    expect(t.runs[0]).toMatchObject({ outcome: 'fallback', reason: 'superseded' });
    gates[1]!.resolve();
    await t.stage.flush(t.em);
    const llm = t.outputs.filter((o) => o.incident_id === 'inc_a' && o.reasoner.startsWith('llm:'));
    expect(llm).toHaveLength(1);
    expect(llm[0]?.counts.events).toBe(1002);
  });

  it('close() aborts runs in flight and returns', async () => {
    const t = setup({ mode: 'async' }, (_req, _n, signal) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new NightshiftError('TIMEOUT', 'aborted')))));
    await t.stage.process(update('inc_a', 1), t.em);
    const t0 = performance.now();
    await t.stage.close();
    expect(performance.now() - t0).toBeLessThan(500);
    await t.stage.process(update('inc_b', 1), t.em);
    // The aborted run is recorded (at the next input), then no new run starts.
    expect(t.runs.map((r) => r.reason)).toEqual(['error:TIMEOUT', 'closed']);
  });

  it('a run that exceeds runTimeoutMs is cut and recorded', async () => {
    const t = setup({ mode: 'async', runTimeoutMs: 100 }, (_req, _n, signal) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new NightshiftError('TIMEOUT', 'deadline')))));
    await t.stage.process(update('inc_a', 1), t.em);
    await t.stage.flush(t.em);
    expect(t.runs[0]).toMatchObject({ outcome: 'fallback', reason: 'error:TIMEOUT' });
    expect(t.runs[0]!.latency_ms).toBeGreaterThanOrEqual(90);
  });
});

describe('dry-run model', () => {
  it('runs the whole path offline and publishes the ranker\'s own candidates under llm:dry-run', async () => {
    const { createLlmStage } = await import('../reasoning/llm/create.js');
    const runs: ReasoningRun[] = [];
    const cfg: ActiveLlmConfig = { ...LlmConfig.parse({ mode: 'inline', baseUrl: 'http://127.0.0.1:9/v1' }), model: 'dry-run' };
    const stage = createLlmStage(cfg, { ranker: new ReasoningStage(ReasoningConfig.parse({})), knowledge: KB, onRun: (r) => runs.push(r) });
    const outputs: IncidentOutput[] = [];
    await stage.process(update('inc_a', 1), { emit: (o) => outputs.push(o) });
    await stage.flush({ emit: (o) => outputs.push(o) });
    expect(outputs.map((o) => o.reasoner)).toEqual(['ranker', 'llm:dry-run']);
    expect(outputs[1]?.root_causes.map((c) => c.service)).toEqual(outputs[0]?.root_causes.map((c) => c.service));
    expect(runs[0]).toMatchObject({ outcome: 'llm', cost_usd: 0, agreement: { top1: true, overlap_at_3: 1 } });
    expect(runs[0]!.prompt_tokens_estimated).toBeGreaterThan(1000);
  });
});
