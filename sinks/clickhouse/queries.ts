import { valueByServiceSql, valueByTeamSql, VALUE_NOTES } from './value-model.js';

/**
 * The analyst questions as saved queries. Each is also a view `{db}.v_<name>` (created by migration 2) and a file
 * deploy/clickhouse/<name>.sql (database `nightshift`). The SQL is written for both engines: Debian's 18.16 server
 * and today's ClickHouse — so no CTEs (`WITH x AS (SELECT …)`), no window functions, no toStartOfWeek /
 * toStartOfInterval, explicit JOIN strictness, and rounded floats so that both give the same answer.
 *
 * Every aggregate over a ReplacingMergeTree table is merge-independent (FINAL, or argMax(…, version) / max(version)),
 * so the answer does not depend on whether ClickHouse has merged the parts yet — engines merge at different times.
 */
export interface AnalystQuery {
  readonly name: string;
  readonly view: string;
  readonly question: string;
  /** What the numbers mean, for the README. */
  readonly notes: string;
  /** With `{db}` for the database. Ends with an ORDER BY that makes the row order total (no ties). */
  readonly sql: string;
  /**
   * The migration that creates its view (default 2). A migration's text may never change once applied, so a query
   * added later gets its view from the migration that adds it, never from migration 2.
   */
  readonly viewMigration?: number;
}

/**
 * Rounds half up to `digits` places. Not round(): for floats today's engine rounds ties to even and 18.16 away from
 * zero, so an exact tie (e.g. a rate of 1/32) would differ between the engines.
 */
const roundTo = (expr: string, digits: number): string => `floor((${expr}) * ${10 ** digits} + 0.5) / ${10 ** digits}`;

// Latest state per incident. Inline subquery (no CTE on 18.16).
const LATEST_INCIDENTS = `SELECT
      incident_id,
      any(opened_at) AS opened_ms,
      argMax(services, version) AS latest_services,
      argMax(first_signal_at, version) AS first_signal_ms,
      max(version) AS latest_version
    FROM {db}.incidents
    GROUP BY incident_id`;

