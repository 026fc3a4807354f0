-- How long from the first symptom to the incident, per week?
-- Detection delay = opened_at − first_signal_at, where first_signal_at is the earliest first-symptom time of the incident's services (from its bundle). It measures perception's delay, not the fault's start (unknown in production; the eval harness measures that against ground truth). Incidents without a recorded first signal are left out.
-- Also available as the view nightshift.v_mean_time_to_detect. Runs on ClickHouse 18.16 and later.
SELECT
  toMonday(toDateTime(intDiv(opened_ms, 1000), 'UTC')) AS week,
  count() AS incidents,
  intDiv(sum(opened_ms - assumeNotNull(first_signal_ms)), count()) / 1000 AS mean_seconds,
  max(opened_ms - assumeNotNull(first_signal_ms)) / 1000 AS max_seconds
FROM (SELECT
      incident_id,
      any(opened_at) AS opened_ms,
      argMax(services, version) AS latest_services,
      argMax(first_signal_at, version) AS first_signal_ms,
      max(version) AS latest_version
    FROM nightshift.incidents
    GROUP BY incident_id)
WHERE isNotNull(first_signal_ms)
GROUP BY week
ORDER BY week;
