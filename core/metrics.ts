import type { Counters } from './counters.js';

/**
 * Prometheus text exposition (format 0.0.4) without a client library: the pipeline already keeps its counters in
 * `Counters`, so the registry only reads them at scrape time. Nothing here is on the hot path.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** For histogram families: the suffix (`_bucket`, `_sum`, `_count`). */
  readonly suffix?: '_bucket' | '_sum' | '_count';
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly collect: () => readonly Sample[];
}

/** The metric names the pipeline exports; dashboards and alerts use only these (a test checks it). */
export const METRIC = {
  received: 'nightshift_records_received_total',
  sent: 'nightshift_records_sent_total',
  dropped: 'nightshift_records_dropped_total',
  deadLetters: 'nightshift_dead_letters_total',
  signals: 'nightshift_signals_total',
  incidentsOpened: 'nightshift_incidents_opened_total',
  incidentsOpen: 'nightshift_incidents_open',
  alertsIn: 'nightshift_alert_notifications_total',
  consumerLag: 'nightshift_consumer_lag',
  processingLatency: 'nightshift_processing_latency_seconds',
  llmLatency: 'nightshift_llm_latency_seconds',
  llmCost: 'nightshift_llm_cost_usd_total',
  llmTokens: 'nightshift_llm_tokens_total',
  llmFallbacks: 'nightshift_llm_fallbacks_total',
  up: 'nightshift_up',
  secretsRedacted: 'nightshift_secrets_redacted_total',
  recordsLost: 'nightshift_records_lost_total',
  offsetResets: 'nightshift_offset_resets_total',
  writesAccepted: 'nightshift_writes_accepted_total',
  authRejected: 'nightshift_auth_rejected_total',
  rateLimited: 'nightshift_rate_limited_total',
  authTokens: 'nightshift_auth_tokens',
  authReloads: 'nightshift_auth_reloads_total',
  ticketWebhooks: 'nightshift_ticket_webhooks_total',
  sinkBlocked: 'nightshift_sink_blocked_seconds',
  sinkUnconfirmed: 'nightshift_sink_unconfirmed_outputs',
  clickhouseFailing: 'nightshift_clickhouse_failing_seconds',
  clickhouseRetries: 'nightshift_clickhouse_insert_retries_total',
  clickhouseHeld: 'nightshift_clickhouse_rows_held',
} as const;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  register(name: string, help: string, type: MetricType, collect: () => readonly Sample[]): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
    if (this.families.has(name)) throw new Error(`metric ${name} registered twice`);
    this.families.set(name, { name, help, type, collect });
  }

  /** Registers received/sent/dropped for a set of stages, read from their counters at scrape time. */
  registerStages(stages: () => ReadonlyArray<{ readonly name: string; readonly counters: Counters }>): void {
    this.register(METRIC.received, 'Records a stage received.', 'counter', () =>
      stages().map((s) => ({ labels: { stage: s.name }, value: s.counters.received })),
    );
    this.register(METRIC.sent, 'Records a stage sent downstream (or, for a sink, delivered).', 'counter', () =>
      stages().map((s) => ({ labels: { stage: s.name }, value: s.counters.sent })),
    );
    this.register(METRIC.dropped, 'Records a stage dropped, by reason (dead letters included).', 'counter', () =>
      stages().flatMap((s) => Object.entries(s.counters.snapshot().dropped).map(([reason, value]) => ({ labels: { stage: s.name, reason }, value }))),
    );
  }

  names(): string[] {
    return [...this.families.keys()].sort();
  }

  render(): string {
    const out: string[] = [];
    for (const f of [...this.families.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\n/g, ' ')}`);
      out.push(`# TYPE ${f.name} ${f.type}`);
      for (const s of f.collect()) out.push(`${f.name}${s.suffix ?? ''}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
    return `${out.join('\n')}\n`;
  }
}

/** A fixed-bucket histogram, cheap enough to observe per record batch. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly buckets: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]!++;
  }
  samples(labels: Readonly<Record<string, string>> = {}): Sample[] {
    const s: Sample[] = this.buckets.map((b, i) => ({ labels: { ...labels, le: String(b) }, value: this.counts[i]!, suffix: '_bucket' as const }));
    s.push({ labels: { ...labels, le: '+Inf' }, value: this.count, suffix: '_bucket' });
    s.push({ labels, value: this.sum, suffix: '_sum' });
    s.push({ labels, value: this.count, suffix: '_count' });
    return s;
  }
}
