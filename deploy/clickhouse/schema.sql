-- Applied automatically at start (schema_migrations); for reference.
-- migration 1: base tables
CREATE TABLE IF NOT EXISTS nightshift.incidents (
        incident_id String,
        version UInt64,
        opened_at Int64,
        updated_at Int64,
        status Enum8('open' = 1, 'resolved' = 2),
        services Array(String),
        events Int64,
        alerts Int64,
        signals Int64,
        root_cause_count UInt8,
        top_service Nullable(String),
        top_kind Nullable(Enum8('latency' = 1, 'errors' = 2, 'saturation' = 3, 'deploy' = 4, 'resource' = 5, 'dependency' = 6, 'unknown' = 7)),
        top_confidence Nullable(Float64),
        reasoner String,
        first_signal_at Nullable(Int64),
        opened DateTime('UTC') MATERIALIZED toDateTime(intDiv(opened_at, 1000), 'UTC')
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(toDateTime(intDiv(opened_at, 1000), 'UTC'))
      ORDER BY incident_id;

CREATE TABLE IF NOT EXISTS nightshift.root_causes (
        incident_id String,
        version UInt64,
        opened_at Int64,
        updated_at Int64,
        rank UInt8,
        service String,
        kind Enum8('latency' = 1, 'errors' = 2, 'saturation' = 3, 'deploy' = 4, 'resource' = 5, 'dependency' = 6, 'unknown' = 7),
        confidence Float64,
        summary String,
        evidence Array(String)
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(toDateTime(intDiv(opened_at, 1000), 'UTC'))
      ORDER BY (incident_id, version, rank);

CREATE TABLE IF NOT EXISTS nightshift.signals (
        incident_id String,
        signal_id String,
        ts Int64,
        service String,
        type Enum8('template_new' = 1, 'template_burst' = 2, 'metric_anomaly' = 3, 'red_latency' = 4, 'red_errors' = 5, 'red_rate' = 6, 'alert' = 7, 'change' = 8),
        score Float64,
        hint Enum8('latency' = 1, 'errors' = 2, 'saturation' = 3, 'deploy' = 4, 'resource' = 5, 'dependency' = 6, 'unknown' = 7),
        summary String,
        ref String,
        peer Nullable(String),
        time DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC')
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000), 'UTC'))
      ORDER BY (incident_id, signal_id);

CREATE TABLE IF NOT EXISTS nightshift.log_templates (
        template_id String,
        service String,
        template String,
        level String,
        count Int64,
        first_seen Int64,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY template_id;

CREATE TABLE IF NOT EXISTS nightshift.pipeline_stats (
        pipeline String,
        minute_ms Int64,
        version UInt64,
        records_in Int64,
        alerts_in Int64,
        signals Int64,
        incidents_opened Int64,
        bundles Int64,
        noise_reduction Float64,
        minute DateTime('UTC') MATERIALIZED toDateTime(intDiv(minute_ms, 1000), 'UTC')
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(toDateTime(intDiv(minute_ms, 1000), 'UTC'))
      ORDER BY (pipeline, minute_ms);

CREATE TABLE IF NOT EXISTS nightshift.reasoning_runs (
        run_id String,
        incident_id String,
        incident_version UInt64,
        ts Int64,
        model String,
        latency_ms Float64,
        tokens_in Int64,
        tokens_out Int64,
        cost_usd Float64,
        retrieval_hit UInt8,
        guard_result Enum8('passed' = 1, 'rejected' = 2, 'invalid' = 3, 'skipped' = 4),
        fallback_used UInt8,
        agrees_with_ranker Nullable(UInt8),
        time DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC')
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000), 'UTC'))
      ORDER BY (incident_id, run_id);

-- migration 2: analyst views
CREATE VIEW IF NOT EXISTS nightshift.v_incidents_per_service_week AS SELECT
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

CREATE VIEW IF NOT EXISTS nightshift.v_top_root_causes AS SELECT
  service,
  kind,
  count() AS incidents,
  floor((avg(confidence)) * 10000 + 0.5) / 10000 AS mean_confidence
FROM nightshift.root_causes FINAL
WHERE rank = 1
  AND (incident_id, version) IN (SELECT incident_id, max(version) FROM nightshift.incidents GROUP BY incident_id)
GROUP BY service, kind
ORDER BY incidents DESC, service, kind;

CREATE VIEW IF NOT EXISTS nightshift.v_mean_time_to_detect AS SELECT
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

CREATE VIEW IF NOT EXISTS nightshift.v_noise_reduction AS SELECT
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

CREATE VIEW IF NOT EXISTS nightshift.v_llm_cost_quality AS SELECT
  toDate(toDateTime(intDiv(ts, 1000), 'UTC')) AS day,
  model,
  count() AS runs,
  floor((sum(cost_usd)) * 1000000 + 0.5) / 1000000 AS total_cost_usd,
  sum(tokens_in) AS total_tokens_in,
  sum(tokens_out) AS total_tokens_out,
  floor((avg(latency_ms)) * 10 + 0.5) / 10 AS mean_latency_ms,
  floor((countIf(guard_result = 'rejected') / count()) * 10000 + 0.5) / 10000 AS hallucination_rate,
  floor((countIf(fallback_used = 1) / count()) * 10000 + 0.5) / 10000 AS fallback_rate,
  floor((avg(retrieval_hit)) * 10000 + 0.5) / 10000 AS retrieval_hit_rate
