import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostFrom, rateLimitFrom, tlsFrom } from '../cli/listen.js';
import { main } from '../cli/main.js';
import { capture } from './helpers/cli.js';

/**
 * The listener options of `nightshift gateway` and `nightshift run`: defaults (loopback, the generous rate limit),
 * environment variables, and configuration errors that exit 2 before anything connects.
 */
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-auth-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


describe('listener options', () => {
  it('bind loopback by default; the flag wins over the environment variable', () => {
    expect(hostFrom(undefined, {}, 'NIGHTSHIFT_GATEWAY_HOST', '127.0.0.1')).toBe('127.0.0.1');
    expect(hostFrom(undefined, { NIGHTSHIFT_GATEWAY_HOST: '0.0.0.0' }, 'NIGHTSHIFT_GATEWAY_HOST', '127.0.0.1')).toBe('0.0.0.0');
    expect(hostFrom('::1', { NIGHTSHIFT_GATEWAY_HOST: '0.0.0.0' }, 'NIGHTSHIFT_GATEWAY_HOST', '127.0.0.1')).toBe('::1');
    expect(() => hostFrom(undefined, { NIGHTSHIFT_OPS_HOST: 'not a host' }, 'NIGHTSHIFT_OPS_HOST', '127.0.0.1')).toThrow(/NIGHTSHIFT_OPS_HOST must be an IP address/);
  });

  it('rate limit: default generous, from flags or environment, burst twice the rate unless given', () => {
    expect(rateLimitFrom({}, {})).toEqual({ perSecond: 200, burst: 400 });
    expect(rateLimitFrom({ 'rate-limit': '5' }, { NIGHTSHIFT_RATE_LIMIT: '9' })).toEqual({ perSecond: 5, burst: 10 });
    expect(rateLimitFrom({}, { NIGHTSHIFT_RATE_LIMIT: '0.5', NIGHTSHIFT_RATE_BURST: '3' })).toEqual({ perSecond: 0.5, burst: 3 });
    expect(rateLimitFrom({ 'rate-limit': '0' }, {})).toEqual({ perSecond: 0, burst: 1 });
    expect(() => rateLimitFrom({ 'rate-limit': 'fast' }, {})).toThrow(/--rate-limit must be a number/);
  });

  it('TLS: cert and key together; a client CA only with them', () => {
    expect(tlsFrom({}, {})).toBeUndefined();
    expect(tlsFrom({}, { NIGHTSHIFT_TLS_CERT: 'c', NIGHTSHIFT_TLS_KEY: 'k', NIGHTSHIFT_TLS_CLIENT_CA: 'ca' })).toEqual({ cert: 'c', key: 'k', clientCa: 'ca' });
    expect(() => tlsFrom({ 'tls-cert': 'c' }, {})).toThrow(/go together/);
    expect(() => tlsFrom({ 'tls-client-ca': 'ca' }, {})).toThrow(/needs --tls-cert/);
  });
});

describe('configuration errors exit 2 before connecting', () => {
  it('a bad or missing token file, a bad host, TLS flags that do not fit', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'ci: short\n');
    const good = join(dir, 'good.yaml');
    await writeFile(good, 'prometheus: 0123456789abcdef0123\n');
    // An address nothing listens on: reaching Kafka would mean the check came too late.
    const noKafka = ['--brokers', '127.0.0.1:1'];
    const cases: Array<[string[], RegExp]> = [
      [['gateway', '--tokens', bad, ...noKafka], /CONFIG_INVALID: tokens .*bad.yaml: the token of ci has 5 characters/],
      [['run', '--tokens', join(dir, 'missing'), ...noKafka], /CONFIG_INVALID: tokens .*missing: cannot be read: ENOENT/],
      [['gateway', '--host', 'a b', ...noKafka], /--host must be an IP address or host name/],
      [['gateway', '--ops-host', 'a/b', ...noKafka], /--ops-host must be an IP address or host name/],
      [['run', '--tls-client-ca', bad, ...noKafka], /--tls-client-ca needs --tls-cert/],
      [['gateway', '--tls-cert', bad, '--tls-key', bad, ...noKafka], /CONFIG_INVALID: TLS files .* are not usable/],
      [['gateway', '--rate-limit=-1', ...noKafka], /--rate-limit must be a number of at least 0/],
      [['gateway', '--tokens', good, '--read-only-tokens', 'prometheus,promethues', ...noKafka], /--read-only-tokens names promethues, not in the tokens/],
      [['run', '--read-only-tokens', 'prometheus', ...noKafka], /--read-only-tokens needs --tokens/],
    ];
    for (const [argv, msg] of cases) {
      const c = capture();
      expect(await main(argv, c.io), argv.join(' ')).toBe(2);
      expect(c.err(), argv.join(' ')).toMatch(msg);
      expect(c.err()).not.toContain('short\n');
    }
  });
});
