import type { Logger } from 'pino';
import { createServer, LOOPBACK, type Authenticator, type TlsFiles } from '../core/auth/index.js';
import { bindServed } from '../core/ops.js';
import type { McpContext } from './context.js';
import { FEEDBACK_PATH, feedbackHttpHandler } from './feedback-http.js';
import { MCP_PATH, mcpHttpHandler } from './http.js';

export interface McpHttpServer {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  close(): Promise<void>;
}

/** `nightshift mcp --http`: /mcp and the feedback API (/v1/feedback), on its own port, with the listener options of the other servers. */
export async function startMcpHttpServer(opts: { ctx: McpContext; port: number; host?: string; auth?: Authenticator; tls?: TlsFiles; log?: Logger }): Promise<McpHttpServer> {
  const handler = mcpHttpHandler(opts.ctx, opts.auth, opts.log);
  const feedback = feedbackHttpHandler(opts.ctx, opts.auth, opts.log);
  const served = await createServer(
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== MCP_PATH && path !== FEEDBACK_PATH) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`not found: the MCP endpoint is ${MCP_PATH}, the feedback API ${FEEDBACK_PATH}\n`);
        return;
      }
      // The handlers answer every failure themselves; this catch only keeps a bug from becoming an unhandled rejection.
      (path === MCP_PATH ? handler : feedback)(req, res).catch((e: unknown) => opts.log?.error({ err: (e as Error).message }, 'mcp handler failed'));
    },
    opts.tls,
    opts.log ? { log: opts.log } : {},
  );
  const b = await bindServed(served, opts.port, opts.host ?? LOOPBACK);
  return {
    port: b.port,
    host: b.host,
    url: `${b.scheme}://${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}${MCP_PATH}`,
    close: () => b.close(),
  };
}
