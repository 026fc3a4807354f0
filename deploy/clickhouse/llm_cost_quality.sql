-- What do the LLM runs cost, and how often do they hallucinate, per day and model?
-- Hallucination rate = share of runs whose guard result is 'rejected' (the answer named services or evidence not in the bundle). Fallback rate = share of runs where the ranker answer was used instead.
-- Also available as the view nightshift.v_llm_cost_quality. Runs on ClickHouse 18.16 and later.
SELECT
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
