import type { Logger } from 'pino';
import { Authenticator, DEFAULT_RATE_LIMIT, DEFAULT_RELOAD_MS, NAME_RE, TokenStore, checkHost, checkTlsFiles, type RateLimit, type TlsFiles } from '../core/auth/index.js';
import { NightshiftError } from '../core/errors.js';
import { UsageError } from './io.js';

/** The options every command with an HTTP listener shares (parseArgs form). */
export const LISTEN_OPTIONS = {
  host: { type: 'string' },
  tokens: { type: 'string' },
  'read-only-tokens': { type: 'string' },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
} as const;

export type ListenValues = { readonly [K in keyof typeof LISTEN_OPTIONS]?: string | undefined };

export const LISTEN_HELP = `  --tokens PATH        bearer tokens (default NIGHTSHIFT_TOKENS_FILE): a YAML/JSON map name: token, or a directory
                       with one file per token (a mounted Kubernetes Secret). Re-read every 5 s
                       (NIGHTSHIFT_TOKENS_RELOAD_MS). Without it nothing is authenticated.
  --read-only-tokens L comma-separated token names that may read /metrics but get 403 on writes
                       (default NIGHTSHIFT_READ_ONLY_TOKENS); each must be in the token set at start
  --rate-limit N       requests per second per token (default NIGHTSHIFT_RATE_LIMIT or ${DEFAULT_RATE_LIMIT.perSecond}; 0 = off); 429 beyond
  --rate-burst N       requests a token may send at once, the bucket size (default NIGHTSHIFT_RATE_BURST or 2 x rate)
  --tls-cert FILE      serve HTTPS with this PEM certificate (default NIGHTSHIFT_TLS_CERT), with --tls-key
  --tls-key FILE       its PEM private key (default NIGHTSHIFT_TLS_KEY)
  --tls-client-ca FILE require client certificates signed by this CA: mTLS (default NIGHTSHIFT_TLS_CLIENT_CA)`;

export interface ListenSettings {
  readonly auth: Authenticator;
  readonly tls?: TlsFiles;
}

const pick = (flag: string | undefined, env: NodeJS.ProcessEnv, name: string): string | undefined => (flag !== undefined ? flag : env[name] === '' ? undefined : env[name]);

function num(v: string | undefined, from: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`${from} must be a number of at least ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function rateLimitFrom(values: ListenValues, env: NodeJS.ProcessEnv): RateLimit {
  const rateFrom = values['rate-limit'] !== undefined ? '--rate-limit' : 'NIGHTSHIFT_RATE_LIMIT';
  const perSecond = num(pick(values['rate-limit'], env, 'NIGHTSHIFT_RATE_LIMIT'), rateFrom, DEFAULT_RATE_LIMIT.perSecond, 0);
  const burstFrom = values['rate-burst'] !== undefined ? '--rate-burst' : 'NIGHTSHIFT_RATE_BURST';
  const burst = num(pick(values['rate-burst'], env, 'NIGHTSHIFT_RATE_BURST'), burstFrom, Math.max(1, 2 * perSecond), 1);
  return { perSecond, burst };
}

export function tlsFrom(values: ListenValues, env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const cert = pick(values['tls-cert'], env, 'NIGHTSHIFT_TLS_CERT');
  const key = pick(values['tls-key'], env, 'NIGHTSHIFT_TLS_KEY');
  const clientCa = pick(values['tls-client-ca'], env, 'NIGHTSHIFT_TLS_CLIENT_CA');
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined) throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key: client certificates are checked only over TLS');
    return undefined;
  }
  if (cert === undefined || key === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  return { cert, key, ...(clientCa !== undefined ? { clientCa } : {}) };
}

/** The bind address: the flag, then the environment variable, then loopback. */
export function hostFrom(flag: string | undefined, env: NodeJS.ProcessEnv, envName: string, fallback: string, flagName = '--host'): string {
  if (flag !== undefined) return checkHost(flag, flagName);
  const v = env[envName];
  return v === undefined || v === '' ? fallback : checkHost(v, envName);
}

/** Tokens, rate limit and TLS, read and checked before anything connects: a bad file exits 2 at once. */
export async function listenSettings(values: ListenValues, env: NodeJS.ProcessEnv, log: Logger): Promise<ListenSettings> {
  const limit = rateLimitFrom(values, env);
  const tls = tlsFrom(values, env);
  if (tls) await checkTlsFiles(tls);
  const path = pick(values.tokens, env, 'NIGHTSHIFT_TOKENS_FILE');
  const reloadRaw = env.NIGHTSHIFT_TOKENS_RELOAD_MS;
  const reloadMs = reloadRaw === undefined || reloadRaw === '' ? DEFAULT_RELOAD_MS : Number(reloadRaw);
  if (!Number.isInteger(reloadMs) || reloadMs < 10) throw new NightshiftError('CONFIG_INVALID', `NIGHTSHIFT_TOKENS_RELOAD_MS must be an integer of at least 10, got ${JSON.stringify(reloadRaw)}`);
  const readOnlyRaw = pick(values['read-only-tokens'], env, 'NIGHTSHIFT_READ_ONLY_TOKENS');
  const readOnly = new Set((readOnlyRaw ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''));
  for (const n of readOnly) if (!NAME_RE.test(n)) throw new UsageError(`--read-only-tokens: ${JSON.stringify(n)} is not a token name`);
  if (readOnly.size > 0 && path === undefined) throw new UsageError('--read-only-tokens needs --tokens');
  const store = path === undefined ? null : await TokenStore.open({ path, log, reloadMs });
  // A misspelt name would leave the token it meant able to write: refuse it while someone is watching the start.
  const missing = store ? [...readOnly].filter((n) => !store.current().names().includes(n)) : [];
  if (missing.length > 0) {
    await store?.close();
    throw new NightshiftError('CONFIG_INVALID', `--read-only-tokens names ${missing.join(', ')}, not in the tokens of ${path}`);
  }
  return { auth: new Authenticator(store, { limit, log, readOnly }), ...(tls ? { tls } : {}) };
}
