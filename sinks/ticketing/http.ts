import type { z } from 'zod';
import { NightshiftError, type ErrorCode } from '../../core/errors.js';
import type { HttpPolicy } from './config.js';

/**
 * An HTTP failure, classified where it happens:
 * - 429 -> RATE_LIMITED (throttled; Retry-After honoured, bounded by `maxRetryAfterMs`)
 * - 5xx, network errors -> IO_ERROR, 408 and timeouts -> TIMEOUT (retriable, bounded exponential backoff;
 *   a 503's Retry-After is honoured too)
 * - 401/403/404/405 and redirects -> CONFIG_INVALID (wrong URL, credentials or permissions: permanent)
 * - other 4xx -> SCHEMA_MISMATCH (the service rejected the payload: permanent)
 * A 2xx whose body is not the documented shape is IO_ERROR: a proxy or a sleeping instance, worth a bounded retry.
 */
export class TicketingHttpError extends NightshiftError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number | null,
    readonly retryAfterMs: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'TicketingHttpError';
  }
}

export function codeForStatus(status: number): ErrorCode {
  if (status === 429) return 'RATE_LIMITED';
  if (status === 408) return 'TIMEOUT';
  if (status >= 500) return 'IO_ERROR';
  if (status === 401 || status === 403 || status === 404 || status === 405) return 'CONFIG_INVALID';
  if (status >= 300 && status < 400) return 'CONFIG_INVALID';
  return 'SCHEMA_MISMATCH';
}

/** Retry-After is delay-seconds or an HTTP-date; null if absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - nowMs);
}

export interface HttpDeps {
  readonly fetch: typeof fetch;
  /** Wall clock, only for HTTP-dates and webhook timestamps: transport metadata, never output content. */
  readonly now: () => number;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly text: string;
}

async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = max - n;
    chunks.push(value.byteLength > room ? value.subarray(0, room) : value);
    n += Math.min(value.byteLength, room);
    if (n >= max) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

const pathOf = (url: string): string => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};

/** One request; resolves with a 2xx response, throws a TicketingHttpError for anything else. */
export async function httpCall(req: HttpRequest, policy: HttpPolicy, deps: HttpDeps): Promise<HttpResponse> {
  const what = `${req.method} ${pathOf(req.url)}`;
  let res: Response;
  let text: string;
  try {
    res = await deps.fetch(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(policy.timeoutMs),
    });
    text = await readCapped(res, policy.maxResponseBytes);
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new TicketingHttpError('TIMEOUT', `${what}: no response within ${policy.timeoutMs} ms`, null, null, { cause: e });
    }
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new TicketingHttpError('IO_ERROR', `${what}: ${detail}`, null, null, { cause: e });
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, text };
  const code = codeForStatus(res.status);
  const ra = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after'), deps.now()) : null;
  const snippet = text.replace(/\s+/g, ' ').slice(0, 300);
  throw new TicketingHttpError(code, `${what} -> ${res.status}${snippet ? `: ${snippet}` : ''}`, res.status, ra);
}

/** Parses a 2xx body against the documented shape. */
export function parseBody<T>(res: HttpResponse, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = res.text === '' ? undefined : JSON.parse(res.text);
  } catch {
    throw new TicketingHttpError('IO_ERROR', `${what}: response is not JSON: ${res.text.slice(0, 120)}`, res.status);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new TicketingHttpError('IO_ERROR', `${what}: unexpected response shape: ${r.error.issues[0]?.message ?? ''}`, res.status);
  return r.data;
}

export interface RetryHooks {
  readonly onRetry?: (err: NightshiftError, attempt: number, delayMs: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function retryDelay(err: NightshiftError, attempt: number, policy: HttpPolicy): number {
  const ra = err instanceof TicketingHttpError ? err.retryAfterMs : null;
  if (ra !== null) return Math.min(ra, policy.maxRetryAfterMs);
  return Math.min(policy.backoffBaseMs * 2 ** (attempt - 1), policy.backoffMaxMs);
}

/**
 * Runs `fn` until it succeeds, fails permanently, or `maxAttempts` is used up; the last error is thrown.
 * No jitter: one worker per integration sends one request at a time, so there is no herd to spread.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: HttpPolicy, hooks: RetryHooks = {}): Promise<T> {
  const wait = hooks.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      const err = e instanceof NightshiftError ? e : new NightshiftError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
      if (!err.retriable || attempt >= policy.maxAttempts) throw err;
      const delay = retryDelay(err, attempt, policy);
      hooks.onRetry?.(err, attempt, delay);
      await wait(delay);
    }
  }
}

/**
 * One integration's HTTP: every request is retried on its own (so a multi-step operation such as Jira's comment,
 * transition, property does not repeat its finished steps), except requests that create something, which the sink
 * retries at the operation level after looking the ticket up (a timed-out create may have succeeded).
 */
export class Http {
  constructor(
    readonly policy: HttpPolicy,
    private readonly deps: HttpDeps,
    private readonly hooks: RetryHooks = {},
  ) {}

  get now(): () => number {
    return this.deps.now;
  }

  /** `req` may be a function, called for each attempt (a webhook signs a fresh timestamp each time). */
  call(req: HttpRequest | (() => HttpRequest), opts: { readonly retry?: boolean } = {}): Promise<HttpResponse> {
    const make = typeof req === 'function' ? req : () => req;
    if (opts.retry === false) return httpCall(make(), this.policy, this.deps);
    return withRetry(() => httpCall(make(), this.policy, this.deps), this.policy, this.hooks);
  }
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** Correlation keys go into query languages (ServiceNow encoded queries, JQL) and labels: only safe characters. */
export function assertSafeKey(id: string): void {
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(id)) {
    throw new NightshiftError('SCHEMA_MISMATCH', `incident id ${JSON.stringify(id.slice(0, 120))} is not usable as a correlation key (1-100 of A-Z a-z 0-9 _ . : -)`);
  }
}
