-- What did nightshift save on-call, per team (the topology owner of each service)?
-- Each incident counts toward the top root-cause service of its first version that named one (service "" if none did); team = that service's owner in the topology file (service_owners; "" when unknown). alerts_absorbed = sum over incidents of max(alerts − 1, 0); tickets_opened = tickets nightshift created itself; root_causes_credited = incidents whose top cause was published before the first feedback on them and not corrected to another service; median_seconds_to_root_cause = median of (first version with a top cause).updated_at − (first_signal_at, else opened_at), in seconds (the mean of the two middle values for an even count; null without a root cause). minutes_saved = alerts_absorbed × 2 + root_causes_credited × 30 × 0.5 + tickets_opened × 5 (the default value model; `nightshift value` applies the configured one).
-- Also available as the view nightshift.v_value_by_team. Runs on ClickHouse 18.16 and later.
SELECT
  team,
  incidents,
  alerts,
  alerts_absorbed,
  tickets_opened,
  n_causes AS incidents_with_root_cause,
  root_causes_credited,
  if(n_causes = 0, NULL, floor(((sorted_ms[intDiv(n_causes + 1, 2)] + sorted_ms[intDiv(n_causes, 2) + 1]) / 2 / 1000) * 10 + 0.5) / 10) AS median_seconds_to_root_cause,
  floor((alerts_absorbed * 2.000000 + root_causes_credited * 15.000000 + tickets_opened * 5.000000) * 100 + 0.5) / 100 AS minutes_saved
FROM (
  SELECT
    team,
    count() AS incidents,
    sum(alert_count) AS alerts,
    sum(if(alert_count > 1, alert_count - 1, 0)) AS alerts_absorbed,
    sum(tickets_auto) AS tickets_opened,
    sum(credited) AS root_causes_credited,
    arraySort(groupArrayIf(greatest(first_cause_ms - start_ms, 0), has_cause = 1)) AS sorted_ms,
    length(sorted_ms) AS n_causes
  FROM (
    SELECT incident_id, service, team, alert_count, has_cause, first_cause_ms, start_ms, tickets_auto, credited
    FROM (SELECT
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
        FROM nightshift.incidents
        GROUP BY incident_id
      ) AS inc
      ANY LEFT JOIN (
        SELECT incident_id, 1 AS has_cause, argMin(service, version) AS service, min(updated_at) AS first_cause_ms
        FROM nightshift.root_causes
        WHERE rank = 1
        GROUP BY incident_id
      ) AS rc USING incident_id
    ) AS inc_rc
    ANY LEFT JOIN (
      SELECT incident_id, toInt64(countIf(ticket_created = 1)) AS tickets_auto
      FROM (
        SELECT incident_id, integration, ticket_key, max(created) AS ticket_created
        FROM nightshift.tickets
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
    FROM nightshift.feedback
    GROUP BY incident_id
  ) AS fb USING incident_id) AS per_incident
    ANY LEFT JOIN (SELECT service, argMax(owner, version) AS team FROM nightshift.service_owners GROUP BY service) AS owners USING service
  ) AS with_team
  GROUP BY team
) AS by_team
ORDER BY minutes_saved DESC, team;
