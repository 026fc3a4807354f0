import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { NightshiftError } from '../../core/errors.js';
import type { Embedder } from '../rag/retrieve.js';
import type { ActiveLlmConfig, ResponseFormatKind } from './config.js';
import { sleep, type CompletionRequest, type CompletionResult, type LlmClient } from './client.js';

/**
 * An OpenAI-compatible endpoint (OpenAI, Azure OpenAI's v1 API, vLLM, Ollama, llama.cpp's server) through the
 * `openai` package. The SDK's own retries are off: it would honour any Retry-After, however long. Here retries are
 * bounded in count (`maxRetries`) and in wait (`maxRetryAfterMs`), and the whole call obeys the caller's signal.
 *
 * Servers differ; the client adapts on a 400 and remembers it: a server that rejects `max_tokens` gets
 * `max_completion_tokens`, one that rejects `temperature` gets none, and in `auto` format the constraint steps down
 * json_schema -> json_object -> prompt only.
 */
export interface OpenAiClientOptions {
  /** Base of the exponential backoff when the server gives no Retry-After. */
  readonly retryBaseMs?: number;
  /** For tests: the SDK's fetch. */
  readonly fetch?: typeof fetch;
}

const DOWNGRADE: Record<ResponseFormatKind, ResponseFormatKind | null> = { json_schema: 'json_object', tools: 'json_object', json_object: 'none', none: null };

type Classified = { kind: 'retry'; delayMs: number | null; code: 'RATE_LIMITED' | 'TIMEOUT' | 'IO_ERROR'; message: string } | { kind: 'bad_request'; message: string } | { kind: 'fatal'; error: NightshiftError };

