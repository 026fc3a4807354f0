import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authenticator, RateLimiter, TokenSet, TokenStore, checkHost, isLoopback, parseTokenFile, readTokens } from '../core/auth/index.js';
import { NightshiftError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { captureLog } from './helpers/auth.js';

/** The token file formats, their validation, reloads (file and Secret-style directory), and the rate limiter. */
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ns-auth-'));
  dirs.push(d);
  return d;
}

/** Replaces a file atomically, so a poll sees the old content or the new, never a half-written one. */
async function put(f: string, text: string): Promise<void> {
  await writeFile(`${f}.tmp`, text);
  await rename(`${f}.tmp`, f);
}

const A = 'a'.repeat(8) + '0123456789abcdef';
const B = 'b'.repeat(8) + '0123456789abcdef';

describe('token files', () => {
  it('reads a YAML map and a JSON map of name: token', () => {
    expect([...parseTokenFile(`# comment\nalertmanager: ${A}\notel-collector: "${B}"\n`, 't.yaml')]).toEqual([
      ['alertmanager', A],
      ['otel-collector', B],
    ]);
    expect([...parseTokenFile(JSON.stringify({ ci: A }), 't.json')]).toEqual([['ci', A]]);
  });

  it('refuses bad files with a message that names the entry and never shows the token', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /no tokens/],
      ['# only a comment\n', /no tokens/],
      ['- a\n- b\n', /must be a map/],
      [`short: abc\n`, /the token of short has 3 characters; use 16/],
      [`"bad name": ${A}\n`, /name "bad name" must be/],
      [`x: ${A}\ny: ${A}\n`, /y and x have the same token/],
      [`x: {nested: true}\n`, /the token of x must be a string/],
      [`x: "${A} ${B}"\n`, /printable ASCII without spaces/],
      [`x: [unclosed\n`, /does not parse/],
    ];
    for (const [text, msg] of cases) {
      let err: unknown;
      try {
        parseTokenFile(text, 'f');
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(NightshiftError);
      expect((err as NightshiftError).code).toBe('CONFIG_INVALID');
      expect((err as Error).message, text).toMatch(msg);
      expect((err as Error).message).not.toContain(A);
    }
  });

  it('matches a presented token to its name, and nothing else', () => {
    const set = new TokenSet(new Map([['x', A], ['y', B]]));
    expect(set.match(A)).toBe('x');
    expect(set.match(B)).toBe('y');
    expect(set.match(A.slice(0, -1))).toBeNull();
    expect(set.match(`${A}x`)).toBeNull();
    expect(set.match('')).toBeNull();
  });

  it('reads a directory as a mounted Secret gives it: one file per token, the ..data bookkeeping skipped', async () => {
    const d = await tmp();
    await mkdir(join(d, '..2026_12_01_a'));
    await writeFile(join(d, '..2026_12_01_a', 'alertmanager'), `${A}\n`);
    await writeFile(join(d, '..2026_12_01_a', 'prometheus'), B);
    await symlink('..2026_12_01_a', join(d, '..data'));
    await symlink('..data/alertmanager', join(d, 'alertmanager'));
    await symlink('..data/prometheus', join(d, 'prometheus'));
    expect([...(await readTokens(d))]).toEqual([
      ['alertmanager', A],
      ['prometheus', B],
    ]);
    await expect(readTokens(join(d, 'missing'))).rejects.toThrow(/cannot be read: ENOENT/);
  });
});

