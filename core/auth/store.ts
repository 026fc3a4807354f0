import type { Logger } from 'pino';
import { Poller } from './poll.js';
import { fingerprint, readTokens, TokenSet } from './tokens.js';

export const DEFAULT_RELOAD_MS = 5000;

export type ReloadOutcome = { readonly kind: 'unchanged' } | { readonly kind: 'changed'; readonly names: readonly string[] } | { readonly kind: 'failed'; readonly error: string };

export interface TokenStoreOptions {
  readonly path: string;
  readonly log: Logger;
  /** How often the path is re-read (default 5 s). */
  readonly reloadMs?: number;
}

/**
 * The current token set, re-read from its file or directory every reloadMs so that tokens rotate without a restart.
 * A read that fails (bad YAML, a token too short, the file gone mid-swap) keeps the last good set, is logged and
 * counted; the next good read replaces it.
 */
export class TokenStore {
  private set: TokenSet;
  private print: string;
  private readonly poller: Poller;
  private waiters: Array<(o: ReloadOutcome) => void> = [];
  /** ok: reloads that changed the set; failed: distinct failures (a file that stays bad counts once). */
  readonly reloads = { ok: 0, failed: 0 };
  lastError: string | null = null;

  private constructor(
    private readonly opts: TokenStoreOptions,
    initial: Map<string, string>,
  ) {
    this.set = new TokenSet(initial);
    this.print = fingerprint(initial);
    this.poller = new Poller(opts.reloadMs ?? DEFAULT_RELOAD_MS, async () => void (await this.reload()));
  }

  /** Reads the tokens once; a bad path or content is CONFIG_INVALID, so the process refuses to start. */
  static async open(opts: TokenStoreOptions): Promise<TokenStore> {
    const store = new TokenStore(opts, await readTokens(opts.path));
    opts.log.info({ event: 'tokens_loaded', path: opts.path, tokens: store.set.names() }, `loaded ${store.set.size} bearer token(s)`);
    return store;
  }

  get path(): string {
    return this.opts.path;
  }

  current(): TokenSet {
    return this.set;
  }

  async reload(): Promise<ReloadOutcome> {
    let outcome: ReloadOutcome;
    try {
      const tokens = await readTokens(this.opts.path);
      const print = fingerprint(tokens);
      if (print === this.print) {
        // Back to the good content (or never changed): a later failure is news again.
        this.lastError = null;
        return { kind: 'unchanged' };
      }
      this.set = new TokenSet(tokens);
      this.print = print;
      this.reloads.ok++;
      this.lastError = null;
      outcome = { kind: 'changed', names: this.set.names() };
      this.opts.log.info({ event: 'tokens_reloaded', path: this.opts.path, tokens: outcome.names }, `reloaded ${this.set.size} bearer token(s)`);
    } catch (e) {
      const error = (e as Error).message;
      // Logged and counted once per distinct error: a file that stays bad must not log every poll.
      if (error !== this.lastError) {
        this.reloads.failed++;
        this.opts.log.error({ event: 'tokens_reload_failed', path: this.opts.path, err: error }, 'token reload failed; keeping the previous tokens');
      }
      this.lastError = error;
      outcome = { kind: 'failed', error };
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(outcome);
    return outcome;
  }

  /** Resolves at the next reload that changed the set or failed (for tests and tools that await a rotation). */
  nextReload(): Promise<ReloadOutcome> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    return this.poller.stop();
  }
}
