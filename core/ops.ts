import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import type { Logger } from 'pino';
import { NightshiftError } from './errors.js';
import { LOOPBACK, checkHost, createServer, isRefusal, refusalHeaders, refusalMessage, refusalStatus, type Authenticator, type Served, type TlsFiles } from './auth/index.js';

/**
 * The operations endpoints of a cluster-mode process (`nightshift run`, `nightshift gateway`):
 *   GET /healthz  200 while the process works (liveness), 503 after a fatal error
 *   GET /readyz   200 once it is connected and has joined its consumer groups (readiness), 503 before or while stopping
 *   GET /metrics  Prometheus text exposition (core/metrics.ts)
 * Anything else is 404 (405 for another method). The port comes from NIGHTSHIFT_OPS_PORT (default 9464), the bind
 * address from NIGHTSHIFT_OPS_HOST (default loopback). With an authenticator that has tokens, /metrics needs a bearer
 * token (401 without, 429 over the token's rate); the probes stay open because kubelet sends no credentials.
 * With `mcp`, POST /mcp is the MCP endpoint (mcp/http.ts, which checks the tokens itself): a handler, so that core
 * imports nothing of it. With `feedback`, GET and POST /v1/feedback are the feedback API (mcp/feedback-http.ts, same
 * tokens, checked there too). With `webhooks`, POST /v1/webhooks/<system> are the ticketing systems' inbound webhooks
 * (mcp/webhooks, each checking its own vendor's signature or secret).
 */
export interface OpsOptions {
  readonly port: number;
  /** Default 127.0.0.1: a pod sets 0.0.0.0 (the chart does). */
  readonly host?: string;
  readonly healthy: () => boolean;
  readonly ready: () => boolean;
  readonly metrics: () => string;
  /** The MCP streamable HTTP endpoint at /mcp; it answers every request itself, refusals included. */
  readonly mcp?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** The feedback API at /v1/feedback; like `mcp`, it answers every request itself. */
  readonly feedback?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** The ticketing webhooks under /v1/webhooks/; like `mcp`, it answers every request itself. */
  readonly webhooks?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly auth?: Authenticator;
  readonly tls?: TlsFiles;
  readonly log?: Logger;
}

export interface OpsServer {
  readonly port: number;
  readonly host: string;
  readonly scheme: 'http' | 'https';
  close(): Promise<void>;
}

export const DEFAULT_OPS_PORT = 9464;

/** A TCP port from an environment variable (0 = any free port); a bad value is an error, not a silent default. */
export function portFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new NightshiftError('CONFIG_INVALID', `${name} must be a port number (0-65535), got ${JSON.stringify(v)}`);
  return n;
}

export function opsPortFromEnv(env: NodeJS.ProcessEnv, fallback = DEFAULT_OPS_PORT): number {
  return portFromEnv(env, 'NIGHTSHIFT_OPS_PORT', fallback);
}

export function opsHostFromEnv(env: NodeJS.ProcessEnv, fallback = LOOPBACK): string {
  const v = env.NIGHTSHIFT_OPS_HOST;
  return v === undefined || v === '' ? fallback : checkHost(v, 'NIGHTSHIFT_OPS_HOST');
}

function reply(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(opts: OpsOptions, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const own = path === '/mcp' ? opts.mcp : path === '/v1/feedback' ? opts.feedback : path?.startsWith('/v1/webhooks/') ? opts.webhooks : undefined;
  if (own) {
    own(req, res).catch((e: unknown) => {
      if (res.headersSent) res.destroy();
      else reply(res, 500, `error: ${(e as Error).message}\n`);
    });
    return;
  }
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
  if (!known) return reply(res, 404, 'not found: try /healthz, /readyz or /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, 405, 'method not allowed\n');
  }
  try {
    if (path === '/healthz') return opts.healthy() ? reply(res, 200, 'ok\n') : reply(res, 503, 'unhealthy\n');
    if (path === '/readyz') return opts.ready() ? reply(res, 200, 'ready\n') : reply(res, 503, 'not ready\n');
    const auth = opts.auth?.check(req.headers, 'ops', req.socket.remoteAddress);
    if (auth && isRefusal(auth)) return reply(res, refusalStatus(auth), `${refusalMessage(auth)}\n`, undefined, refusalHeaders(auth));
    return reply(res, 200, opts.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
  } catch (e) {
    return reply(res, 500, `error: ${(e as Error).message}\n`);
  }
}

/** Listens on `port` (0: any free port) and resolves with the port bound; a bind error rejects. */
export async function listen(server: Server, port: number, host = LOOPBACK): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The address the socket is bound to, which is what a reader of the startup line needs to see. */
export function boundAddress(server: Server, fallback: string): string {
  const a = server.address();
  return typeof a === 'object' && a !== null ? a.address : fallback;
}

/** A server from `createServer`, bound: its port and address, and a close that also stops re-reading TLS files. */
export interface BoundServer {
  readonly port: number;
  readonly host: string;
  readonly scheme: Served['scheme'];
  close(): Promise<void>;
}

/** Listens (port 0: any free port); a bind error stops the TLS watch before it rejects, so nothing keeps polling. */
export async function bindServed({ server, scheme, stopWatching }: Served, port: number, host: string): Promise<BoundServer> {
  let bound: number;
  try {
    bound = await listen(server, port, host);
  } catch (e) {
    await stopWatching();
    throw e;
  }
  return {
    port: bound,
    host: boundAddress(server, host),
    scheme,
    close: async () => {
      await stopWatching();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Starts the server (port 0: any free port, see `.port`). */
export async function startOpsServer(opts: OpsOptions): Promise<OpsServer> {
  const served = await createServer((req, res) => handle(opts, req, res), opts.tls, opts.log ? { log: opts.log } : {});
  served.server.keepAliveTimeout = 5000;
  served.server.requestTimeout = 10_000;
  return bindServed(served, opts.port, opts.host ?? LOOPBACK);
}
