import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Authenticator } from '../core/auth/index.js';
import { NightshiftError } from '../core/errors.js';
import type { MetricsRegistry } from '../core/metrics.js';
import { clickhouseConfigFromEnv } from '../sinks/clickhouse/config.js';

export interface OpsMcp {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** /v1/feedback over the same store and tokens. */
  readonly feedback: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** POST /v1/webhooks/{pagerduty,jira,servicenow}, the systems configured by their secrets (mcp/webhooks). */
  readonly webhooks: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** The webhooks' counters (nightshift_ticket_webhooks_total) on the process's registry. */
  registerMetrics(reg: MetricsRegistry): void;
  readonly description: string;
  close(): Promise<void>;
}

/**
 * /mcp, /v1/feedback and /v1/webhooks/* on a cluster process's ops port, when NIGHTSHIFT_OPS_MCP=on. Opt-in because the ops port is often bound to
 * the pod address for the probes, and the MCP tools write; and only with a ClickHouse server
 * (NIGHTSHIFT_CLICKHOUSE_URL), the one store every replica shares (an embedded chdb would be this pod's alone).
 */
export async function opsMcpFromEnv(env: NodeJS.ProcessEnv, auth: Authenticator | undefined, log: Logger): Promise<OpsMcp | null> {
  const v = env.NIGHTSHIFT_OPS_MCP?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'off' || v === '0' || v === 'false') return null;
  if (v !== 'on' && v !== '1' && v !== 'true') throw new NightshiftError('CONFIG_INVALID', `NIGHTSHIFT_OPS_MCP must be on or off, got ${JSON.stringify(env.NIGHTSHIFT_OPS_MCP)}`);
  if (!clickhouseConfigFromEnv(env)) throw new NightshiftError('CONFIG_INVALID', 'NIGHTSHIFT_OPS_MCP=on needs NIGHTSHIFT_CLICKHOUSE_URL: /mcp reads the shared ClickHouse store');
  // Loaded only when asked for: a cluster process without /mcp does not pay for the SDK.
  const [{ openMcpContext }, { mcpHttpHandler }, { feedbackHttpHandler }, { ticketWebhooksHandler, webhookConfigFromEnv, WebhookCounters }] = await Promise.all([
    import('./context.js'),
    import('./http.js'),
    import('./feedback-http.js'),
    import('./webhooks/index.js'),
  ]);
  // Read before the store is opened: a bad secret is a configuration error, reported without a connection to close.
  const hooks = webhookConfigFromEnv(env);
  const ctx = await openMcpContext(env, log);
  const counters = new WebhookCounters();
  return {
    handler: mcpHttpHandler(ctx, auth, log),
    feedback: feedbackHttpHandler(ctx, auth, log),
    webhooks: ticketWebhooksHandler(ctx, hooks, { log, counters }),
    registerMetrics: (reg) => counters.registerMetrics(reg),
    description: ctx.description,
    close: () => ctx.close(),
  };
}
