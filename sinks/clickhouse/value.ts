import { NightshiftError } from '../../core/errors.js';
import type { ClickHouseLike } from './client.js';
import { toClickHouseNightshiftError } from './errors.js';
import { DEFAULT_VALUE_MODEL, ValueModel, valueByServiceSql, valueByTeamSql } from './value-model.js';

export { DEFAULT_VALUE_MODEL, ValueModel, valueByServiceSql, valueByTeamSql } from './value-model.js';

/** The value figures of one group of incidents (a service, or a team). See value-model.ts for the model. */
export interface ValueFigures {
  /** Incidents opened. */
  readonly incidents: number;
  /** Alert notifications folded into them (each incident's latest count). */
  readonly alerts: number;
  /** Sum over the incidents of max(alerts − 1, 0). */
  readonly alerts_absorbed: number;
  /** Tickets nightshift created itself (not the ones it found already there). */
  readonly tickets_opened: number;
  readonly incidents_with_root_cause: number;
  /** Incidents whose root cause was named before the first human action and not corrected to another service. */
  readonly root_causes_credited: number;
  /** Median seconds from the first symptom (else the opening) to the first published root cause; null without one. */
  readonly median_seconds_to_root_cause: number | null;
  /** Estimated on-call minutes saved under the model. */
  readonly minutes_saved: number;
}

export interface ServiceValueRow extends ValueFigures {
  /** '' = incidents that never named a root cause. */
  readonly service: string;
  /** The service's owner in the topology file; '' when unknown. */
  readonly team: string;
}

export interface TeamValueRow extends ValueFigures {
  /** '' = services without a known owner. */
  readonly team: string;
}

export interface ValueReport {
  readonly model: ValueModel;
  /** Highest minutes saved first. Empty when not asked for. */
  readonly services: readonly ServiceValueRow[];
  readonly teams: readonly TeamValueRow[];
  readonly totals: ValueFigures;
}

export interface ValueReportOptions {
  /** Which groupings to query (default both). */
  readonly by?: 'service' | 'team' | 'both';
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

function figures(r: Record<string, unknown>): ValueFigures {
  const median = r.median_seconds_to_root_cause;
  return {
    incidents: num(r.incidents),
    alerts: num(r.alerts),
    alerts_absorbed: num(r.alerts_absorbed),
    tickets_opened: num(r.tickets_opened),
    incidents_with_root_cause: num(r.incidents_with_root_cause),
    root_causes_credited: num(r.root_causes_credited),
    median_seconds_to_root_cause: median === null || median === undefined ? null : num(median),
    minutes_saved: num(r.minutes_saved),
  };
}

/** Totals over groups. A median does not add up from group medians: null unless there is exactly one group. */
function totalsOf(rows: readonly ValueFigures[]): ValueFigures {
  const sum = (k: keyof ValueFigures): number => rows.reduce((a, r) => a + ((r[k] as number | null) ?? 0), 0);
  return {
    incidents: sum('incidents'),
    alerts: sum('alerts'),
    alerts_absorbed: sum('alerts_absorbed'),
    tickets_opened: sum('tickets_opened'),
    incidents_with_root_cause: sum('incidents_with_root_cause'),
    root_causes_credited: sum('root_causes_credited'),
    median_seconds_to_root_cause: rows.length === 1 ? rows[0]!.median_seconds_to_root_cause : null,
    minutes_saved: Math.round(sum('minutes_saved') * 100) / 100,
  };
}

async function query(ch: ClickHouseLike, sql: string, what: string): Promise<Record<string, unknown>[]> {
  try {
    return await ch.query<Record<string, unknown>>(sql);
  } catch (e) {
    throw toClickHouseNightshiftError(e, what);
  }
}

/**
 * Value accounting per service and per team, from the analytics store (server or chdb, migrated), under `model`
 * (validated; defaults fill what it leaves out). The saved queries value_by_service / value_by_team are the same SQL
 * with the default model.
 */
export async function valueReport(ch: ClickHouseLike, db: string, model: Partial<ValueModel> = DEFAULT_VALUE_MODEL, opts: ValueReportOptions = {}): Promise<ValueReport> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw new NightshiftError('CONFIG_INVALID', `invalid database name ${JSON.stringify(db)}`);
  const parsed = ValueModel.safeParse(model);
  if (!parsed.success) {
    throw new NightshiftError('CONFIG_INVALID', `value model is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const m = parsed.data;
  const by = opts.by ?? 'both';
  const withDb = (sql: string): string => sql.replaceAll('{db}', db);
  const services =
    by === 'team' ? [] : (await query(ch, withDb(valueByServiceSql(m)), 'value by service')).map((r): ServiceValueRow => ({ service: String(r.service), team: String(r.team ?? ''), ...figures(r) }));
  const teams = by === 'service' ? [] : (await query(ch, withDb(valueByTeamSql(m)), 'value by team')).map((r): TeamValueRow => ({ team: String(r.team ?? ''), ...figures(r) }));
  return { model: m, services, teams, totals: totalsOf(by === 'team' ? teams : services) };
}
