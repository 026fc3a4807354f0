-- How many incidents touched each service, per week?
-- An incident counts once for every service in its latest version; weeks start on Monday (UTC).
-- Also available as the view nightshift.v_incidents_per_service_week. Runs on ClickHouse 18.16 and later.
SELECT
  toMonday(toDateTime(intDiv(opened_ms, 1000), 'UTC')) AS week,
  service,
  count() AS incidents
FROM (SELECT
      incident_id,
      any(opened_at) AS opened_ms,
      argMax(services, version) AS latest_services,
      argMax(first_signal_at, version) AS first_signal_ms,
      max(version) AS latest_version
    FROM nightshift.incidents
    GROUP BY incident_id)
ARRAY JOIN latest_services AS service
GROUP BY week, service
ORDER BY week, incidents DESC, service;
