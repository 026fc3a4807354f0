import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { ANSWER_SCHEMA_NAME, answerJsonSchema } from '../reasoning/llm/answer.js';
import type { CompletionRequest } from '../reasoning/llm/client.js';
import { LlmConfig, type ActiveLlmConfig } from '../reasoning/llm/config.js';
import { OpenAiLlmClient } from '../reasoning/llm/openai-client.js';
import { FakeOpenAi, type ChatBody, type FakeReply } from './fakes/openai.js';

const fake = new FakeOpenAi(() => ({ kind: 'content', content: '{}' }));
let baseUrl = '';
beforeAll(async () => {
  baseUrl = await fake.start();
});
afterAll(async () => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.chatCount = 0;
});

function cfg(over: Partial<LlmConfig> = {}): ActiveLlmConfig {
  return { ...LlmConfig.parse({ baseUrl, timeoutMs: 1000, maxRetries: 2, maxRetryAfterMs: 2000, ...over }), model: 'test-model' };
}
const client = (over: Partial<LlmConfig> = {}) => new OpenAiLlmClient(cfg(over), { retryBaseMs: 5 });

const REQ: CompletionRequest = {
  messages: [
    { role: 'system', content: 'sys' },
    { role: 'user', content: '{"incident":{}}' },
  ],
  schema: { name: ANSWER_SCHEMA_NAME, description: 'd', schema: answerJsonSchema() },
  maxOutputTokens: 300,
  temperature: 0,
};
const signal = () => new AbortController().signal;
const ok: FakeReply = { kind: 'content', content: '{"causes":[]}', usage: { in: 120, out: 7 } };

async function failure(p: Promise<unknown>): Promise<NightshiftError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NightshiftError);
    return e as NightshiftError;
  }
  throw new Error('expected a failure');
}

