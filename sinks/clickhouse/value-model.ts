import { z } from 'zod';

/**
 * The value model: how many on-call minutes nightshift is estimated to save. An estimate, not a measurement; every
 * parameter is configurable (the `value` section of the config file, or `nightshift value` flags for one run).
 *
 * Per incident (each incident counts toward one service, the top root-cause service of its first version that named
 * one; incidents that never named one count toward service ''):
 *   alerts absorbed   = max(alerts folded into the incident − 1, 0)   (N alert notifications became one incident)
 *   root cause credit = 1 when a top root cause was published before the first human action on the incident (the
 *                       first feedback row of any kind, or none at all) and no responder's latest correction
 *                       (`correct_root_cause`) names another service; else 0
 *   tickets           = tickets nightshift created itself (tickets table, created = 1; found existing ones do not count)
 * minutes saved = alerts absorbed × minutesPerAlertTriage
 *               + root cause credit × minutesPerInvestigation × investigationShare
 *               + tickets × minutesPerTicket
 */
export const ValueModel = z.strictObject({
  /** Minutes a person spends looking at one alert notification to decide it belongs to a known problem. */
  minutesPerAlertTriage: z.number().finite().min(0).max(1440).default(2),
  /** Minutes of an incident investigation until the root cause is found, without help. */
  minutesPerInvestigation: z.number().finite().min(0).max(10_080).default(30),
  /** Share of that investigation a root cause named up front saves (0..1): the responder still has to confirm it. */
  investigationShare: z.number().finite().min(0).max(1).default(0.5),
  /** Minutes to open and fill a ticket by hand. */
  minutesPerTicket: z.number().finite().min(0).max(1440).default(5),
});
export type ValueModel = z.infer<typeof ValueModel>;

export const DEFAULT_VALUE_MODEL: ValueModel = ValueModel.parse({});

const roundTo = (expr: string, digits: number): string => `floor((${expr}) * ${10 ** digits} + 0.5) / ${10 ** digits}`;

/** A model parameter as an SQL literal: always plain decimal notation (never 1e-7), validated finite by the schema. */
const lit = (x: number): string => {
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`value model parameter ${x} is not a finite non-negative number`);
  return x.toFixed(6);
};

/**
 * One row per incident with everything the value queries need. Inline subqueries, one JOIN per SELECT and -If
 * aggregates on non-Nullable arguments, so that 18.16 and today's engine give the same answer; every aggregate is
 * merge-independent. The first root cause comes from root_causes (rank 1 of the lowest version): its key holds the
 * version, so its history survives merges, while `incidents` keeps only the latest version of an incident once
 * ClickHouse has merged (ReplacingMergeTree(version) ORDER BY incident_id). Latest alerts and first-signal time:
 * argMax over versions; tickets: max(created) per ticket.
 */
const PER_INCIDENT = `SELECT
    incident_id,
    service,
    alert_count,
    has_cause,
    first_cause_ms,
    start_ms,
    tickets_auto,
    has_cause = 1 AND (has_feedback = 0 OR first_action_ms >= first_cause_ms) AND (corrected = 0 OR corrected_service = service) AS credited
  FROM (
    SELECT incident_id, service, alert_count, has_cause, first_cause_ms, start_ms, tickets_auto
    FROM (
      SELECT incident_id, service, alert_count, has_cause, first_cause_ms, start_ms
      FROM (
        SELECT
          incident_id,
          argMax(alerts, version) AS alert_count,
          if(countIf(isNotNull(first_signal_at)) > 0, argMaxIf(assumeNotNull(first_signal_at), version, isNotNull(first_signal_at)), min(opened_at)) AS start_ms
        FROM {db}.incidents
        GROUP BY incident_id
      ) AS inc
      ANY LEFT JOIN (
        SELECT incident_id, 1 AS has_cause, argMin(service, version) AS service, min(updated_at) AS first_cause_ms
        FROM {db}.root_causes
        WHERE rank = 1
        GROUP BY incident_id
      ) AS rc USING incident_id
    ) AS inc_rc
    ANY LEFT JOIN (
      SELECT incident_id, toInt64(countIf(ticket_created = 1)) AS tickets_auto
      FROM (
        SELECT incident_id, integration, ticket_key, max(created) AS ticket_created
        FROM {db}.tickets
        GROUP BY incident_id, integration, ticket_key
      )
      GROUP BY incident_id
    ) AS tk USING incident_id
  ) AS inc_tickets
  ANY LEFT JOIN (
    SELECT
      incident_id,
      1 AS has_feedback,
      min(at) AS first_action_ms,
      if(countIf(kind = 'correct_root_cause' AND isNotNull(service)) > 0, 1, 0) AS corrected,
      argMaxIf(assumeNotNull(service), at, kind = 'correct_root_cause' AND isNotNull(service)) AS corrected_service
    FROM {db}.feedback
    GROUP BY incident_id
  ) AS fb USING incident_id`;

