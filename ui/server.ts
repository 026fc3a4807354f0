import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { z } from 'zod';
import { createServer, isRefusal, LOOPBACK, refusalHeaders, refusalMessage, refusalStatus, type Authenticator, type TlsFiles } from '../core/auth/index.js';
import { bindServed } from '../core/ops.js';
import { NightshiftError, toNightshiftError, type ErrorCode } from '../core/errors.js';
import { RootCauseKind } from '../schemas/common.js';
import { needReader, type McpContext } from '../mcp/context.js';
import { FEEDBACK_PATH, feedbackHttpHandler } from '../mcp/feedback-http.js';
import { MCP_PATH, mcpHttpHandler, rebindSafeHost } from '../mcp/http.js';
import { MAX_LIST } from '../mcp/store.js';
import { IncidentId, Service } from '../mcp/tools.js';
import { ticketWebhooksHandler, WEBHOOKS_PREFIX, type WebhookConfig } from '../mcp/webhooks/index.js';
import { incidentDetail } from './detail.js';

/** Extra JSON routes a caller mounts under /api/ (the value report), answered after the same token check. */
export type ApiRoute = (query: URLSearchParams) => Promise<unknown>;

export interface UiServerOptions {
  readonly ctx: McpContext;
  readonly port: number;
  readonly host?: string;
  readonly auth?: Authenticator;
  readonly tls?: TlsFiles;
  readonly log?: Logger;
  readonly routes?: Readonly<Record<string, ApiRoute>>;
  /** The ticketing systems' webhooks (/v1/webhooks/*), each on when its secret is configured. */
  readonly webhooks?: WebhookConfig;
}

export interface UiServer {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The page's files ship in the package (no CDN: the view works offline). From the sources they sit beside this file;
 * from dist/ui/ they are two levels up in ui/assets, which the package and the image carry.
 */
function assetDir(): string {
  for (const rel of ['./assets/', '../../ui/assets/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    try {
      readFileSync(`${dir}index.html`);
      return dir;
    } catch {
      // try the next layout
    }
  }
  throw new NightshiftError('CONFIG_INVALID', 'the incident view assets (ui/assets) are missing from this install');
}

const ASSETS: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/assets/app.js': 'app.js',
  '/assets/app.css': 'app.css',
};
const TYPES: Readonly<Record<string, string>> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/**
 * Telemetry text is shown on this page, and anyone who can make a service log a line writes it: the page renders
 * text only through textContent, and the policy forbids inline script and any other origin, so a planted
 * `<script>` or `javascript:` link is inert even if a rendering bug let it through.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const STATUS: Partial<Record<ErrorCode, number>> = { SCHEMA_MISMATCH: 400, FORBIDDEN: 403, NOT_FOUND: 404, CONFIG_INVALID: 503 };

function send(res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => send(res, status, `${JSON.stringify(body)}\n`, 'application/json; charset=utf-8', headers);

const ListQuery = z
  .object({
    status: z.enum(['open', 'resolved']).optional(),
    service: Service.optional(),
    since: z.coerce.number().int().nonnegative().optional(),
    until: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(MAX_LIST).default(50),
  })
  .strict();

function queryObject(q: URLSearchParams): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of q) if (v !== '') o[k] = v;
  return o;
}

async function api(ctx: McpContext, routes: Readonly<Record<string, ApiRoute>>, path: string, q: URLSearchParams, canWrite: boolean): Promise<unknown> {
  const reader = needReader(ctx);
  if (path === '/api/meta') return { store: ctx.description, kinds: RootCauseKind.options, can_write: canWrite, feedback: FEEDBACK_PATH, extra: Object.keys(routes) };
  if (path === '/api/incidents') {
    const f = ListQuery.safeParse(queryObject(q));
    if (!f.success) throw new NightshiftError('SCHEMA_MISMATCH', `query: ${f.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    const rows = await reader.list({ ...f.data, limit: f.data.limit + 1 });
    return { incidents: rows.slice(0, f.data.limit), truncated: rows.length > f.data.limit };
  }
  const m = /^\/api\/incidents\/([^/]+)$/.exec(path);
  if (m) {
    const id = IncidentId.safeParse(decodeURIComponent(m[1]!));
    if (!id.success) throw new NightshiftError('SCHEMA_MISMATCH', `incident id: ${id.error.issues[0]?.message ?? 'invalid'}`);
    return incidentDetail(ctx, id.data);
  }
  const extra = Object.hasOwn(routes, path.slice('/api/'.length)) ? routes[path.slice('/api/'.length)] : undefined;
  if (extra) return extra(q);
  throw new NightshiftError('NOT_FOUND', `no API route ${path}`);
}

/**
 * `nightshift ui`: the incident view. GET / is the page (static files, no data); the page reads /api/* (JSON, the
 * same bearer tokens as the other write endpoints when tokens are configured: the page asks for one and sends it),
 * and writes through /v1/feedback, the same feedback API agents use. /mcp and the ticketing webhooks are served too,
 * so one listener gives people, agents and ticketing systems the same store.
 */
