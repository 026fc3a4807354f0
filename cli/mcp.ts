import { parseArgs } from 'node:util';
import { warnIfExposed } from '../core/auth/index.js';
import { createLogger } from '../core/log.js';
import { intOpt, UsageError, type CliIo } from './io.js';
import { LISTEN_HELP, LISTEN_OPTIONS, hostFrom, listenSettings } from './listen.js';

export const MCP_HELP = `nightshift mcp [--actor NAME] | nightshift mcp --http [--port N] [--host ADDR] [--tokens PATH] ...

Model Context Protocol server over the analytics store (NIGHTSHIFT_CLICKHOUSE_URL, or chdb at NIGHTSHIFT_CHDB_PATH,
default .nightshift/chdb; the store \`nightshift replay\` writes). Tools: list_incidents, search_incidents,
get_incident (causes with evidence text), similar_incidents, run_saved_query, acknowledge_incident, record_feedback,
list_feedback; resources: the knowledge base as runbook://ID (NIGHTSHIFT_KNOWLEDGE_DIR or the shipped sample).
Without --http it speaks MCP on stdin/stdout (for an agent that spawns it) until stdin closes; logs go to stderr.
  --actor NAME         name recorded with feedback given over stdio (default: $USER, else "stdio")
  --http               serve streamable HTTP (stateless, JSON responses) at POST /mcp instead of stdio
                       and the feedback API: POST /v1/feedback (JSON), GET /v1/feedback?incident=ID, and the
                       ticketing webhooks POST /v1/webhooks/{pagerduty,jira,servicenow} (each on when its secret is
                       set: NIGHTSHIFT_PAGERDUTY_WEBHOOK_SECRET, NIGHTSHIFT_JIRA_WEBHOOK_SECRET or _TOKEN,
                       NIGHTSHIFT_SERVICENOW_WEBHOOK_TOKEN or _BASIC; see deploy/RUNBOOK.md)
  --port N             HTTP port (default NIGHTSHIFT_MCP_PORT or 9465; 0 = any free port)
  --host ADDR          HTTP listen address (default NIGHTSHIFT_MCP_HOST or 127.0.0.1)
${LISTEN_HELP}
                       Over HTTP feedback records the token's name; a read-only token may call the read tools only.`;

export const MCP_OPTIONS = {
  ...LISTEN_OPTIONS,
  actor: { type: 'string' },
  http: { type: 'boolean', default: false },
  port: { type: 'string' },
} as const;

export const DEFAULT_MCP_PORT = 9465;

const HTTP_ONLY = ['port', 'host', 'tokens', 'read-only-tokens', 'rate-limit', 'rate-burst', 'tls-cert', 'tls-key', 'tls-client-ca'] as const;

export async function mcpCommand(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: MCP_OPTIONS, strict: true, allowPositionals: false });
  if (positionals.length > 0) throw new UsageError(`mcp takes no arguments, got ${positionals.join(' ')}`);
  const log = createLogger();
  // Loaded here, not at the top: the SDK costs every other command ~0.2 s of start-up otherwise.
  const { openMcpContext } = await import('../mcp/context.js');
  if (!values.http) {
    const stray = HTTP_ONLY.filter((k) => values[k] !== undefined);
    if (stray.length > 0) throw new UsageError(`--${stray[0]} needs --http (stdio has no listener)`);
    const actor = values.actor ?? (env.USER?.trim() || 'stdio');
    if (actor.length > 128) throw new UsageError('--actor is at most 128 characters');
    const { serveStdio } = await import('../mcp/server.js');
    const ctx = await openMcpContext(env, log);
    log.info({ store: ctx.description }, 'nightshift mcp: serving on stdio');
    try {
      await serveStdio(ctx, actor);
    } finally {
      await ctx.close();
    }
    return 0;
  }
  if (values.actor !== undefined) throw new UsageError('--actor is for stdio: over HTTP feedback records the token name');
  const host = hostFrom(values.host, env, 'NIGHTSHIFT_MCP_HOST', '127.0.0.1');
  const envPort = env.NIGHTSHIFT_MCP_PORT;
  const port = intOpt(values.port ?? (envPort === '' ? undefined : envPort), 'port', DEFAULT_MCP_PORT, 0, 65_535);
  const { auth, tls } = await listenSettings(values, env, log);
  const [{ startMcpHttpServer }, { webhookConfigFromEnv, enabledWebhooks }] = await Promise.all([import('../mcp/listen.js'), import('../mcp/webhooks/index.js')]);
  const webhooks = webhookConfigFromEnv(env);
  const ctx = await openMcpContext(env, log);
  const srv = await startMcpHttpServer({ ctx, port, host, auth, log, webhooks, ...(tls ? { tls } : {}) });
  if (enabledWebhooks(webhooks).length > 0) log.info({ webhooks: enabledWebhooks(webhooks) }, 'nightshift mcp: ticketing webhooks on');
  warnIfExposed(log, [{ what: 'mcp', host, port: srv.port }], auth.enabled);
  io.stderr.write(`nightshift mcp: ${srv.url} over ${ctx.description}; ${auth.enabled ? 'bearer tokens required' : 'no authentication'}\n`);
  const sig = await new Promise<string>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
  });
  io.stderr.write(`nightshift mcp: ${sig}, stopping\n`);
  await srv.close();
  await auth.close();
  await ctx.close();
  return 0;
}
