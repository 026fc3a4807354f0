import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import { KnowledgeConfig } from '../rag/kb.js';
import { RedactConfig } from '../redact/patterns.js';

/** `llm.model: "local:/path/to/model.gguf"` runs the model in-process through node-llama-cpp. */
export const LOCAL_MODEL_PREFIX = 'local:';

/** How the answer is constrained: a JSON schema, a forced tool call, plain JSON mode, or the prompt alone. */
export const ResponseFormatKind = z.enum(['json_schema', 'tools', 'json_object', 'none']);
export type ResponseFormatKind = z.infer<typeof ResponseFormatKind>;

/** USD per million tokens. */
export const ModelPrice = z.strictObject({ input: z.number().nonnegative(), output: z.number().nonnegative() });
export type ModelPrice = z.infer<typeof ModelPrice>;

/**
 * List prices (USD per 1M tokens) of common hosted models, for the cost estimate only. A model not listed has an
 * unknown cost (reported as such, never as zero); add yours under `llm.prices`, with 0 for a local model.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  // No model: nothing is sent, nothing is paid.
  'dry-run': { input: 0, output: 0 },
};

export const LlmMode = z.enum(['async', 'inline']);
export type LlmMode = z.infer<typeof LlmMode>;

/** The `llm` section of the config file; the environment wins over it (see `llmConfigFromEnv`). */
export const LlmConfig = z.strictObject({
  /** Chat model name; the LLM stage is on when this is set. */
  model: z.string().min(1).optional(),
  baseUrl: z.string().url().default('https://api.openai.com/v1'),
  /** Prefer OPENAI_API_KEY in the environment; a key in a file is accepted for local servers' dummy keys. */
  apiKey: z.string().optional(),
  /** One HTTP request's limit. */
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** Whole reasoning run's limit (retries and the repair attempt included). */
  runTimeoutMs: z.number().int().min(100).max(1_800_000).default(90_000),
  /** Retries of 429, 5xx, timeouts and connection errors per request. */
  maxRetries: z.number().int().min(0).max(5).default(2),
  /** Longest Retry-After honoured; a server asking for more is treated as unavailable for this run. */
  maxRetryAfterMs: z.number().int().min(0).max(300_000).default(10_000),
  /** Reasoning runs in flight at once (async mode; inline mode runs one at a time). */
  concurrency: z.number().int().min(1).max(64).default(2),
  /** Runs waiting for a slot (async mode); when full, further updates skip the LLM and keep the ranker's result. */
  queueSize: z.number().int().min(0).max(10_000).default(32),
  /**
   * `async`: the ranker's output goes out at once and the LLM's update follows when it answers (live use).
   * `inline`: the same order of outputs, but the stage waits for each answer before the next input, so a replay
   * is reproducible (and as slow as the model).
   */
  mode: LlmMode.default('async'),
  /**
   * Prompt size limit per request, the repair request included (estimated at 4 bytes a token); the incident is cut
   * to fit. About 2,300 tokens are fixed (instructions, schema, room for the repair), hence the minimum.
   */
  maxInputTokens: z.number().int().min(3000).max(1_000_000).default(8000),
  maxOutputTokens: z.number().int().min(100).max(100_000).default(1500),
  /** Tokens (in + out) one incident may spend across all its runs; beyond it, the ranker's result stands. */
  tokenBudget: z.number().int().min(1000).default(40_000),
  /** Reasoning runs per incident at most (a run happens when the ranker's candidates or the changes change). */
  maxRunsPerIncident: z.number().int().min(1).max(100).default(4),
  /** `auto` tries json_schema, then json_object, then the prompt alone, remembering what the server accepts. */
  responseFormat: z.union([z.literal('auto'), ResponseFormatKind]).default('auto'),
  temperature: z.number().min(0).max(2).default(0),
  /** Causes the LLM did not name are filled from the ranker's list (marked `[ranker]`), so top-3 stays top-3. */
  fillFromRanker: z.boolean().default(true),
  /** Consecutive failed runs (errors, not bad answers) that pause the LLM for `breakerCooldownMs`. */
  breakerFailures: z.number().int().min(1).max(1000).default(5),
  breakerCooldownMs: z.number().int().min(0).max(3_600_000).default(60_000),
  /** Incidents whose LLM state is kept; beyond it the oldest is forgotten. */
  maxTracked: z.number().int().min(1).default(10_000),
  prices: z.record(z.string(), ModelPrice).default({}),
  embeddings: z
    .object({
      /** Embeddings model on the same endpoint; unset means BM25 only. */
      model: z.string().min(1).optional(),
      weight: z.number().min(0).max(5).default(0.5),
    })
    .default({ weight: 0.5 }),
  knowledge: KnowledgeConfig.default(KnowledgeConfig.parse({})),
  redact: RedactConfig.default(RedactConfig.parse({})),
});
export type LlmConfig = z.infer<typeof LlmConfig>;
/** A config with a model: what the stage runs with. */
export type ActiveLlmConfig = LlmConfig & { readonly model: string };

function intEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new NightshiftError('CONFIG_INVALID', `${name}=${v} is not an integer`);
  return n;
}

/**
 * The effective LLM configuration: the file's `llm` section with the environment on top. Returns null when no
 * model is set (the LLM stage is off). Throws CONFIG_INVALID with every problem listed.
 *
 * Environment: NIGHTSHIFT_LLM_MODEL, OPENAI_BASE_URL, OPENAI_API_KEY, NIGHTSHIFT_LLM_TIMEOUT_MS,
 * NIGHTSHIFT_LLM_CONCURRENCY, NIGHTSHIFT_LLM_TOKEN_BUDGET, NIGHTSHIFT_LLM_MAX_INPUT_TOKENS, NIGHTSHIFT_LLM_MODE,
 * NIGHTSHIFT_LLM_RESPONSE_FORMAT, NIGHTSHIFT_EMBEDDINGS_MODEL, NIGHTSHIFT_KNOWLEDGE_DIR, and
 * NIGHTSHIFT_LLM_LOCAL_MODEL=<path.gguf> (short for NIGHTSHIFT_LLM_MODEL=local:<path.gguf>: an in-process model).
 */
export function llmConfigFromEnv(env: NodeJS.ProcessEnv, fileSection?: unknown, defaults: Partial<LlmConfig> = {}): ActiveLlmConfig | null {
  if (fileSection !== undefined && fileSection !== null && (typeof fileSection !== 'object' || Array.isArray(fileSection))) {
    throw new NightshiftError('CONFIG_INVALID', 'llm: must be an object');
  }
  // Precedence: environment > file > the caller's defaults (e.g. `nightshift replay` defaults to inline mode) > schema.
  const raw: Record<string, unknown> = { ...defaults, ...((fileSection as Record<string, unknown> | undefined) ?? {}) };
  const set = (key: string, v: unknown): void => {
    if (v !== undefined && v !== '') raw[key] = v;
  };
  set('model', env.NIGHTSHIFT_LLM_MODEL);
  if (env.NIGHTSHIFT_LLM_LOCAL_MODEL) {
    const local = LOCAL_MODEL_PREFIX + env.NIGHTSHIFT_LLM_LOCAL_MODEL;
    // Two different models named in the environment is a mistake to report, not to settle silently.
    if (env.NIGHTSHIFT_LLM_MODEL && env.NIGHTSHIFT_LLM_MODEL !== local) {
      throw new NightshiftError('CONFIG_INVALID', `NIGHTSHIFT_LLM_LOCAL_MODEL and NIGHTSHIFT_LLM_MODEL=${env.NIGHTSHIFT_LLM_MODEL} name different models; set one`);
    }
    raw.model = local;
  }
  set('baseUrl', env.OPENAI_BASE_URL);
  set('apiKey', env.OPENAI_API_KEY);
  set('timeoutMs', intEnv(env, 'NIGHTSHIFT_LLM_TIMEOUT_MS'));
  set('concurrency', intEnv(env, 'NIGHTSHIFT_LLM_CONCURRENCY'));
  set('tokenBudget', intEnv(env, 'NIGHTSHIFT_LLM_TOKEN_BUDGET'));
  set('maxInputTokens', intEnv(env, 'NIGHTSHIFT_LLM_MAX_INPUT_TOKENS'));
  set('mode', env.NIGHTSHIFT_LLM_MODE);
  set('responseFormat', env.NIGHTSHIFT_LLM_RESPONSE_FORMAT);
  if (env.NIGHTSHIFT_EMBEDDINGS_MODEL) raw.embeddings = { ...((raw.embeddings as object | undefined) ?? {}), model: env.NIGHTSHIFT_EMBEDDINGS_MODEL };
  if (env.NIGHTSHIFT_KNOWLEDGE_DIR) raw.knowledge = { ...((raw.knowledge as object | undefined) ?? {}), dir: env.NIGHTSHIFT_KNOWLEDGE_DIR };
  const r = LlmConfig.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `llm.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new NightshiftError('CONFIG_INVALID', `LLM configuration is invalid: ${msg}`);
  }
  const cfg = r.data;
  return cfg.model ? { ...cfg, model: cfg.model } : null;
}

/** Price of a model: the config's table first, then the defaults; a dated variant (gpt-4o-2024-08-06) uses its base. */
export function priceOf(model: string, prices: Readonly<Record<string, ModelPrice>>): ModelPrice | null {
  const table = { ...DEFAULT_PRICES, ...prices };
  if (table[model]) return table[model];
  // An in-process model is paid in CPU time, not per token.
  if (model.startsWith(LOCAL_MODEL_PREFIX)) return { input: 0, output: 0 };
  const base = model.replace(/-\d{4}-\d{2}-\d{2}$/, '');
  return table[base] ?? null;
}

export function estimateCostUsd(model: string, tokensIn: number, tokensOut: number, prices: Readonly<Record<string, ModelPrice>>): number | null {
  const p = priceOf(model, prices);
  if (!p) return null;
  return (tokensIn * p.input + tokensOut * p.output) / 1_000_000;
}