/** Latest owner per service, from the topology file (service_owners). */
const OWNERS = `SELECT service, argMax(owner, version) AS team FROM {db}.service_owners GROUP BY service`;

/** The value columns, aggregated over the incidents of one group. `start` → first root cause, in seconds. */
function valueColumns(m: ValueModel): string {
  const median = `if(n_causes = 0, NULL, ${roundTo('(sorted_ms[intDiv(n_causes + 1, 2)] + sorted_ms[intDiv(n_causes, 2) + 1]) / 2 / 1000', 1)})`;
  const minutes = `alerts_absorbed * ${lit(m.minutesPerAlertTriage)} + root_causes_credited * ${lit(m.minutesPerInvestigation * m.investigationShare)} + tickets_opened * ${lit(m.minutesPerTicket)}`;
  return `incidents,
  alerts,
  alerts_absorbed,
  tickets_opened,
  n_causes AS incidents_with_root_cause,
  root_causes_credited,
  ${median} AS median_seconds_to_root_cause,
  ${roundTo(minutes, 2)} AS minutes_saved`;
}

const AGGREGATES = `count() AS incidents,
    sum(alert_count) AS alerts,
    sum(if(alert_count > 1, alert_count - 1, 0)) AS alerts_absorbed,
    sum(tickets_auto) AS tickets_opened,
    sum(credited) AS root_causes_credited,
    arraySort(groupArrayIf(greatest(first_cause_ms - start_ms, 0), has_cause = 1)) AS sorted_ms,
    length(sorted_ms) AS n_causes`;

/** value_by_service: one row per service (with its team from the topology, '' when unknown). */
export function valueByServiceSql(m: ValueModel = DEFAULT_VALUE_MODEL): string {
  return `SELECT
  service,
  team,
  ${valueColumns(m)}
FROM (
  SELECT
    service,
    ${AGGREGATES}
  FROM (${PER_INCIDENT}) AS per_incident
  GROUP BY service
) AS by_service
ANY LEFT JOIN (${OWNERS}) AS owners USING service
ORDER BY minutes_saved DESC, service`;
}

/** value_by_team: one row per team (the topology's owner of each incident's service; '' = no owner known). */
export function valueByTeamSql(m: ValueModel = DEFAULT_VALUE_MODEL): string {
  return `SELECT
  team,
  ${valueColumns(m)}
FROM (
  SELECT
    team,
    ${AGGREGATES}
  FROM (
    SELECT incident_id, service, team, alert_count, has_cause, first_cause_ms, start_ms, tickets_auto, credited
    FROM (${PER_INCIDENT}) AS per_incident
    ANY LEFT JOIN (${OWNERS}) AS owners USING service
  ) AS with_team
  GROUP BY team
) AS by_team
ORDER BY minutes_saved DESC, team`;
}

export const VALUE_NOTES =
  'Each incident counts toward the top root-cause service of its first version that named one (service "" if none did); ' +
  'team = that service\'s owner in the topology file (service_owners; "" when unknown). alerts_absorbed = sum over incidents of ' +
  'max(alerts − 1, 0); tickets_opened = tickets nightshift created itself; root_causes_credited = incidents whose top cause was ' +
  'published before the first feedback on them and not corrected to another service; median_seconds_to_root_cause = median of ' +
  '(first version with a top cause).updated_at − (first_signal_at, else opened_at), in seconds (the mean of the two middle values ' +
  'for an even count; null without a root cause). minutes_saved = alerts_absorbed × 2 + root_causes_credited × 30 × 0.5 + ' +
  'tickets_opened × 5 (the default value model; `nightshift value` applies the configured one).';
