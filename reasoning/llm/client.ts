import type { ResponseFormatKind } from './config.js';

/**
 * The model behind an interface: the reasoner never sees HTTP, so a test double, the OpenAI-compatible client or
 * an in-process model can stand in. Implementations throw `NightshiftError` (TIMEOUT, RATE_LIMITED, IO_ERROR for
 * transport trouble; CONFIG_INVALID for refused credentials or an unknown model; SCHEMA_MISMATCH for a reply
 * without a message).
 */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface CompletionRequest {
  readonly messages: readonly ChatMessage[];
  /** The answer's JSON schema, used as the server supports (json_schema, a forced tool call, or only the prompt). */
  readonly schema: { readonly name: string; readonly description: string; readonly schema: Record<string, unknown> };
  readonly maxOutputTokens: number;
  readonly temperature: number;
}

export interface CompletionResult {
  /** The answer text: the message content, or the forced tool call's arguments. */
  readonly content: string;
  /** The constraint the server accepted for this request. */
  readonly format: ResponseFormatKind;
  /** Token counts from the server's `usage`, or null when it sends none (the caller estimates then). */
  readonly tokensIn: number | null;
  readonly tokensOut: number | null;
  readonly finishReason: string | null;
  /** Retried requests (429, 5xx, timeouts) and format downgrades before this answer. */
  readonly retries: number;
}

export interface LlmClient {
  readonly model: string;
  complete(req: CompletionRequest, signal: AbortSignal): Promise<CompletionResult>;
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts; the timer never outlives either. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A rough token count for budgets and for servers that send no usage: about 4 bytes a token for English and JSON. */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}
