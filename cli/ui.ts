import { parseArgs } from 'node:util';
import { warnIfExposed } from '../core/auth/index.js';
import { createLogger } from '../core/log.js';
import { intOpt, UsageError, type CliIo } from './io.js';
import { LISTEN_HELP, LISTEN_OPTIONS, hostFrom, listenSettings } from './listen.js';

export const UI_HELP = `nightshift ui [--port N] [--host ADDR] [--tokens PATH] ...

The incident view: a web page over the analytics store (NIGHTSHIFT_CLICKHOUSE_URL, or chdb at NIGHTSHIFT_CHDB_PATH,
default .nightshift/chdb; the store \`nightshift replay\` and \`nightshift run\` write). Incidents live (open and
resolved, by service and time); per incident the top-3 causes with confidence and evidence text, the key series
(observed against the expected band), a timeline of its signals, the involved topology, tickets, and buttons to
acknowledge, resolve or name the real root cause (recorded as feedback, as /v1/feedback and MCP record it).
Works offline: the page's files ship in the package. The same listener serves /mcp, /v1/feedback and the ticketing
webhooks (/v1/webhooks/{pagerduty,jira,servicenow}, each on when its secret is set: see nightshift mcp --help).
  --port N             HTTP port (default NIGHTSHIFT_UI_PORT or 9466; 0 = any free port)
  --host ADDR          listen address (default NIGHTSHIFT_UI_HOST or 127.0.0.1)
  --config FILE        configuration (YAML or JSON): its value section is the value panel's model
${LISTEN_HELP}
                       With tokens the page asks for one; a read-only token sees everything and records nothing.`;

export const UI_OPTIONS = { ...LISTEN_OPTIONS, port: { type: 'string' }, config: { type: 'string' } } as const;

export const DEFAULT_UI_PORT = 9466;

export async function uiCommand(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: UI_OPTIONS, strict: true, allowPositionals: false });
  if (positionals.length > 0) throw new UsageError(`ui takes no arguments, got ${positionals.join(' ')}`);
  const log = createLogger();
  const host = hostFrom(values.host, env, 'NIGHTSHIFT_UI_HOST', '127.0.0.1');
  const envPort = env.NIGHTSHIFT_UI_PORT;
  const port = intOpt(values.port ?? (envPort === '' ? undefined : envPort), 'port', DEFAULT_UI_PORT, 0, 65_535);
  const { auth, tls } = await listenSettings(values, env, log);
  const { loadConfig } = await import('../pipeline/config.js');
  const model = (await loadConfig(values.config, env)).value;
  // Loaded here: the store client and the MCP SDK cost every other command start-up time otherwise.
  const [{ openMcpContext }, { startUiServer }, { uiRoutes }, { webhookConfigFromEnv }] = await Promise.all([
    import('../mcp/context.js'),
    import('../ui/server.js'),
    import('../ui/routes.js'),
    import('../mcp/webhooks/index.js'),
  ]);
  const ctx = await openMcpContext(env, log);
  const srv = await startUiServer({ ctx, port, host, auth, log, routes: uiRoutes(ctx, model), webhooks: webhookConfigFromEnv(env), ...(tls ? { tls } : {}) });
  warnIfExposed(log, [{ what: 'ui', host, port: srv.port }], auth.enabled);
  io.stderr.write(`nightshift ui: ${srv.url} over ${ctx.description}; ${auth.enabled ? 'bearer tokens required' : 'no authentication'}\n`);
  const sig = await new Promise<string>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
  });
  io.stderr.write(`nightshift ui: ${sig}, stopping\n`);
  await srv.close();
  await auth.close();
  await ctx.close();
  return 0;
}
