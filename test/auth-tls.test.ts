import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Served } from '../core/auth/index.js';
import { startOpsServer } from '../core/ops.js';
import { captureLog, tokenFixture } from './helpers/auth.js';

/**
 * TLS and mTLS on the real listeners, with certificates made here by openssl: HTTPS without client certificates,
 * client certificates required when a client CA is configured (refused without one or with one from another CA),
 * and a renewed certificate taken without a restart.
 */
const dir = mkdtempSync(join(tmpdir(), 'ns-tls-'));
const p = (f: string): string => join(dir, f);
const closers: Array<() => Promise<void>> = [];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/** A CA, and a certificate it signs (server: for 127.0.0.1 and localhost; client: for clientAuth). */
function ca(name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '2']);
}
function leaf(name: string, caName: string, ext: string): void {
  writeFileSync(p(`${name}.ext`), ext);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
}

beforeAll(() => {
  ca('ca');
  ca('other-ca');
  const server = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  leaf('server', 'ca', server);
  leaf('server2', 'other-ca', server);
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  copyFileSync(p('server.crt'), p('live.crt'));
  copyFileSync(p('server.key'), p('live.key'));
});

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** Replaces `to` atomically, so a poll reads the old file or the new one, never half of it. */
function install(from: string, to: string): void {
  copyFileSync(p(from), p(`${to}.tmp`));
  renameSync(p(`${to}.tmp`), p(to));
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS GET, trusting `caFile`, presenting a client certificate when `client` names one. */
function get(port: number, path: string, caFile: string, client?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        headers,
        ca: readFileSync(p(caFile)),
        ...(client ? { cert: readFileSync(p(`${client}.crt`)), key: readFileSync(p(`${client}.key`)) } : {}),
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('TLS on the ops server', () => {
  it('serves HTTPS with the certificate given; tokens still apply to /metrics', async () => {
    const cap = captureLog();
    const f = await tokenFixture({ prometheus: 'prom-0123456789abcdef0123456789' }, cap.log);
    closers.push(() => f.close());
    const o = await startOpsServer({ port: 0, healthy: () => true, ready: () => true, metrics: () => 'm 1\n', auth: f.auth, tls: { cert: p('server.crt'), key: p('server.key') } });
    closers.push(() => o.close());
    expect(o.scheme).toBe('https');
    expect(await get(o.port, '/healthz', 'ca.crt')).toEqual({ status: 200, body: 'ok\n' });
    expect((await get(o.port, '/metrics', 'ca.crt')).status).toBe(401);
    expect(await get(o.port, '/metrics', 'ca.crt', undefined, { authorization: 'Bearer prom-0123456789abcdef0123456789' })).toEqual({ status: 200, body: 'm 1\n' });
    // A client that does not trust the CA refuses the server.
    await expect(get(o.port, '/healthz', 'other-ca.crt')).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    // Plain HTTP to the TLS port gets no answer.
    await expect(fetch(`http://127.0.0.1:${o.port}/healthz`)).rejects.toThrow();
  });

  it('with a client CA requires a client certificate signed by it (mTLS)', async () => {
    const o = await startOpsServer({ port: 0, healthy: () => true, ready: () => true, metrics: () => '', tls: { cert: p('server.crt'), key: p('server.key'), clientCa: p('ca.crt') } });
    closers.push(() => o.close());
    expect((await get(o.port, '/healthz', 'ca.crt', 'client')).status).toBe(200);
    await expect(get(o.port, '/healthz', 'ca.crt')).rejects.toThrow();
    await expect(get(o.port, '/healthz', 'ca.crt', 'stranger')).rejects.toThrow();
  });

  it('refuses unusable TLS files at start with CONFIG_INVALID', async () => {
    const start = (cert: string, key: string) => startOpsServer({ port: 0, healthy: () => true, ready: () => true, metrics: () => '', tls: { cert: p(cert), key: p(key) } });
    await expect(start('server.crt', 'client.key')).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/not usable/) });
    await expect(start('missing.crt', 'server.key')).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/cannot be read: ENOENT/) });
  });
});

describe('TLS certificate renewal', () => {
  it('a renewed certificate is served without a restart; a broken renewal keeps the previous one', async () => {
    const outcomes: Array<'changed' | 'failed'> = [];
    let notify: () => void = () => undefined;
    const next = (): Promise<void> => new Promise<void>((r) => (notify = r));
    const served: Served = await createServer((_req, res) => res.end('hi'), { cert: p('live.crt'), key: p('live.key') }, {
      reloadMs: 20,
      onReload: (o) => {
        outcomes.push(o);
        notify();
      },
    });
    await new Promise<void>((r) => served.server.listen(0, '127.0.0.1', r));
    const port = (served.server.address() as AddressInfo).port;
    closers.push(async () => {
      await served.stopWatching();
      await new Promise((r) => served.server.close(r));
    });
    expect((await get(port, '/', 'ca.crt')).body).toBe('hi');
    await expect(get(port, '/', 'other-ca.crt')).rejects.toThrow();
    // A key that does not match the certificate: refused, the old pair keeps serving.
    let reloaded = next();
    install('server2.key', 'live.key');
    await reloaded;
    expect(outcomes).toEqual(['failed']);
    expect((await get(port, '/', 'ca.crt')).body).toBe('hi');
    reloaded = next();
    install('server2.crt', 'live.crt');
    await reloaded;
    expect(outcomes).toEqual(['failed', 'changed']);
    expect((await get(port, '/', 'other-ca.crt')).body).toBe('hi');
    await expect(get(port, '/', 'ca.crt')).rejects.toThrow();
  });
});