describe('token reloads', () => {
  it('a rewritten file replaces the set; a bad rewrite keeps the last good one and is counted', async () => {
    const d = await tmp();
    const f = join(d, 'tokens.yaml');
    await writeFile(f, `ci: ${A}\n`);
    const store = await TokenStore.open({ path: f, log: silentLogger(), reloadMs: 20 });
    try {
      expect(store.current().match(A)).toBe('ci');
      let next = store.nextReload();
      await put(f, `deploy-bot: ${B}\n`);
      expect(await next).toEqual({ kind: 'changed', names: ['deploy-bot'] });
      expect(store.current().match(B)).toBe('deploy-bot');
      expect(store.current().match(A)).toBeNull();
      next = store.nextReload();
      await put(f, 'deploy-bot: short\n');
      const failed = await next;
      expect(failed.kind).toBe('failed');
      expect(store.current().match(B)).toBe('deploy-bot');
      expect(store.reloads).toEqual({ ok: 1, failed: 1 });
    } finally {
      await store.close();
    }
  });

  it('a Secret directory rotated by a ..data symlink swap is picked up', async () => {
    const d = await tmp();
    const version = async (name: string, token: string): Promise<void> => {
      await mkdir(join(d, name));
      await writeFile(join(d, name, 'ci'), token);
    };
    await version('..v1', A);
    await symlink('..v1', join(d, '..data'));
    await symlink('..data/ci', join(d, 'ci'));
    const store = await TokenStore.open({ path: d, log: silentLogger(), reloadMs: 20 });
    try {
      expect(store.current().match(A)).toBe('ci');
      await version('..v2', B);
      await symlink('..v2', join(d, '..data_tmp'));
      const next = store.nextReload();
      // What kubelet does: an atomic rename of the new symlink over ..data.
      await rename(join(d, '..data_tmp'), join(d, '..data'));
      expect((await next).kind).toBe('changed');
      expect(store.current().match(B)).toBe('ci');
      expect(store.current().match(A)).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('a bad file at start is CONFIG_INVALID (the CLI exits 2)', async () => {
    const d = await tmp();
    await writeFile(join(d, 't.yaml'), 'x: short\n');
    await expect(TokenStore.open({ path: join(d, 't.yaml'), log: silentLogger() })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('rate limiter', () => {
  it('allows the burst, then one request per 1/rate seconds, per name, with whole-second Retry-After', () => {
    let now = 0;
    const rl = new RateLimiter({ perSecond: 2, burst: 3 }, () => now);
    expect([1, 2, 3].map(() => rl.take('a').ok)).toEqual([true, true, true]);
    expect(rl.take('a')).toEqual({ ok: false, retryAfterSec: 1 });
    expect(rl.take('b').ok).toBe(true);
    now = 499;
    expect(rl.take('a').ok).toBe(false);
    now = 500;
    expect(rl.take('a').ok).toBe(true);
    expect(rl.take('a').ok).toBe(false);
    const slow = new RateLimiter({ perSecond: 0.1, burst: 1 }, () => now);
    expect(slow.take('a').ok).toBe(true);
    expect(slow.take('a')).toEqual({ ok: false, retryAfterSec: 10 });
    const off = new RateLimiter({ perSecond: 0, burst: 1 }, () => now);
    expect(Array.from({ length: 100 }, () => off.take('a').ok).every(Boolean)).toBe(true);
  });
});

describe('authenticator', () => {
  it('logs at most one rejection per second per server and reason, saying how many it left out; counts them all', async () => {
    const d = await tmp();
    await writeFile(join(d, 't.yaml'), `ci: ${A}\n`);
    const cap = captureLog();
    const store = await TokenStore.open({ path: join(d, 't.yaml'), log: silentLogger() });
    let now = 0;
    const auth = new Authenticator(store, { limit: { perSecond: 0, burst: 1 }, log: cap.log, now: () => now });
    try {
      const bad = { authorization: `Bearer ${B}` };
      for (let i = 0; i < 50; i++) expect(auth.check(bad, 'gateway', '10.0.0.9').kind).toBe('unauthorized');
      expect(auth.check({}, 'gateway').kind).toBe('unauthorized');
      now = 1000;
      expect(auth.check(bad, 'gateway').kind).toBe('unauthorized');
      expect(auth.check({ authorization: `Bearer ${A}` }, 'gateway')).toEqual({ kind: 'ok', token: 'ci' });
      const lines = cap.lines().filter((l) => l.event === 'auth_rejected');
      expect(lines.map((l) => [l.reason, l.suppressed])).toEqual([
        ['invalid', undefined],
        ['missing', undefined],
        ['invalid', 49],
      ]);
      expect(cap.text()).not.toContain(B);
    } finally {
      await auth.close();
    }
  });
});

describe('bind addresses', () => {
  it('knows loopback and refuses what is not an address', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', 'gateway.internal'].map(isLoopback)).toEqual([false, false, false, false]);
    expect(checkHost('0.0.0.0', '--host')).toBe('0.0.0.0');
    expect(checkHost('gw-1.example.com', '--host')).toBe('gw-1.example.com');
    expect(() => checkHost('http://x', 'NIGHTSHIFT_GATEWAY_HOST')).toThrow(/NIGHTSHIFT_GATEWAY_HOST must be an IP address or host name/);
  });
});
