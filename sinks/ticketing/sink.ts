import { Counters } from '../../core/counters.js';
import { NightshiftError } from '../../core/errors.js';
import type { StageDeps, StageFactory } from '../../core/stage.js';
import type { IncidentOutput } from '../../schemas/index.js';
import type { Accepted, DurableSink } from '../delivery.js';
import { TicketingConfig, parseTicketingConfig } from './config.js';
import { Http, type HttpDeps, type RetryHooks } from './http.js';
import { JiraClient } from './jira.js';
import { PagerDutyClient } from './pagerduty.js';
import { incidentSeverity } from './policy.js';
import { ServiceNowClient } from './servicenow.js';
import type { IntegrationName, TicketingClient, TicketRecorder } from './types.js';
import { WebhookClient } from './webhook.js';
import { IntegrationWorker, type WorkerStats } from './worker.js';

/**
 * Incident outputs in, ticket operations out: open when an incident first reaches the configured severity, a
 * note/comment on each later change of what the ticket shows, resolve when the incident resolves.
 * One ticket per incident: the incident id is the correlation key, a restarted pipeline finds the ticket again by it.
 *
 * `process` only enqueues (per integration, bounded); it waits when an integration's queue is full, so a slow or
 * failing service slows the pipeline instead of growing memory. `flush` waits until every queued operation has been
 * applied or dead-lettered; call it before committing input offsets.
 *
 * Counters: `sent` counts ticket operations carried out; `dropped` counts, per output and integration, why none was
 * needed (`below_threshold`, `unchanged`, `stale`, `ticket_resolved`, `resolved_before_ticket`) or `dead_letter:<CODE>`.
 */
export class TicketingSink implements DurableSink<IncidentOutput> {
  readonly name = 'sink-ticketing';
  readonly counters = new Counters();
  private readonly workers: IntegrationWorker[];
  private readonly retries = new Map<IntegrationName, number>();
  private closed = false;

  constructor(
    private readonly cfg: TicketingConfig,
    private readonly deps: StageDeps,
    clients: readonly TicketingClient[],
    recorder?: TicketRecorder,
  ) {
    if (clients.length === 0) throw new NightshiftError('CONFIG_INVALID', 'ticketing: no integration is enabled');
    const seen = new Set<string>();
    for (const c of clients) {
      if (seen.has(c.name)) throw new NightshiftError('CONFIG_INVALID', `ticketing: integration ${c.name} given twice`);
      seen.add(c.name);
    }
    this.workers = clients.map(
      (client) =>
        new IntegrationWorker(
          client,
          {
            openAt: cfg[client.name]?.openAt ?? cfg.openAt,
            acknowledgeAtConfidence: cfg.acknowledgeAtConfidence,
            queueCapacity: cfg.queueCapacity,
            cacheSize: cfg.cacheSize,
            http: cfg.http,
            onOutcome: (o) => (o === 'sent' ? this.counters.sent++ : this.counters.drop(o)),
            retryHooks: this.retryHooks(client.name),
            ...(recorder ? { recorder } : {}),
          },
          deps,
        ),
    );
  }

  /** Hooks for an integration's HTTP retries: logged and counted. */
  retryHooks(name: IntegrationName): RetryHooks {
    return {
      onRetry: (err, attempt, delayMs) => {
        this.retries.set(name, (this.retries.get(name) ?? 0) + 1);
        this.deps.log.warn({ integration: name, code: err.code, attempt, delayMs, err: err.message }, 'ticketing retry');
      },
    };
  }

  async process(o: IncidentOutput): Promise<void> {
    if (this.closed) throw new NightshiftError('INTERNAL', 'ticketing sink: process() after close()');
    const severity = incidentSeverity(o, this.cfg.severity);
    for (const w of this.workers) await w.enqueue({ output: o, severity });
  }

  /**
   * End to end (sinks/delivery.ts; what cluster mode uses): resolves once every integration queued the output,
   * with `durable` resolving once each applied it, skipped it, or dead-lettered it (after `http.maxAttempts`). The
   * queue itself is memory, not durable: an output is confirmed only when its ticket operation is done.
   */
  async accept(o: IncidentOutput): Promise<Accepted> {
    if (this.closed) throw new NightshiftError('INTERNAL', 'ticketing sink: accept() after close()');
    const severity = incidentSeverity(o, this.cfg.severity);
    const done: Promise<void>[] = [];
    for (const w of this.workers) {
      let resolve: () => void = () => undefined;
      done.push(new Promise<void>((r) => (resolve = r)));
      await w.enqueue({ output: o, severity, done: resolve });
    }
    return { durable: Promise.all(done).then(() => undefined) };
  }

  abandon(): void {
    for (const w of this.workers) w.abandon();
  }

  async flush(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.idle()));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.close()));
  }

  stats(): Record<string, WorkerStats & { readonly retries: number }> {
    return Object.fromEntries(this.workers.map((w) => [w.name, { ...w.stats(), retries: this.retries.get(w.name) ?? 0 }]));
  }
}

export interface TicketingDeps extends StageDeps {
  /** Defaults to the global fetch (Node 20). */
  readonly fetch?: typeof fetch;
  /** Wall clock for HTTP-dates and webhook timestamps only; defaults to Date.now. */
  readonly now?: () => number;
  /** Told of each ticket opened or found (the analytics store's recordTicket, connected by the pipeline builder). */
  readonly recorder?: TicketRecorder;
}

/** The clients for the enabled integrations, in a fixed order (ServiceNow, Jira, PagerDuty, webhook). */
export function createTicketingClients(cfg: TicketingConfig, http: HttpDeps, hooks: (name: IntegrationName) => RetryHooks): TicketingClient[] {
  const h = (name: IntegrationName): Http => new Http(cfg.http, http, hooks(name));
  const out: TicketingClient[] = [];
  if (cfg.servicenow) out.push(new ServiceNowClient(cfg.servicenow, h('servicenow')));
  if (cfg.jira) out.push(new JiraClient(cfg.jira, h('jira')));
  if (cfg.pagerduty) out.push(new PagerDutyClient(cfg.pagerduty, h('pagerduty')));
  if (cfg.webhook) out.push(new WebhookClient(cfg.webhook, h('webhook')));
  return out;
}

export function createTicketingSink(cfg: TicketingConfig, deps: TicketingDeps): TicketingSink {
  const http: HttpDeps = { fetch: deps.fetch ?? globalThis.fetch, now: deps.now ?? Date.now };
  // The sink owns the retry counters; clients are made first, so their hooks reach it through this binding.
  let sink: TicketingSink | null = null;
  const clients = createTicketingClients(cfg, http, (name) => ({
    onRetry: (err, attempt, delay) => sink?.retryHooks(name).onRetry?.(err, attempt, delay),
  }));
  sink = new TicketingSink(cfg, { log: deps.log, deadLetters: deps.deadLetters }, clients, deps.recorder);
  return sink;
}

export const ticketingSinkFactory: StageFactory<TicketingConfig, IncidentOutput, never> = {
  type: 'ticketing',
  configSchema: TicketingConfig,
  defaultConfig: () => parseTicketingConfig({}),
  create: (config: TicketingConfig, deps: StageDeps) => createTicketingSink(config, deps),
};