export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const dir = assetDir();
  const files = new Map(Object.entries(ASSETS).map(([route, file]) => [route, { body: readFileSync(`${dir}${file}`, 'utf8'), type: TYPES[file.split('.').pop()!]! }]));
  const feedback = feedbackHttpHandler(opts.ctx, opts.auth, opts.log);
  const mcp = mcpHttpHandler(opts.ctx, opts.auth, opts.log);
  const routes = opts.routes ?? {};
  const hooks = ticketWebhooksHandler(opts.ctx, opts.webhooks ?? {}, opts.log ? { log: opts.log } : {});

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === FEEDBACK_PATH) return feedback(req, res);
    if (path === MCP_PATH) return mcp(req, res);
    if (path.startsWith(WEBHOOKS_PREFIX)) return hooks(req, res);
    const file = files.get(path);
    if (file) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', 'text/plain; charset=utf-8', { allow: 'GET, HEAD' });
      return send(res, 200, file.body, file.type);
    }
    if (!path.startsWith('/api/')) return send(res, 404, 'not found\n', 'text/plain; charset=utf-8');
    if (req.method !== 'GET') return json(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'the /api/ routes are read-only: feedback goes to POST /v1/feedback' } }, { allow: 'GET' });
    const a = opts.auth?.check(req.headers, 'ops', req.socket.remoteAddress) ?? { kind: 'open' as const };
    if (isRefusal(a)) return json(res, refusalStatus(a), { error: { code: 'UNAUTHORIZED', message: refusalMessage(a) } }, refusalHeaders(a));
    if (a.kind === 'open' && !rebindSafeHost(req.headers.host)) {
      return json(res, 403, { error: { code: 'FORBIDDEN', message: 'without bearer tokens the view answers only Host localhost or an IP address (DNS rebinding); configure --tokens' } });
    }
    const canWrite = a.kind === 'open' || opts.auth?.isReadOnly(a.token) !== true;
    try {
      return json(res, 200, await api(opts.ctx, routes, path, url.searchParams, canWrite));
    } catch (e) {
      const err = toNightshiftError(e);
      if (err.code === 'INTERNAL' || err.retriable) opts.log?.error({ err: err.message, path }, 'incident view request failed');
      return json(res, STATUS[err.code] ?? (err.retriable ? 503 : 500), { error: { code: err.code, message: err.message } });
    }
  };

  const served = await createServer(
    (req, res) => {
      handle(req, res).catch((e: unknown) => {
        opts.log?.error({ err: (e as Error).message }, 'incident view handler failed');
        if (res.headersSent) res.destroy();
        else json(res, 500, { error: { code: 'INTERNAL', message: (e as Error).message } });
      });
    },
    opts.tls,
    opts.log ? { log: opts.log } : {},
  );
  const b = await bindServed(served, opts.port, opts.host ?? LOOPBACK);
  return { port: b.port, host: b.host, url: `${b.scheme}://${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}/`, close: () => b.close() };
}