export const ANALYST_QUERIES: readonly AnalystQuery[] = [
  {
    name: 'incidents_per_service_week',
    view: 'v_incidents_per_service_week',
    question: 'How many incidents touched each service, per week?',
    notes: 'An incident counts once for every service in its latest version; weeks start on Monday (UTC).',
    sql: `SELECT
  toMonday(toDateTime(intDiv(opened_ms, 1000), 'UTC')) AS week,
  service,
  count() AS incidents
FROM (${LATEST_INCIDENTS})
ARRAY JOIN latest_services AS service
GROUP BY week, service
ORDER BY week, incidents DESC, service`,
  },
  {
    name: 'top_root_causes',
    view: 'v_top_root_causes',
    question: 'Which services and kinds are most often the top-ranked root cause?',
    notes: 'Rank-1 cause of the latest version of each incident; mean confidence rounded (half up) to 4 places.',
    sql: `SELECT
  service,
  kind,
  count() AS incidents,
  ${roundTo('avg(confidence)', 4)} AS mean_confidence
FROM {db}.root_causes FINAL
WHERE rank = 1
  AND (incident_id, version) IN (SELECT incident_id, max(version) FROM {db}.incidents GROUP BY incident_id)
GROUP BY service, kind
ORDER BY incidents DESC, service, kind`,
  },
  {
    name: 'mean_time_to_detect',
    view: 'v_mean_time_to_detect',
    question: 'How long from the first symptom to the incident, per week?',
    notes:
      'Detection delay = opened_at − first_signal_at, where first_signal_at is the earliest first-symptom time of the ' +
      "incident's services (from its bundle). It measures perception's delay, not the fault's start (unknown in production; " +
      'the eval harness measures that against ground truth). Incidents without a recorded first signal are left out.',
    sql: `SELECT
  toMonday(toDateTime(intDiv(opened_ms, 1000), 'UTC')) AS week,
  count() AS incidents,
  intDiv(sum(opened_ms - assumeNotNull(first_signal_ms)), count()) / 1000 AS mean_seconds,
  max(opened_ms - assumeNotNull(first_signal_ms)) / 1000 AS max_seconds
FROM (${LATEST_INCIDENTS})
WHERE isNotNull(first_signal_ms)
GROUP BY week
ORDER BY week`,
  },
  {
    name: 'noise_reduction',
    view: 'v_noise_reduction',
    question: 'How much does the pipeline condense its input, per hour?',
    notes:
      'records→signals = 1 − signals / records in; alerts→incidents = 1 − incidents opened / alert notifications in. ' +
      'Summed over pipelines; hours without input show 0.',
    sql: `SELECT
  toStartOfHour(toDateTime(intDiv(minute_ms, 1000), 'UTC')) AS hour,
  sum(records_in) AS records,
  sum(alerts_in) AS alert_notifications,
  sum(signals) AS signal_count,
  sum(incidents_opened) AS incidents,
  ${roundTo('if(sum(records_in) = 0, 0, 1 - sum(signals) / sum(records_in))', 4)} AS records_to_signals,
  ${roundTo('if(sum(alerts_in) = 0, 0, 1 - sum(incidents_opened) / sum(alerts_in))', 4)} AS alerts_to_incidents
FROM {db}.pipeline_stats FINAL
GROUP BY hour
ORDER BY hour`,
  },
  {
    name: 'llm_cost_quality',
    view: 'v_llm_cost_quality',
    question: 'What do the LLM runs cost, and how often do they hallucinate, per day and model?',
    notes:
      "Hallucination rate = share of runs whose guard result is 'rejected' (the answer named services or evidence not in " +
      'the bundle). Fallback rate = share of runs where the ranker answer was used instead.',
    sql: `SELECT
  toDate(toDateTime(intDiv(ts, 1000), 'UTC')) AS day,
  model,
  count() AS runs,
  ${roundTo('sum(cost_usd)', 6)} AS total_cost_usd,
  sum(tokens_in) AS total_tokens_in,
  sum(tokens_out) AS total_tokens_out,
  ${roundTo('avg(latency_ms)', 1)} AS mean_latency_ms,
  ${roundTo("countIf(guard_result = 'rejected') / count()", 4)} AS hallucination_rate,
  ${roundTo('countIf(fallback_used = 1) / count()', 4)} AS fallback_rate,
  ${roundTo('avg(retrieval_hit)', 4)} AS retrieval_hit_rate
FROM {db}.reasoning_runs FINAL
GROUP BY day, model
ORDER BY day, model`,
  },
  {
    name: 'new_error_templates',
    view: 'v_new_error_templates',
    question: 'Which new warning/error log templates are most frequent?',
    notes:
      "Templates that raised a 'template_new' signal (first seen after the service's warm-up) with level warn, error or " +
      'fatal, by occurrences; `incidents` = incidents they were evidence of. Top 50.',
    sql: `SELECT
  template_id,
  template_service AS service,
  template_text AS template,
  template_level AS level,
  occurrences,
  first_seen_ms,
  incidents
FROM (
  SELECT
    template_id,
    argMax(service, version) AS template_service,
    argMax(template, version) AS template_text,
    argMax(level, version) AS template_level,
    max(count) AS occurrences,
    argMax(first_seen, version) AS first_seen_ms
  FROM {db}.log_templates
  GROUP BY template_id
) AS templates
ALL INNER JOIN (
  SELECT ref AS template_id, uniqExact(incident_id) AS incidents
  FROM {db}.signals
  WHERE type = 'template_new'
  GROUP BY template_id
) AS new_templates USING template_id
WHERE template_level IN ('warn', 'error', 'fatal')
ORDER BY occurrences DESC, template_id
LIMIT 50`,
  },
  {
    name: 'value_by_service',
    view: 'v_value_by_service',
    question: 'What did nightshift save on-call, per service: alerts absorbed, incidents, tickets, time to first root cause, minutes?',
    notes: VALUE_NOTES,
    sql: valueByServiceSql(),
    viewMigration: 8,
  },
  {
    name: 'value_by_team',
    view: 'v_value_by_team',
    question: 'What did nightshift save on-call, per team (the topology owner of each service)?',
    notes: VALUE_NOTES,
    sql: valueByTeamSql(),
    viewMigration: 8,
  },
];

/** The saved queries whose view migration `version` creates. */
export function viewsOfMigration(version: number): readonly AnalystQuery[] {
  return ANALYST_QUERIES.filter((q) => (q.viewMigration ?? 2) === version);
}

export function analystQuery(name: string): AnalystQuery | undefined {
  return ANALYST_QUERIES.find((q) => q.name === name);
}

/** The saved query with the database filled in. */
export function analystSql(q: AnalystQuery, db: string): string {
  return q.sql.replaceAll('{db}', db);
}
