import type { MetricSnapshot } from './emit/metrics.js';
import type { LongRunning } from './noise.js';
import { dailyLoad } from './state.js';
import type { SvcState } from './state.js';
import type { SimService, World } from './world.js';

/**
 * Prometheus-style alert rules per service. Upstream services carry more and louder rules (the edge pages on a
 * 3 % error ratio), datastores only have warnings about themselves: a failing database is mostly heard through its
 * callers, as in real estates.
 */
export type AlertSeverity = 'critical' | 'warning' | 'info';

export interface RuleInput {
  readonly s: SvcState;
  /** Scraped values, or null when the target could not be scraped (down). */
  readonly m: MetricSnapshot | null;
  readonly t: number;
  /** Per-instance multiplier (persistent skew times scrape noise). */
  readonly inst: number;
  readonly lastOom: number;
}

export interface Rule {
  readonly alertname: string;
  readonly severity: AlertSeverity;
  readonly forMs: number;
  readonly perInstance: boolean;
  /** Delivered as plain JSON by a non-Alertmanager monitor (synthetics, cron monitor). */
  readonly plain: 'synthetics' | 'cron-monitor' | null;
  readonly expr: string;
  readonly summary: string;
  /** The offending value when the condition holds, else null. */
  readonly test: (x: RuleInput) => number | null;
  readonly describe: (v: number) => string;
}

const MIN = 60_000;
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const gt = (v: number | undefined, thr: number): number | null => (v !== undefined && v > thr ? v : null);

/** p95 at load 1 without faults, the reference for static latency thresholds. */
export function staticP95(world: World): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = world.services.length - 1; i >= 0; i--) {
    const s = world.services[i] as SimService;
    let p = s.ownMedianMs * 2.28 * 1.1;
    for (const c of s.calls) p += Math.min(1, c.weight * 2.5) * c.fanout * 0.6 * (out.get(c.to) ?? 0);
    out.set(s.name, p);
  }
  return out;
}

/** A badly tuned CPU threshold: the 80th percentile of the service's expected CPU over the run, with no `for:`. */
export function flapThreshold(s: SimService, startMs: number, endMs: number): number {
  const xs: number[] = [];
  for (let t = startMs; t < endMs; t += 5 * MIN) {
    const d = dailyLoad(t);
    const shape = s.tier === 'worker' ? 0.6 + 0.4 * d : d;
    xs.push(s.cpuIdle + s.cpuPerRps * s.baseRps * shape);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length * 0.8)] ?? 0.5;
}

const POOL_EXPR = {
  postgres: 'sum(pg_stat_activity_count{service="$S"}) / pg_settings_max_connections > 0.9',
  redis: 'redis_connected_clients{service="$S"} / redis_config_maxclients > 0.9',
  queue: 'kafka_server_socket_server_metrics_connection_count{service="$S"} / 1000 > 0.9',
  search: 'elasticsearch_thread_pool_queue_count{service="$S",type="search"} / 1000 > 0.9',
} as const;
const STORE_ALERT = { postgres: 'Postgres', redis: 'Redis', queue: 'KafkaBroker', search: 'ElasticsearchNode' } as const;

