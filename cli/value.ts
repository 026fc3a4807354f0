import { parseArgs } from 'node:util';
import { loadConfig } from '../pipeline/config.js';
import { NightshiftError } from '../core/errors.js';
import { openClickHouse } from '../sinks/clickhouse/client.js';
import { analyticsChoiceFromEnv } from '../sinks/clickhouse/config.js';
import { migrate } from '../sinks/clickhouse/migrate.js';
import { valueReport, type ServiceValueRow, type TeamValueRow, type ValueModel, type ValueReport } from '../sinks/clickhouse/value.js';
import { UsageError, type CliIo } from './io.js';

export const VALUE_HELP = `nightshift value [--by service|team] [--json] [--config FILE] [--minutes-per-alert N] [--minutes-per-investigation N] [--investigation-share X] [--minutes-per-ticket N]

Value accounting from the analytics store (NIGHTSHIFT_CLICKHOUSE_URL, or the embedded chdb store): per service (with
its team, the topology's owner) or per team, the alerts absorbed, incidents opened, tickets opened automatically,
median time to the first root cause and the estimated on-call minutes saved (README, "Value accounting"):
  minutes saved = alerts absorbed x minutes per alert
                + root causes named before the first human action x minutes per investigation x investigation share
                + tickets opened automatically x minutes per ticket
  --by service|team              grouping (default service)
  --json                         the whole report (model, services, teams, totals) as one JSON document
  --config FILE                  configuration (YAML or JSON); its value section is the model
  --minutes-per-alert N          overrides value.minutesPerAlertTriage (default 2)
  --minutes-per-investigation N  overrides value.minutesPerInvestigation (default 30)
  --investigation-share X        overrides value.investigationShare, 0..1 (default 0.5)
  --minutes-per-ticket N         overrides value.minutesPerTicket (default 5)`;

export const VALUE_OPTIONS = {
  by: { type: 'string', default: 'service' },
  json: { type: 'boolean', default: false },
  config: { type: 'string' },
  'minutes-per-alert': { type: 'string' },
  'minutes-per-investigation': { type: 'string' },
  'investigation-share': { type: 'string' },
  'minutes-per-ticket': { type: 'string' },
} as const;

const OVERRIDES: ReadonlyArray<readonly [keyof typeof VALUE_OPTIONS, keyof ValueModel]> = [
  ['minutes-per-alert', 'minutesPerAlertTriage'],
  ['minutes-per-investigation', 'minutesPerInvestigation'],
  ['investigation-share', 'investigationShare'],
  ['minutes-per-ticket', 'minutesPerTicket'],
];

/** The model: the config file's value section, then the flags (validated again by valueReport). */
export async function valueModelFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<ValueModel> {
  const m: Record<string, number> = { ...(await loadConfig(values.config as string | undefined, env)).value };
  for (const [flag, key] of OVERRIDES) {
    const v = values[flag];
    if (v === undefined) continue;
    const n = Number(v);
    if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} must be a number of at least 0, got ${JSON.stringify(v)}`);
    m[key] = n;
  }
  return m as ValueModel;
}

const MINUS = '-';
const fmt = (x: number | null): string => (x === null ? MINUS : String(x));

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Names left-aligned, figures right-aligned.
  const line = (r: readonly string[]): string => r.map((c, i) => (i < header.length - 8 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

const FIGURE_HEADER = ['incidents', 'alerts', 'absorbed', 'tickets', 'with cause', 'credited', 'median s to cause', 'minutes saved'];
function figureCells(r: ServiceValueRow | TeamValueRow | ValueReport['totals']): string[] {
  return [r.incidents, r.alerts, r.alerts_absorbed, r.tickets_opened, r.incidents_with_root_cause, r.root_causes_credited, r.median_seconds_to_root_cause, r.minutes_saved].map(fmt);
}

export function formatValueReport(r: ValueReport, by: 'service' | 'team'): string {
  const m = r.model;
  const model =
    `model: ${m.minutesPerAlertTriage} min per alert absorbed, ${m.minutesPerInvestigation} min per investigation x ${m.investigationShare} ` +
    `per root cause credited, ${m.minutesPerTicket} min per ticket opened automatically\n`;
  const total = ['total', ...(by === 'service' ? [''] : []), ...figureCells(r.totals)];
  const t =
    by === 'service'
      ? table(['service', 'team', ...FIGURE_HEADER], [...r.services.map((s) => [s.service || '(no root cause)', s.team || '(no owner)', ...figureCells(s)]), total])
      : table(['team', ...FIGURE_HEADER], [...r.teams.map((s) => [s.team || '(no owner)', ...figureCells(s)]), total]);
  return `${t}${model}`;
}

export async function valueCommand(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args: argv, options: VALUE_OPTIONS, strict: true });
  if (values.by !== 'service' && values.by !== 'team') throw new UsageError(`--by must be service or team, got ${JSON.stringify(values.by)}`);
  const by = values.by;
  const model = await valueModelFrom(values, env);
  const choice = analyticsChoiceFromEnv(env);
  if (choice.kind === 'none') throw new NightshiftError('CONFIG_INVALID', `analytics are off (${choice.reason})`);
  const ch = await openClickHouse(choice.config.target, { requestTimeoutMs: choice.config.writer.requestTimeoutMs });
  let report: ValueReport;
  try {
    // The tables and views exist only after the migrations; applying them is idempotent.
    await migrate(ch, choice.config.database);
    report = await valueReport(ch, choice.config.database, model, { by: values.json ? 'both' : by });
  } finally {
    await ch.close();
  }
  io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatValueReport(report, by));
  return 0;
}
