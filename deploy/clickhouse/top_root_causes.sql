-- Which services and kinds are most often the top-ranked root cause?
-- Rank-1 cause of the latest version of each incident; mean confidence rounded (half up) to 4 places.
-- Also available as the view nightshift.v_top_root_causes. Runs on ClickHouse 18.16 and later.
SELECT
  service,
  kind,
  count() AS incidents,
  floor((avg(confidence)) * 10000 + 0.5) / 10000 AS mean_confidence
FROM nightshift.root_causes FINAL
WHERE rank = 1
  AND (incident_id, version) IN (SELECT incident_id, max(version) FROM nightshift.incidents GROUP BY incident_id)
GROUP BY service, kind
ORDER BY incidents DESC, service, kind;
