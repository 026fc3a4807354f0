import type { IncidentOutput, Severity } from '../../schemas/index.js';

/** The integrations nightshift speaks. One client (and one queue) per integration. */
export type IntegrationName = 'servicenow' | 'jira' | 'pagerduty' | 'webhook';
export const INTEGRATIONS: readonly IntegrationName[] = ['servicenow', 'jira', 'pagerduty', 'webhook'];

/**
 * Which state of an incident a ticket reflects. Stored in the ticket itself (ServiceNow `correlation_display`,
 * a Jira issue property), so that a restarted pipeline knows which updates the ticket already has.
 * `ts` is the output's `updated_at` (event time); `digest` covers what a ticket shows (see policy.ts).
 */
export interface TicketVersion {
  readonly ts: number;
  readonly resolved: boolean;
  readonly digest: string;
}

/** A ticket as the service knows it. */
export interface TicketRef {
  /** ServiceNow sys_id, Jira issue key, PagerDuty dedup_key, the webhook's incident id. */
  readonly id: string;
  /** Human-facing number or key (INC0010001, OPS-12), for logs. */
  readonly display: string;
  /** The version last written to the ticket; null when the service cannot tell (PagerDuty, webhook) or it is unparseable. */
  readonly version: TicketVersion | null;
  /** Resolved or closed, by nightshift or by a person. Nightshift does not write to a resolved ticket again. */
  readonly resolved: boolean;
}

/** Everything a client needs to render one operation. */
export interface TicketContext {
  readonly output: IncidentOutput;
  readonly severity: Severity;
  readonly version: TicketVersion;
}

export interface UpdateContext extends TicketContext {
  /** Also acknowledge (PagerDuty acknowledge, ServiceNow In Progress, a configured Jira transition). */
  readonly acknowledge: boolean;
}

export type TicketOperation = 'find' | 'open' | 'update' | 'resolve';

/**
 * One ticketing service. Every method throws a NightshiftError whose class says whether to retry
 * (see http.ts); the sink owns retries, backoff, dead letters and the local cache.
 *
 * Idempotency contract, per integration:
 * - `find` returns the ticket whose correlation key is the incident id, or null. Services that cannot be read
 *   (PagerDuty without an API token, a webhook) return null; their `open` must then be idempotent by key.
 * - `open` creates the ticket, carrying the incident id as correlation key and `version`.
 * - `update` adds a note/comment to the same ticket and records `version` in it.
 * - `resolve` adds a final note, moves the ticket to its resolved state and records `version`.
 */
export interface TicketingClient {
  readonly name: IntegrationName;
  /**
   * True when repeating `open` cannot make a second ticket (PagerDuty dedup_key, webhook Idempotency-Key): its
   * requests retry themselves. False (ServiceNow, Jira): the sink retries `open` itself, looking the ticket up first.
   */
  readonly idempotentOpen: boolean;
  find(incidentId: string): Promise<TicketRef | null>;
  /** Where a person opens the ticket (Jira browse page, ServiceNow record); absent when there is none. */
  ticketUrl?(ref: TicketRef): string;
  open(ctx: TicketContext): Promise<TicketRef>;
  update(ref: TicketRef, ctx: UpdateContext): Promise<TicketRef>;
  resolve(ref: TicketRef, ctx: TicketContext): Promise<TicketRef>;
}

/**
 * What the sink tells a ticket recorder (e.g. the analytics store's tickets table) for each ticket it opens or finds
 * — once per ticket and process (later updates of a known ticket are not recorded again).
 */
export interface TicketRecord {
  readonly incident_id: string;
  readonly integration: IntegrationName;
  /** TicketRef.display: Jira issue key, ServiceNow number, PagerDuty dedup key, the webhook's incident id. */
  readonly ticket_key: string;
  /** '' when the integration has no page for it. */
  readonly url: string;
  /** Event time (updated_at, epoch ms) of the incident output that opened or found the ticket. */
  readonly opened_at: number;
  /** Top root-cause service of that output ('' without one). */
  readonly service: string;
  /** 1 = nightshift created it, 0 = it was there already (found by its correlation key). */
  readonly created: 0 | 1;
}

/** Optional hook of the ticketing sink; the pipeline builder connects it to the analytics store. A failure is logged, never fails a ticket. */
export type TicketRecorder = (r: TicketRecord) => void | Promise<void>;
