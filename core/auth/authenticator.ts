import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { METRIC, type MetricsRegistry } from '../metrics.js';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimit } from './ratelimit.js';
import type { TokenStore } from './store.js';

/** Which listener asked: the gateway's write port or a process's ops port. A metric label. */
export type AuthServer = 'gateway' | 'ops';

export type AuthResult =
  /** No tokens configured: everything is let in, as before authentication existed. */
  | { readonly kind: 'open' }
  | { readonly kind: 'ok'; readonly token: string }
  | { readonly kind: 'unauthorized'; readonly reason: 'missing' | 'malformed' | 'invalid' }
  /** A valid read-only token on a write endpoint. */
  | { readonly kind: 'forbidden'; readonly token: string }
  | { readonly kind: 'limited'; readonly token: string; readonly retryAfterSec: number };

export type Refusal = Extract<AuthResult, { kind: 'unauthorized' | 'forbidden' | 'limited' }>;

export function isRefusal(r: AuthResult): r is Refusal {
  return r.kind === 'unauthorized' || r.kind === 'forbidden' || r.kind === 'limited';
}

export interface AuthenticatorOptions {
  readonly limit?: RateLimit;
  /**
   * Names of tokens that may read /metrics but not write: a scrape token, kept in Prometheus' namespace, then
   * cannot post alerts.
   */
  readonly readOnly?: ReadonlySet<string>;
  readonly log?: Logger;
  /** Milliseconds, monotonic; injectable for tests of the rate limit and the log throttle. */
  readonly now?: () => number;
}

/** The token label of requests let in without a token (no tokens configured); not a valid token name. */
export const ANONYMOUS = '-';

const BEARER_RE = /^Bearer[ ]+([^\s]+)[ ]*$/i;

/**
 * Bearer authentication and per-token rate limits for the gateway and the ops servers. Counts rejections by
 * server and reason, limits by token name; never sees a token again after matching it.
 */
export class Authenticator {
  private readonly limiter: RateLimiter;
  private readonly rejected = new Map<string, number>();
  private readonly limited = new Map<string, number>();
  private readonly lastLog = new Map<string, { at: number; suppressed: number }>();
  private readonly readOnly: ReadonlySet<string>;
  private readonly log: Logger | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: TokenStore | null,
    opts: AuthenticatorOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.limiter = new RateLimiter(opts.limit ?? DEFAULT_RATE_LIMIT, this.now);
    this.readOnly = opts.readOnly ?? new Set();
    this.log = opts.log;
  }

  get enabled(): boolean {
    return this.store !== null;
  }

  /** Whether a matched token (by name) is read-only: for endpoints that mix reads and writes, such as MCP's tools. */
  isReadOnly(token: string): boolean {
    return this.readOnly.has(token);
  }

  check(headers: IncomingHttpHeaders, server: AuthServer, remote?: string): AuthResult {
    if (!this.store) return { kind: 'open' };
    const header = headers.authorization;
    const m = header === undefined ? null : BEARER_RE.exec(header);
    const reason = header === undefined ? 'missing' : m === null ? 'malformed' : null;
    const token = m ? this.store.current().match(m[1]!) : null;
    if (reason !== null || token === null) {
      const r = reason ?? 'invalid';
      bump(this.rejected, `${server}\0${r}`);
      this.logRejection(server, r, remote);
      return { kind: 'unauthorized', reason: r };
    }
    if (server === 'gateway' && this.readOnly.has(token)) {
      bump(this.rejected, `${server}\0forbidden`);
      this.logRejection(server, 'forbidden', remote);
      return { kind: 'forbidden', token };
    }
    const take = this.limiter.take(token);
    if (!take.ok) {
      bump(this.limited, `${server}\0${token}`);
      return { kind: 'limited', token, retryAfterSec: take.retryAfterSec };
    }
    return { kind: 'ok', token };
  }

  /**
   * At most one line per second per server and reason, with how many were not logged since: someone hammering the
   * port with bad tokens must not be able to flood the log (the counter has every one).
   */
  private logRejection(server: AuthServer, reason: string, remote: string | undefined): void {
    const k = `${server}\0${reason}`;
    const now = this.now();
    const last = this.lastLog.get(k);
    if (last && now - last.at < 1000) {
      last.suppressed++;
      return;
    }
    this.lastLog.set(k, { at: now, suppressed: 0 });
    this.log?.warn({ event: 'auth_rejected', server, reason, remote, ...(last?.suppressed ? { suppressed: last.suppressed } : {}) }, reason === 'forbidden' ? 'read-only token tried to write' : 'request without a valid bearer token');
  }

  /** Families for the process's registry: rejections, rate-limited requests, tokens loaded, reloads. */
  registerMetrics(registry: MetricsRegistry): void {
    const split = (m: Map<string, number>, label: string) =>
      [...m].map(([k, value]) => {
        const [server, x] = k.split('\0') as [string, string];
        return { labels: { server, [label]: x }, value };
      });
    registry.register(METRIC.authRejected, 'Requests refused with 401 (missing, malformed or invalid bearer token) or 403 (forbidden: a read-only token writing), by server and reason.', 'counter', () => split(this.rejected, 'reason'));
    registry.register(METRIC.rateLimited, 'Requests refused with 429 by the per-token rate limit, by server and token name.', 'counter', () => split(this.limited, 'token'));
    if (!this.store) return;
    const store = this.store;
    registry.register(METRIC.authTokens, 'Bearer tokens currently loaded.', 'gauge', () => [{ labels: {}, value: store.current().size }]);
    registry.register(METRIC.authReloads, 'Token reloads that changed the set (ok), and distinct reload failures that kept the previous set (failed).', 'counter', () => [
      { labels: { result: 'ok' }, value: store.reloads.ok },
      { labels: { result: 'failed' }, value: store.reloads.failed },
    ]);
  }

  close(): Promise<void> {
    return this.store?.close() ?? Promise.resolve();
  }
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

export function refusalStatus(r: Refusal): 401 | 403 | 429 {
  return r.kind === 'unauthorized' ? 401 : r.kind === 'forbidden' ? 403 : 429;
}

/** For the gateway's dropped-by-reason counter. */
export function refusalReason(r: Refusal): string {
  return r.kind === 'unauthorized' ? `unauthorized_${r.reason}` : r.kind === 'forbidden' ? 'forbidden' : 'rate_limited';
}

/** The headers a refusal carries: RFC 6750's WWW-Authenticate on 401 and 403, Retry-After on 429. */
export function refusalHeaders(r: Refusal): Record<string, string> {
  if (r.kind === 'limited') return { 'retry-after': String(r.retryAfterSec) };
  if (r.kind === 'forbidden') return { 'www-authenticate': 'Bearer realm="nightshift", error="insufficient_scope"' };
  return { 'www-authenticate': r.reason === 'invalid' ? 'Bearer realm="nightshift", error="invalid_token"' : 'Bearer realm="nightshift"' };
}

export function refusalMessage(r: Refusal): string {
  if (r.kind === 'limited') return `rate limit of token ${r.token} exceeded; retry after ${r.retryAfterSec} s`;
  if (r.kind === 'forbidden') return `token ${r.token} is read-only (/metrics); it may not write`;
  if (r.reason === 'missing') return 'authentication required: send Authorization: Bearer <token>';
  if (r.reason === 'malformed') return 'the Authorization header must be Bearer <token>';
  return 'the bearer token is not valid';
}