export function buildRules(s: SimService, p95Ref: number, flapAt: number | null, longRunning: readonly LongRunning[]): Rule[] {
  const rules: Rule[] = [];
  const name = s.name;
  const errRule = (alertname: string, severity: AlertSeverity, thr: number, forMs: number): Rule => ({
    alertname,
    severity,
    forMs,
    perInstance: false,
    plain: null,
    expr: `sum(rate(http_requests_total{service="${name}",code=~"5.."}[2m])) / sum(rate(http_requests_total{service="${name}"}[2m])) > ${thr}`,
    summary: alertname === 'ErrorBudgetBurn' ? `${name} is burning its error budget fast` : `High error rate on ${name}`,
    test: (x) => gt(x.m?.error_rate, thr),
    describe: (v) => `${name} error ratio is ${pct(v)} (threshold ${pct(thr)}) for more than ${forMs / MIN}m`,
  });
  const latRule = (alertname: string, severity: AlertSeverity, k: number, forMs: number): Rule => ({
    alertname,
    severity,
    forMs,
    perInstance: false,
    plain: null,
    expr: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="${name}"}[5m]))) > ${((k * p95Ref) / 1000).toFixed(3)}`,
    summary: `High p95 latency on ${name}`,
    test: (x) => gt(x.m?.latency_p95_ms, k * p95Ref),
    describe: (v) => `${name} p95 latency is ${v.toFixed(0)}ms (threshold ${(k * p95Ref).toFixed(0)}ms)`,
  });
  if (s.tier === 'edge') {
    rules.push(errRule('HighErrorRate', 'warning', 0.01, 2 * MIN), errRule('HighErrorRate', 'critical', 0.03, MIN), errRule('ErrorBudgetBurn', 'critical', 0.05, 2 * MIN));
    rules.push(latRule('HighLatency', 'warning', 2.5, 3 * MIN), latRule('HighLatency', 'critical', 4, 2 * MIN));
    rules.push({
      ...errRule('SyntheticCheckFailed', 'critical', 0.1, MIN),
      plain: 'synthetics',
      summary: `Synthetic checkout journey failing against ${name}`,
    });
  } else if (s.tier === 'api') {
    rules.push(errRule('HighErrorRate', 'warning', 0.05, 2 * MIN), errRule('HighErrorRate', 'critical', 0.2, MIN));
    rules.push(latRule('HighLatency', 'warning', 3, 3 * MIN));
  } else if (s.tier === 'worker') {
    rules.push({ ...errRule('JobFailureRate', 'warning', 0.1, 3 * MIN), summary: `Jobs failing on ${name}` });
    rules.push({ ...latRule('JobDurationHigh', 'warning', 3, 5 * MIN), summary: `Jobs slow on ${name}` });
  }
  if (s.tier !== 'datastore') {
    rules.push({
      alertname: 'HighCPU',
      severity: 'warning',
      forMs: 5 * MIN,
      perInstance: true,
      plain: null,
      expr: `avg by (pod) (rate(container_cpu_usage_seconds_total{container="${name}"}[1m])) / on(pod) kube_pod_container_resource_limits{resource="cpu"} > 0.9`,
      summary: `CPU usage high on ${name}`,
      test: (x) => gt(x.m === null ? undefined : x.m.cpu_utilization * x.inst, 0.9),
      describe: (v) => `CPU at ${pct(v)} of limit (threshold 90%)`,
    });
    if (flapAt !== null) {
      // The notoriously noisy kube-prometheus alert, here with a threshold the service crosses on busy hours.
      rules.push({
        alertname: 'CPUThrottlingHigh',
        severity: 'warning',
        forMs: 0,
        perInstance: false,
        plain: null,
        expr: `sum(increase(container_cpu_cfs_throttled_periods_total{container="${name}"}[5m])) / sum(increase(container_cpu_cfs_periods_total{container="${name}"}[5m])) > 0.25`,
        summary: `Processes in ${name} experience elevated CPU throttling`,
        test: (x) => gt(x.m?.cpu_utilization, flapAt),
        describe: (v) => `CPU at ${pct(v)}; throttling above 25% of periods`,
      });
    }
    rules.push({
      alertname: 'ContainerMemoryHigh',
      severity: 'warning',
      forMs: 2 * MIN,
      perInstance: true,
      plain: null,
      expr: `container_memory_working_set_bytes{container="${name}"} / container_spec_memory_limit_bytes > 0.9`,
      summary: `Memory close to limit on ${name}`,
      // The kernel kills a container at its limit, so no pod reports more than 100 %.
      test: (x) => gt(x.m === null ? undefined : Math.min(1, (x.m.memory_used_bytes * x.inst) / s.memLimitBytes), 0.9),
      describe: (v) => `working set at ${pct(v)} of the memory limit`,
    });
    rules.push({
      alertname: 'ContainerOOMKilled',
      severity: 'warning',
      forMs: 0,
      perInstance: true,
      plain: null,
      expr: `increase(kube_pod_container_status_restarts_total{container="${name}"}[10m]) > 0 and on(pod) kube_pod_container_status_last_terminated_reason{reason="OOMKilled"} == 1`,
      summary: `Container ${name} was OOMKilled`,
      test: (x) => (x.t - x.lastOom < 10 * MIN ? 1 : null),
      describe: () => `a container of ${name} was killed for exceeding its memory limit in the last 10m`,
    });
  } else if (s.store) {
    const k = STORE_ALERT[s.store];
    rules.push({
      alertname: `${k}Down`,
      severity: 'warning',
      forMs: MIN,
      perInstance: false,
      plain: null,
      expr: `up{job="${name}"} == 0`,
      summary: `${name} is unreachable`,
      test: (x) => (x.s.up ? null : 0),
      describe: () => `the ${name} exporter target has been down for more than 1m`,
    });
    rules.push({
      alertname: s.store === 'postgres' ? 'PostgresTooManyConnections' : `${k}ConnectionsHigh`,
      severity: 'warning',
      forMs: 2 * MIN,
      perInstance: false,
      plain: null,
      expr: POOL_EXPR[s.store].replace('$S', name),
      summary: `${name} is running out of connections`,
      test: (x) => gt(x.m?.connection_pool_utilization, 0.9),
      describe: (v) => `${pct(v)} of the connection limit in use`,
    });
    rules.push({ ...latRule(`${k === 'Postgres' ? 'PostgresSlowQueries' : `${k}LatencyHigh`}`, 'info', 4, 5 * MIN), summary: `${name} responding slowly` });
    if (s.store === 'postgres') {
      rules.push({
        alertname: 'BackupJobRunning',
        severity: 'info',
        forMs: 10 * MIN,
        perInstance: false,
        plain: 'cron-monitor',
        expr: 'cron job nightly-backup running',
        summary: `Nightly backup of ${name} still running`,
        test: (x) => (x.s.maintenance ? 1 : null),
        describe: () => `nightly-backup of ${name} has been running for more than 10m`,
      });
    }
  }
  for (const lr of longRunning) {
    if (lr.service !== name) continue;
    if (lr.rule === 'DiskSpaceLow') {
      rules.push({
        alertname: 'DiskSpaceLow',
        severity: 'warning',
        forMs: 5 * MIN,
        perInstance: false,
        plain: null,
        expr: `1 - node_filesystem_avail_bytes{mountpoint="/var/lib/data"} / node_filesystem_size_bytes > 0.8`,
        summary: `Disk filling up on ${name}`,
        test: (x) => (x.t >= lr.start ? lr.level + ((x.t - lr.start) / 3_600_000) * 0.004 : null),
        describe: (v) => `data volume ${pct(v)} full`,
      });
    } else {
      rules.push({
        alertname: 'CertificateExpiringSoon',
        severity: 'info',
        forMs: 0,
        perInstance: false,
        plain: null,
        expr: `probe_ssl_earliest_cert_expiry{instance="${name}"} - time() < 14 * 86400`,
        summary: `TLS certificate of ${name} expires soon`,
        test: (x) => (x.t >= lr.start ? lr.level - (x.t - lr.start) / 86_400_000 : null),
        describe: (v) => `certificate expires in ${v.toFixed(1)} days`,
      });
    }
  }
  return rules;
}
