import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NightshiftError, toNightshiftError } from '../../core/errors.js';
import { LOCAL_MODEL_PREFIX } from './config.js';
import type { ChatMessage, CompletionRequest, CompletionResult, LlmClient } from './client.js';

/** Where `scripts/get-local-model.sh` puts the model (outside the repository). */
export const DEFAULT_LOCAL_MODEL_PATH = join(homedir(), '.cache', 'nightshift', 'models', 'gemma-3-270m-q4_k_m.gguf');

/** The GGUF path of a `local:` model name, or null for any other model. */
export function localModelPath(model: string): string | null {
  return model.startsWith(LOCAL_MODEL_PREFIX) ? model.slice(LOCAL_MODEL_PREFIX.length) : null;
}

/**
 * node-llama-cpp is opt-in, not a dependency: its install carries ~670 MB of CUDA and Vulkan builds that nobody
 * without a local model needs, so the default install and the image leave it out. This is the documented step
 * (README, Dependencies); .ci/run runs the same command, and a test checks that both still say it.
 */
export const NODE_LLAMA_CPP_INSTALL = 'npm install --no-save node-llama-cpp@3.22.1';

/**
 * The slice of node-llama-cpp's API used here, typed by hand: the package is opt-in and loaded by a dynamic import,
 * so type-checking and the rest of nightshift must not depend on it being installed.
 */
type HistoryItem = { type: 'system'; text: string } | { type: 'user'; text: string } | { type: 'model'; response: string[] };
interface Grammar {
  readonly _brand?: 'grammar';
}
interface Sequence {
  readonly tokenMeter: { readonly usedInputTokens: number; readonly usedOutputTokens: number };
  clearHistory(): Promise<void>;
}
interface ChatSession {
  setChatHistory(h: HistoryItem[]): void;
  promptWithMeta(
    prompt: string,
    o: { grammar: Grammar; maxTokens: number; temperature: number; seed: number; signal: AbortSignal },
  ): Promise<{ responseText: string; stopReason: string }>;
  dispose(o?: { disposeSequence?: boolean }): void;
}
interface Context {
  getSequence(): Sequence;
  dispose(): Promise<void>;
}
interface Model {
  readonly trainContextSize: number;
  createContext(o: { contextSize: number; sequences: number; threads: number }): Promise<Context>;
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(o: { modelPath: string }): Promise<Model>;
  createGrammarForJsonSchema(schema: Record<string, unknown>): Promise<Grammar>;
}
interface NodeLlamaCpp {
  getLlama(o: { gpu: false; build: 'never'; progressLogs: boolean; logLevel: string }): Promise<Llama>;
  LlamaChatSession: new (o: { contextSequence: Sequence; autoDisposeSequence: boolean }) => ChatSession;
}

export interface LocalLlamaOptions {
  /** Context window in tokens; capped at the model's training context. Prompt + answer must fit. */
  readonly contextSize?: number;
  /** CPU threads for inference. */
  readonly threads?: number;
  /** One request's limit (prompt evaluation and generation), in ms; beyond it the request fails with TIMEOUT. */
  readonly timeoutMs?: number;
  /** Sampling seed: with temperature 0 the answer is the same on each run of the same build. */
  readonly seed?: number;
}

interface Loaded {
  readonly mod: NodeLlamaCpp;
  readonly llama: Llama;
  readonly model: Model;
  readonly context: Context;
  readonly sequence: Sequence;
}

/**
 * Arrays without a limit get one in the grammar: small models loop (the same evidence id fifty times) until the
 * token limit cuts the JSON; the guard reads at most 8 evidence ids anyway (GUARD_LIMITS.evidence).
 */
export const LOCAL_MAX_ARRAY_ITEMS = 8;

/** A copy of the schema where every array has `maxItems` (at most LOCAL_MAX_ARRAY_ITEMS where none was given). */
export function boundArrays(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(boundArrays);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = boundArrays(v);
  if (out.type === 'array' && typeof out.maxItems !== 'number') out.maxItems = LOCAL_MAX_ARRAY_ITEMS;
  return out;
}

/** Grammars compiled per schema; the reasoner uses one schema, so a handful is plenty. When full, the oldest goes. */
const GRAMMAR_CACHE_MAX = 4;

/**
 * A GGUF model run in-process on the CPU: no server, no network. The answer is constrained by a grammar built from
 * the request's JSON schema, so it is always syntactically valid JSON of the answer's shape (unless cut by
 * `maxOutputTokens`); whether its content is true is the guard's business, as with any model.
 *
 * The model loads on the first request (node-llama-cpp is imported then), so configuring it costs nothing until
 * used. Requests run one at a time on a single context sequence (a small CPU model gains nothing from parallel
 * sequences); callers queue behind each other.
 */
export class LocalLlamaClient implements LlmClient {
  readonly model: string;
  private loading: Promise<Loaded> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly grammars = new Map<string, Promise<Grammar>>();
  private readonly opts: Required<LocalLlamaOptions>;

  constructor(
    readonly modelPath: string,
    opts: LocalLlamaOptions = {},
  ) {
    this.model = LOCAL_MODEL_PREFIX + modelPath;
    this.opts = { contextSize: opts.contextSize ?? 8192, threads: opts.threads ?? 2, timeoutMs: opts.timeoutMs ?? 120_000, seed: opts.seed ?? 1 };
  }

