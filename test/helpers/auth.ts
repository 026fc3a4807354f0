import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Authenticator, TokenStore, type RateLimit } from '../../core/auth/index.js';

/** A logger whose JSON lines the test reads back. */
export function captureLog(): { log: Logger; text: () => string; lines: () => Array<Record<string, unknown>> } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  });
  return {
    log: pino({ level: 'info' }, stream),
    text: () => buf,
    lines: () =>
      buf
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface TokenFixture {
  readonly dir: string;
  readonly file: string;
  readonly store: TokenStore;
  readonly auth: Authenticator;
  /** Replaces the token file atomically (a poll sees old or new content, never half of it). */
  rewrite(tokens: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export const yamlTokens = (tokens: Record<string, string>): string => Object.entries(tokens).map(([n, t]) => `${n}: ${t}\n`).join('');

/** A token file, a store polling it every 20 ms, and an authenticator over it. */
export async function tokenFixture(tokens: Record<string, string>, log: Logger, limit: RateLimit = { perSecond: 0, burst: 1 }, readOnly: readonly string[] = []): Promise<TokenFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ns-auth-http-'));
  const file = join(dir, 'tokens.yaml');
  await writeFile(file, yamlTokens(tokens));
  const store = await TokenStore.open({ path: file, log, reloadMs: 20 });
  const auth = new Authenticator(store, { limit, log, readOnly: new Set(readOnly) });
  return {
    dir,
    file,
    store,
    auth,
    rewrite: async (t) => {
      await writeFile(`${file}.tmp`, yamlTokens(t));
      await rename(`${file}.tmp`, file);
    },
    close: async () => {
      await auth.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