describe('OpenAI-compatible client', () => {
  it('sends a non-streaming chat completion with a strict JSON schema and reads content and usage', async () => {
    fake.script = () => ok;
    const r = await client().complete(REQ, signal());
    expect(r).toEqual({ content: '{"causes":[]}', format: 'json_schema', tokensIn: 120, tokensOut: 7, finishReason: 'stop', retries: 0 });
    const [body] = fake.chatBodies();
    expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
    expect(body).toMatchObject({ model: 'test-model', stream: false, temperature: 0, max_tokens: 300, messages: REQ.messages });
    expect(body?.response_format).toEqual({ type: 'json_schema', json_schema: { name: ANSWER_SCHEMA_NAME, description: 'd', schema: answerJsonSchema(), strict: true } });
  });

  it('in auto mode steps down to json_object when the server rejects json_schema, and remembers it', async () => {
    fake.script = (b: ChatBody) => (b.response_format?.type === 'json_schema' ? { kind: 'status', status: 400, body: { error: { message: "response_format 'json_schema' is not supported" } } } : ok);
    const c = client();
    const r = await c.complete(REQ, signal());
    expect(r.format).toBe('json_object');
    expect(r.retries).toBe(1);
    await c.complete(REQ, signal());
    expect(fake.chatBodies().map((b) => b.response_format?.type)).toEqual(['json_schema', 'json_object', 'json_object']);
  });

  it('steps down to the prompt alone when the server takes no response_format at all', async () => {
    fake.script = (b: ChatBody) => (b.response_format ? { kind: 'status', status: 400, body: { error: { message: 'unknown field response_format' } } } : ok);
    const r = await client().complete(REQ, signal());
    expect(r.format).toBe('none');
    expect(fake.chatCount).toBe(3);
  });

  it('with a fixed format, a 400 is an error (no silent downgrade)', async () => {
    fake.script = () => ({ kind: 'status', status: 400, body: { error: { message: 'json_schema unsupported' } } });
    const e = await failure(client({ responseFormat: 'json_schema' }).complete(REQ, signal()));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(fake.chatCount).toBe(1);
  });

  it('switches to max_completion_tokens and drops temperature when the server asks', async () => {
    fake.script = (b: ChatBody) => {
      if (b.max_tokens !== undefined) return { kind: 'status', status: 400, body: { error: { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead." } } };
      if (b.temperature !== undefined) return { kind: 'status', status: 400, body: { error: { message: "Unsupported value: 'temperature' does not support 0 with this model." } } };
      return ok;
    };
    const r = await client().complete(REQ, signal());
    expect(r.format).toBe('json_schema');
    const last = fake.chatBodies().at(-1)!;
    expect(last.max_completion_tokens).toBe(300);
    expect(last.max_tokens).toBeUndefined();
    expect(last.temperature).toBeUndefined();
  });

  it('forces a tool call in tools mode and reads its arguments', async () => {
    fake.script = () => ({ kind: 'tool', args: '{"causes":[{"service":"x"}]}' });
    const r = await client({ responseFormat: 'tools' }).complete(REQ, signal());
    expect(r.content).toBe('{"causes":[{"service":"x"}]}');
    expect(r.format).toBe('tools');
    const [body] = fake.chatBodies();
    expect(body?.tools?.[0]?.function).toMatchObject({ name: ANSWER_SCHEMA_NAME, parameters: answerJsonSchema() });
    expect(body?.tool_choice).toEqual({ type: 'function', function: { name: ANSWER_SCHEMA_NAME } });
    expect(body?.response_format).toBeUndefined();
  });

  it('honours Retry-After on 429', async () => {
    fake.script = (_b, n) => (n === 0 ? { kind: 'status', status: 429, headers: { 'retry-after': '0.15' } } : ok);
    const t0 = performance.now();
    const r = await client().complete(REQ, signal());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(r.retries).toBe(1);
  });

  it('gives up at once when Retry-After is longer than allowed', async () => {
    fake.script = () => ({ kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
    const t0 = performance.now();
    const e = await failure(client().complete(REQ, signal()));
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.errorClass).toBe('throttled');
    expect(e.message).toMatch(/asked to wait 3600000 ms/);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(fake.chatCount).toBe(1);
  });

  it('retries 500 a bounded number of times', async () => {
    fake.script = (_b, n) => (n < 2 ? { kind: 'status', status: 500 } : ok);
    expect((await client({ maxRetries: 2 }).complete(REQ, signal())).retries).toBe(2);
    fake.chatCount = 0;
    const e = await failure(client({ maxRetries: 1 }).complete(REQ, signal()));
    expect(e.code).toBe('IO_ERROR');
    expect(e.message).toMatch(/after 2 attempts: 500/);
    expect(fake.chatCount).toBe(2);
  });

  it('times out a hanging server per request and retries within bounds', async () => {
    fake.script = () => ({ kind: 'hang' });
    const t0 = performance.now();
    const e = await failure(client({ timeoutMs: 150, maxRetries: 1 }).complete(REQ, signal()));
    expect(e.code).toBe('TIMEOUT');
    expect(fake.chatCount).toBe(2);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('stops at once when the run is aborted', async () => {
    fake.script = () => ({ kind: 'hang' });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('deadline')), 100);
    const e = await failure(client({ timeoutMs: 5000 }).complete(REQ, ctl.signal));
    expect(e.code).toBe('TIMEOUT');
    expect(fake.chatCount).toBe(1);
  });

  it('does not retry refused credentials', async () => {
    fake.script = () => ({ kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided' } } });
    const e = await failure(client().complete(REQ, signal()));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(fake.chatCount).toBe(1);
  });

  it('turns a malformed HTTP body into a clear error', async () => {
    fake.script = () => ({ kind: 'raw', status: 200, body: '{"id": "x", "choices": [' });
    const e = await failure(client().complete(REQ, signal()));
    expect(e.code).toBe('INVALID_JSON');
    expect(e.message).toMatch(/not JSON/);
    fake.script = () => ({ kind: 'raw', status: 200, body: '{"id": "x", "choices": []}' });
    expect((await failure(client().complete(REQ, signal()))).code).toBe('SCHEMA_MISMATCH');
  });

  it('reports missing usage as null (the reasoner estimates)', async () => {
    fake.script = () => ({ kind: 'content', content: '{}', usage: null });
    const r = await client().complete(REQ, signal());
    expect(r.tokensIn).toBeNull();
    expect(r.tokensOut).toBeNull();
  });

  it('sends the API key as a bearer token', async () => {
    fake.script = () => ok;
    const seen: string[] = [];
    const c = new OpenAiLlmClient({ ...cfg(), apiKey: 'sk-test-key-123' }, {
      fetch: async (input, init) => {
        seen.push(new Headers(init?.headers).get('authorization') ?? '');
        return fetch(input, init);
      },
    });
    await c.complete(REQ, signal());
    expect(seen).toEqual(['Bearer sk-test-key-123']);
  });
});
