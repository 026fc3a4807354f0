import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from 'pino';
import { isRefusal, refusalHeaders, refusalMessage, refusalStatus, type Authenticator } from '../core/auth/index.js';
import type { McpContext } from './context.js';
import { createMcpServer } from './server.js';
import type { Caller } from './tools.js';

export const MCP_PATH = '/mcp';

/**
 * Without tokens, a web page the operator visits could reach a loopback /mcp through a DNS name that it re-points at
 * 127.0.0.1 (DNS rebinding) and call the write tools. Such a request carries that name in Host; an IP literal or
 * localhost cannot be re-pointed, so only those are answered.
 */
export function rebindSafeHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || isIP(name) !== 0;
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Streamable HTTP, stateless: each POST gets its own server and transport (no session ids), so a restart or a
 * second replica loses nothing and a token's rights are checked on every request. JSON responses, no SSE stream:
 * no tool here notifies or streams. With tokens configured every request needs one (401 without); a read-only
 * token's calls to the write tools are tool errors (FORBIDDEN), its reads work.
 */
export function mcpHttpHandler(ctx: McpContext, auth: Authenticator | undefined, log?: Logger): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const a = auth?.check(req.headers, 'ops', req.socket.remoteAddress) ?? { kind: 'open' as const };
    if (isRefusal(a)) return reply(res, refusalStatus(a), `${refusalMessage(a)}\n`, refusalHeaders(a));
    if (a.kind === 'open' && !rebindSafeHost(req.headers.host)) {
      return reply(res, 403, 'without bearer tokens /mcp answers only Host localhost or an IP address (DNS rebinding); configure --tokens\n');
    }
    if (req.method !== 'POST') {
      // GET (a server-to-client stream) and DELETE (end a session) mean nothing without sessions.
      return reply(res, 405, 'method not allowed: POST JSON-RPC messages to /mcp (stateless streamable HTTP)\n', { allow: 'POST' });
    }
    const caller: Caller = a.kind === 'ok' ? { actor: a.token, canWrite: auth?.isReadOnly(a.token) !== true, source: 'mcp-http' } : { actor: 'anonymous', canWrite: true, source: 'mcp-http' };
    const server = createMcpServer(ctx, caller);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close().catch((e: unknown) => log?.warn({ err: (e as Error).message }, 'mcp transport close failed'));
      server.close().catch((e: unknown) => log?.warn({ err: (e as Error).message }, 'mcp server close failed'));
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res);
    } catch (e) {
      log?.error({ err: (e as Error).message }, 'mcp request failed');
      if (!res.headersSent) reply(res, 500, `error: ${(e as Error).message}\n`);
    }
  };
}
