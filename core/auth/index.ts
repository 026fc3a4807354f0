/** Bearer tokens, per-token rate limits, bind addresses and TLS for nightshift's HTTP listeners. */
export { ANONYMOUS, Authenticator, isRefusal, refusalHeaders, refusalMessage, refusalReason, refusalStatus, type AuthResult, type AuthServer, type AuthenticatorOptions, type Refusal } from './authenticator.js';
export { LOOPBACK, checkHost, isLoopback, warnIfExposed, type Listener } from './bind.js';
export { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimit, type Take } from './ratelimit.js';
export { DEFAULT_RELOAD_MS, TokenStore, type ReloadOutcome, type TokenStoreOptions } from './store.js';
export { checkTlsFiles, createServer, type AnyServer, type ServeOptions, type Served, type TlsFiles } from './tls.js';
export { MIN_TOKEN_LENGTH, NAME_RE, TokenSet, parseTokenFile, readTokens, validateTokens } from './tokens.js';