function headerDelayMs(headers: Headers | undefined): number | null {
  if (!headers) return null;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const ra = headers.get('retry-after');
  if (!ra) return null;
  const s = Number.parseFloat(ra);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  // An HTTP date: the wall clock is right here, this is about the network, not event time.
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

function classify(e: unknown, signal: AbortSignal): Classified {
  if (signal.aborted) return { kind: 'fatal', error: new NightshiftError('TIMEOUT', 'LLM run deadline reached', { cause: e }) };
  if (e instanceof OpenAI.APIConnectionTimeoutError) return { kind: 'retry', delayMs: null, code: 'TIMEOUT', message: 'request timed out' };
  if (e instanceof OpenAI.APIUserAbortError) return { kind: 'fatal', error: new NightshiftError('TIMEOUT', 'LLM request aborted', { cause: e }) };
  if (e instanceof OpenAI.APIConnectionError) return { kind: 'retry', delayMs: null, code: 'IO_ERROR', message: `connection failed: ${e.message}` };
  if (e instanceof OpenAI.APIError) {
    const status = e.status ?? 0;
    const delay = headerDelayMs(e.headers as Headers | undefined);
    if (status === 429) return { kind: 'retry', delayMs: delay, code: 'RATE_LIMITED', message: `429 ${e.message}` };
    if (status === 408 || status === 409 || status >= 500) return { kind: 'retry', delayMs: delay, code: 'IO_ERROR', message: `${status} ${e.message}` };
    if (status === 400 || status === 422) return { kind: 'bad_request', message: e.message };
    return { kind: 'fatal', error: new NightshiftError('CONFIG_INVALID', `LLM endpoint refused the request (${status}): ${e.message}`, { cause: e }) };
  }
  if (e instanceof NightshiftError) return { kind: 'fatal', error: e };
  // The SDK parses the HTTP body itself; a truncated or non-JSON body surfaces as a SyntaxError.
  if (e instanceof SyntaxError) return { kind: 'fatal', error: new NightshiftError('INVALID_JSON', `LLM endpoint sent a body that is not JSON: ${e.message}`, { cause: e }) };
  return { kind: 'fatal', error: new NightshiftError('INTERNAL', `LLM client: ${(e as Error)?.message ?? String(e)}`, { cause: e }) };
}

/** Runs `once` with bounded retries; `onBadRequest` may adapt the request and ask for an immediate retry. */
async function withRetries<T>(
  once: () => Promise<T>,
  opts: { maxRetries: number; maxRetryAfterMs: number; baseMs: number; signal: AbortSignal; onBadRequest: (message: string) => boolean },
): Promise<{ value: T; retries: number }> {
  let retries = 0;
  let adaptations = 0;
  for (;;) {
    try {
      return { value: await once(), retries };
    } catch (e) {
      const c = classify(e, opts.signal);
      if (c.kind === 'fatal') throw c.error;
      if (c.kind === 'bad_request') {
        // At most 4 adaptations (token field, temperature, two format steps): a server that still refuses is refused.
        if (adaptations < 4 && opts.onBadRequest(c.message)) {
          adaptations++;
          retries++;
          continue;
        }
        throw new NightshiftError('CONFIG_INVALID', `LLM endpoint rejected the request (400): ${c.message}`, { cause: e });
      }
      const attempt = retries - adaptations;
      if (attempt >= opts.maxRetries) throw new NightshiftError(c.code, `LLM request failed after ${attempt + 1} attempts: ${c.message}`, { cause: e });
      const delay = c.delayMs ?? Math.min(opts.baseMs * 2 ** attempt, 8000);
      if (delay > opts.maxRetryAfterMs) {
        throw new NightshiftError(c.code, `LLM endpoint asked to wait ${Math.round(delay)} ms (limit ${opts.maxRetryAfterMs} ms): ${c.message}`, { cause: e });
      }
      retries++;
      await sleep(delay, opts.signal).catch((err: unknown) => {
        throw new NightshiftError('TIMEOUT', 'LLM run deadline reached while waiting to retry', { cause: err });
      });
    }
  }
}

export class OpenAiLlmClient implements LlmClient {
  readonly model: string;
  private readonly sdk: OpenAI;
  private format: ResponseFormatKind;
  private readonly autoFormat: boolean;
  private useMaxCompletionTokens = false;
  private sendTemperature = true;
  private readonly baseMs: number;

  constructor(
    private readonly cfg: ActiveLlmConfig,
    opts: OpenAiClientOptions = {},
  ) {
    this.model = cfg.model;
    this.autoFormat = cfg.responseFormat === 'auto';
    this.format = cfg.responseFormat === 'auto' ? 'json_schema' : cfg.responseFormat;
    this.baseMs = opts.retryBaseMs ?? 500;
    this.sdk = new OpenAI({
      baseURL: cfg.baseUrl,
      // Local servers (Ollama, llama.cpp, vLLM) take any key; the SDK insists on one.
      apiKey: cfg.apiKey ?? 'not-needed',
      timeout: cfg.timeoutMs,
      maxRetries: 0,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
  }

  /** The constraint currently used (after any downgrade). */
  get responseFormat(): ResponseFormatKind {
    return this.format;
  }

  private body(req: CompletionRequest): ChatCompletionCreateParamsNonStreaming {
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: this.model,
      messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
      stream: false,
      ...(this.sendTemperature ? { temperature: req.temperature } : {}),
      ...(this.useMaxCompletionTokens ? { max_completion_tokens: req.maxOutputTokens } : { max_tokens: req.maxOutputTokens }),
    };
    switch (this.format) {
      case 'json_schema':
        body.response_format = { type: 'json_schema', json_schema: { name: req.schema.name, description: req.schema.description, schema: req.schema.schema, strict: true } };
        break;
      case 'tools':
        body.tools = [{ type: 'function', function: { name: req.schema.name, description: req.schema.description, parameters: req.schema.schema } }];
        body.tool_choice = { type: 'function', function: { name: req.schema.name } };
        break;
      case 'json_object':
        body.response_format = { type: 'json_object' };
        break;
      case 'none':
        break;
    }
    return body;
  }

  private adapt(message: string): boolean {
    if (!this.useMaxCompletionTokens && /max_completion_tokens/i.test(message)) {
      this.useMaxCompletionTokens = true;
      return true;
    }
    if (this.sendTemperature && /temperature/i.test(message)) {
      this.sendTemperature = false;
      return true;
    }
    const next = DOWNGRADE[this.format];
    if (this.autoFormat && next !== null) {
      this.format = next;
      return true;
    }
    return false;
  }

  async complete(req: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    let used: ResponseFormatKind = this.format;
    const { value: res, retries } = await withRetries<ChatCompletion>(
      () => {
        used = this.format;
        return this.sdk.chat.completions.create(this.body(req), { signal, timeout: this.cfg.timeoutMs });
      },
      { maxRetries: this.cfg.maxRetries, maxRetryAfterMs: this.cfg.maxRetryAfterMs, baseMs: this.baseMs, signal, onBadRequest: (m) => this.adapt(m) },
    );
    const choice = res.choices?.[0];
    if (!choice?.message) throw new NightshiftError('SCHEMA_MISMATCH', 'LLM reply has no message');
    const call = choice.message.tool_calls?.find((t) => t.type === 'function');
    const content = call && call.type === 'function' ? call.function.arguments : (choice.message.content ?? '');
    return {
      content,
      format: used,
      tokensIn: res.usage?.prompt_tokens ?? null,
      tokensOut: res.usage?.completion_tokens ?? null,
      finishReason: choice.finish_reason ?? null,
      retries,
    };
  }
}

/** Embeddings on the same endpoint (`POST /embeddings`), with the same bounded retries. */
export class OpenAiEmbedder implements Embedder {
  private readonly sdk: OpenAI;
  private readonly baseMs: number;
  constructor(
    readonly model: string,
    private readonly cfg: ActiveLlmConfig,
    opts: OpenAiClientOptions = {},
  ) {
    this.baseMs = opts.retryBaseMs ?? 500;
    this.sdk = new OpenAI({ baseURL: cfg.baseUrl, apiKey: cfg.apiKey ?? 'not-needed', timeout: cfg.timeoutMs, maxRetries: 0, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<number[][]> {
    if (texts.length === 0) return [];
    const sig = signal ?? new AbortController().signal;
    const { value } = await withRetries(() => this.sdk.embeddings.create({ model: this.model, input: [...texts] }, { signal: sig, timeout: this.cfg.timeoutMs }), {
      maxRetries: this.cfg.maxRetries,
      maxRetryAfterMs: this.cfg.maxRetryAfterMs,
      baseMs: this.baseMs,
      signal: sig,
      onBadRequest: () => false,
    });
    const data = [...value.data].sort((a, b) => a.index - b.index);
    if (data.length !== texts.length) throw new NightshiftError('SCHEMA_MISMATCH', `embeddings: ${data.length} vectors for ${texts.length} inputs`);
    return data.map((d) => d.embedding);
  }
}
