import type { Logger } from 'pino';
import { createServer, LOOPBACK, type Authenticator, type TlsFiles } from '../core/auth/index.js';
import { bindServed } from '../core/ops.js';
import type { McpContext } from './context.js';
import { FEEDBACK_PATH, feedbackHttpHandler } from './feedback-http.js';
import { MCP_PATH, mcpHttpHandler } from './http.js';
import { ticketWebhooksHandler, WEBHOOKS_PREFIX, type WebhookConfig, type WebhookCounters } from './webhooks/index.js';

export interface McpHttpServer {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `nightshift mcp --http`: /mcp, the feedback API (/v1/feedback) and the ticketing webhooks (/v1/webhooks/*, those
 * `webhooks` configures; none without it), on its own port, with the listener options of the other servers.
 */
export async function startMcpHttpServer(opts: {
  ctx: McpContext;
  port: number;
  host?: string;
  auth?: Authenticator;
  tls?: TlsFiles;
  log?: Logger;
  webhooks?: WebhookConfig;
  webhookCounters?: WebhookCounters;
}): Promise<McpHttpServer> {
  const handler = mcpHttpHandler(opts.ctx, opts.auth, opts.log);
  const feedback = feedbackHttpHandler(opts.ctx, opts.auth, opts.log);
  const hooks = ticketWebhooksHandler(opts.ctx, opts.webhooks ?? {}, { ...(opts.log ? { log: opts.log } : {}), ...(opts.webhookCounters ? { counters: opts.webhookCounters } : {}) });
  const served = await createServer(
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const own = path === MCP_PATH ? handler : path === FEEDBACK_PATH ? feedback : path?.startsWith(WEBHOOKS_PREFIX) ? hooks : undefined;
      if (!own) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`not found: the MCP endpoint is ${MCP_PATH}, the feedback API ${FEEDBACK_PATH}, the ticketing webhooks ${WEBHOOKS_PREFIX}<system>\n`);
        return;
      }
      // The handlers answer every failure themselves; this catch only keeps a bug from becoming an unhandled rejection.
      own(req, res).catch((e: unknown) => opts.log?.error({ err: (e as Error).message }, 'mcp handler failed'));
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
