import { parseArgs } from 'node:util';
import { createLogger } from '../core/log.js';
import { intOpt, UsageError, type CliIo } from './io.js';

export const SHOW_HELP = `nightshift show INCIDENT_ID [--json] [--signals N]

One incident from the analytics store (as \`nightshift ui\` shows it): title and severity, the top-3 causes with
confidence and evidence text, the key series as a sparkline against the expected values, the signal timeline, the
involved topology, tickets and feedback. Store: NIGHTSHIFT_CLICKHOUSE_URL, or chdb at NIGHTSHIFT_CHDB_PATH.
  --json         print the same detail as JSON (what GET /api/incidents/ID answers)
  --signals N    timeline lines printed (default 20; --json has them all)`;

export const SHOW_OPTIONS = { json: { type: 'boolean', default: false }, signals: { type: 'string' } } as const;

export async function showCommand(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: SHOW_OPTIONS, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('show takes one incident id (nightshift mcp, the view or `nightshift query` list them)');
  const signals = intOpt(values.signals, 'signals', 20, 0, 10_000);
  const log = createLogger();
  const [{ openMcpContext }, { incidentDetail }, { renderDetailText }] = await Promise.all([import('../mcp/context.js'), import('../ui/detail.js'), import('../ui/text.js')]);
  const { IncidentId } = await import('../mcp/tools.js');
  const id = IncidentId.safeParse(positionals[0]);
  if (!id.success) throw new UsageError(`incident id ${JSON.stringify(positionals[0])}: ${id.error.issues[0]?.message ?? 'invalid'}`);
  const ctx = await openMcpContext(env, log);
  try {
    const d = await incidentDetail(ctx, id.data);
    io.stdout.write(values.json ? `${JSON.stringify(d, null, 2)}\n` : renderDetailText(d, signals));
    return 0;
  } finally {
    await ctx.close();
  }
}