  complete(req: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    const run = this.chain.then(() => this.run(req, signal));
    // The chain continues after a failure: one bad request must not wedge the ones behind it.
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Frees the model and context (the next request loads them again). */
  async close(): Promise<void> {
    const l = this.loading;
    this.loading = null;
    this.grammars.clear();
    if (!l) return;
    const loaded = await l.catch(() => null);
    if (!loaded) return;
    await loaded.context.dispose();
    await loaded.model.dispose();
  }

  private load(): Promise<Loaded> {
    if (!this.loading) {
      this.loading = this.doLoad();
      // A failed load is retried on the next request (the file may appear, memory may free up).
      this.loading.catch(() => {
        this.loading = null;
      });
    }
    return this.loading;
  }

  private async doLoad(): Promise<Loaded> {
    if (!existsSync(this.modelPath)) {
      throw new NightshiftError('CONFIG_INVALID', `local model ${this.modelPath} does not exist (bash scripts/get-local-model.sh fetches the default one)`);
    }
    const mod = await importNodeLlamaCpp();
    try {
      // build: 'never' = prebuilt binaries only; never compile or download at run time.
      const llama = await mod.getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' });
      const model = await llama.loadModel({ modelPath: this.modelPath });
      const context = await model.createContext({ contextSize: Math.min(this.opts.contextSize, model.trainContextSize), sequences: 1, threads: this.opts.threads });
      return { mod, llama, model, context, sequence: context.getSequence() };
    } catch (e) {
      throw new NightshiftError('CONFIG_INVALID', `local model ${this.modelPath} could not be loaded: ${toNightshiftError(e).message}`, { cause: e });
    }
  }

  private grammar(l: Loaded, schema: Record<string, unknown>): Promise<Grammar> {
    const key = JSON.stringify(schema);
    let g = this.grammars.get(key);
    if (!g) {
      if (this.grammars.size >= GRAMMAR_CACHE_MAX) this.grammars.delete(this.grammars.keys().next().value as string);
      g = l.llama.createGrammarForJsonSchema(boundArrays(schema) as Record<string, unknown>);
      g.catch(() => this.grammars.delete(key));
      this.grammars.set(key, g);
    }
    return g;
  }

  private async run(req: CompletionRequest, outer: AbortSignal): Promise<CompletionResult> {
    if (outer.aborted) throw new NightshiftError('TIMEOUT', 'local model: request aborted before it started');
    const l = await this.load();
    let grammar: Grammar;
    try {
      grammar = await this.grammar(l, req.schema.schema);
    } catch (e) {
      throw new NightshiftError('CONFIG_INVALID', `local model: the answer schema cannot be turned into a grammar: ${toNightshiftError(e).message}`);
    }
    const { history, prompt } = toHistory(req.messages);
    const signal = AbortSignal.any([outer, AbortSignal.timeout(this.opts.timeoutMs)]);
    await l.sequence.clearHistory();
    const before = { in: l.sequence.tokenMeter.usedInputTokens, out: l.sequence.tokenMeter.usedOutputTokens };
    const session = new l.mod.LlamaChatSession({ contextSequence: l.sequence, autoDisposeSequence: false });
    try {
      session.setChatHistory(history);
      const r = await session.promptWithMeta(prompt, { grammar, maxTokens: req.maxOutputTokens, temperature: req.temperature, seed: this.opts.seed, signal });
      return {
        content: r.responseText,
        format: 'json_schema',
        tokensIn: l.sequence.tokenMeter.usedInputTokens - before.in,
        tokensOut: l.sequence.tokenMeter.usedOutputTokens - before.out,
        finishReason: r.stopReason === 'maxTokens' ? 'length' : r.stopReason === 'eogToken' || r.stopReason === 'stopGenerationTrigger' ? 'stop' : r.stopReason,
        retries: 0,
      };
    } catch (e) {
      if (signal.aborted) throw new NightshiftError('TIMEOUT', `local model: no answer within ${this.opts.timeoutMs} ms or the run was cancelled`, { cause: e });
      throw new NightshiftError('IO_ERROR', `local model failed: ${toNightshiftError(e).message}`, { cause: e });
    } finally {
      session.dispose({ disposeSequence: false });
    }
  }
}

/**
 * Loads node-llama-cpp, or fails with the install step: without it only the local model is unavailable, so this is
 * a configuration error the reasoner falls back from, never a crash at start. `specifier` is a parameter for tests.
 */
export async function importNodeLlamaCpp(specifier = 'node-llama-cpp'): Promise<NodeLlamaCpp> {
  try {
    // A variable specifier keeps TypeScript from resolving the opt-in package at build time.
    return (await import(specifier)) as NodeLlamaCpp;
  } catch (e) {
    const why = toNightshiftError(e).message;
    throw new NightshiftError('CONFIG_INVALID', `local model: ${specifier} is not installed (it is opt-in); install it with \`${NODE_LLAMA_CPP_INSTALL}\` (README, Dependencies): ${why}`, { cause: e });
  }
}

/** The chat as node-llama-cpp wants it: the history, then the last user message as the prompt. */
export function toHistory(messages: readonly ChatMessage[]): { history: HistoryItem[]; prompt: string } {
  const last = messages[messages.length - 1];
  if (!last || last.role !== 'user') throw new NightshiftError('SCHEMA_MISMATCH', 'local model: a request must end with a user message');
  const history: HistoryItem[] = messages
    .slice(0, -1)
    .map((m): HistoryItem => (m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: m.role, text: m.content }));
  return { history, prompt: last.content };
}

/** The client for a `local:` model of the config (the request timeout is the config's `timeoutMs`), else null. */
export function localClientFromConfig(cfg: { readonly model: string; readonly timeoutMs: number }, opts: Omit<LocalLlamaOptions, 'timeoutMs'> = {}): LocalLlamaClient | null {
  const path = localModelPath(cfg.model);
  return path === null ? null : new LocalLlamaClient(path, { ...opts, timeoutMs: cfg.timeoutMs });
}
