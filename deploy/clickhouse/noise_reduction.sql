-- How much does the pipeline condense its input, per hour?
-- records→signals = 1 − signals / records in; alerts→incidents = 1 − incidents opened / alert notifications in. Summed over pipelines; hours without input show 0.
-- Also available as the view nightshift.v_noise_reduction. Runs on ClickHouse 18.16 and later.
SELECT
  toStartOfHour(toDateTime(intDiv(minute_ms, 1000), 'UTC')) AS hour,
  sum(records_in) AS records,
  sum(alerts_in) AS alert_notifications,
  sum(signals) AS signal_count,
  sum(incidents_opened) AS incidents,
  floor((if(sum(records_in) = 0, 0, 1 - sum(signals) / sum(records_in))) * 10000 + 0.5) / 10000 AS records_to_signals,
  floor((if(sum(alerts_in) = 0, 0, 1 - sum(incidents_opened) / sum(alerts_in))) * 10000 + 0.5) / 10000 AS alerts_to_incidents
FROM nightshift.pipeline_stats FINAL
GROUP BY hour
ORDER BY hour;
