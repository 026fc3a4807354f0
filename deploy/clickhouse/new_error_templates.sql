-- Which new warning/error log templates are most frequent?
-- Templates that raised a 'template_new' signal (first seen after the service's warm-up) with level warn, error or fatal, by occurrences; `incidents` = incidents they were evidence of. Top 50.
-- Also available as the view nightshift.v_new_error_templates. Runs on ClickHouse 18.16 and later.
SELECT
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
  FROM nightshift.log_templates
  GROUP BY template_id
) AS templates
ALL INNER JOIN (
  SELECT ref AS template_id, uniqExact(incident_id) AS incidents
  FROM nightshift.signals
  WHERE type = 'template_new'
  GROUP BY template_id
) AS new_templates USING template_id
WHERE template_level IN ('warn', 'error', 'fatal')
ORDER BY occurrences DESC, template_id
LIMIT 50;