FROM nightshift.reasoning_runs FINAL
GROUP BY day, model
ORDER BY day, model;

CREATE VIEW IF NOT EXISTS nightshift.v_new_error_templates AS SELECT
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

-- migration 3: modern: LowCardinality strings (server >= 20.3)
ALTER TABLE nightshift.incidents MODIFY COLUMN reasoner LowCardinality(String);

ALTER TABLE nightshift.incidents MODIFY COLUMN top_service LowCardinality(Nullable(String));

ALTER TABLE nightshift.root_causes MODIFY COLUMN service LowCardinality(String);

ALTER TABLE nightshift.signals MODIFY COLUMN service LowCardinality(String);

ALTER TABLE nightshift.log_templates MODIFY COLUMN service LowCardinality(String);

ALTER TABLE nightshift.log_templates MODIFY COLUMN level LowCardinality(String);

ALTER TABLE nightshift.reasoning_runs MODIFY COLUMN model LowCardinality(String);

-- migration 4: modern: codecs (server >= 20.3)
ALTER TABLE nightshift.signals MODIFY COLUMN ts Int64 CODEC(Delta, ZSTD(1));

ALTER TABLE nightshift.signals MODIFY COLUMN summary String CODEC(ZSTD(3));

ALTER TABLE nightshift.root_causes MODIFY COLUMN summary String CODEC(ZSTD(3));

ALTER TABLE nightshift.pipeline_stats MODIFY COLUMN records_in Int64 CODEC(T64, ZSTD(1));

-- migration 5: modern: TTL retention (server >= 20.3)
ALTER TABLE nightshift.signals ADD COLUMN IF NOT EXISTS inserted_at DateTime DEFAULT now();

ALTER TABLE nightshift.signals MODIFY TTL inserted_at + INTERVAL 90 DAY;

ALTER TABLE nightshift.pipeline_stats ADD COLUMN IF NOT EXISTS inserted_at DateTime DEFAULT now();

ALTER TABLE nightshift.pipeline_stats MODIFY TTL inserted_at + INTERVAL 400 DAY;

-- migration 6: feedback
CREATE TABLE IF NOT EXISTS nightshift.feedback (
        feedback_id String,
        incident_id String,
        at Int64,
        kind Enum8('ack' = 1, 'resolve' = 2, 'correct_root_cause' = 3, 'comment' = 4),
        service Nullable(String),
        root_kind Nullable(Enum8('latency' = 1, 'errors' = 2, 'saturation' = 3, 'deploy' = 4, 'resource' = 5, 'dependency' = 6, 'unknown' = 7)),
        note Nullable(String),
        actor String,
        source String,
        time DateTime('UTC') MATERIALIZED toDateTime(intDiv(at, 1000), 'UTC')
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(toDateTime(intDiv(at, 1000), 'UTC'))
      ORDER BY (incident_id, feedback_id);

-- migration 7: incident_details
CREATE TABLE IF NOT EXISTS nightshift.incident_details (
        incident_id String,
        version UInt64,
        updated_at Int64,
        title String,
        severity Enum8('critical' = 1, 'high' = 2, 'medium' = 3, 'low' = 4),
        evidence String,
        edges String
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY incident_id;

-- migration 8: tickets
CREATE TABLE IF NOT EXISTS nightshift.tickets (
        incident_id String,
        integration String,
        ticket_key String,
        url String,
        opened_at Int64,
        service String,
        created UInt8,
        opened DateTime('UTC') MATERIALIZED toDateTime(intDiv(opened_at, 1000), 'UTC')
      ) ENGINE = ReplacingMergeTree(created)
      ORDER BY (incident_id, integration, ticket_key);

CREATE TABLE IF NOT EXISTS nightshift.service_owners (
        service String,
        owner String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY service;

CREATE VIEW IF NOT EXISTS nightshift.v_value_by_service AS SELECT
  service,
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
    service,
    count() AS incidents,
    sum(alert_count) AS alerts,
    sum(if(alert_count > 1, alert_count - 1, 0)) AS alerts_absorbed,
    sum(tickets_auto) AS tickets_opened,
    sum(credited) AS root_causes_credited,
    arraySort(groupArrayIf(greatest(first_cause_ms - start_ms, 0), has_cause = 1)) AS sorted_ms,
    length(sorted_ms) AS n_causes
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
  GROUP BY service
) AS by_service
ANY LEFT JOIN (SELECT service, argMax(owner, version) AS team FROM nightshift.service_owners GROUP BY service) AS owners USING service
ORDER BY minutes_saved DESC, service;

CREATE VIEW IF NOT EXISTS nightshift.v_value_by_team AS SELECT
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
