import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import { Severity } from '../../schemas/index.js';

const HttpUrl = z.url({ protocol: /^https?$/ });
const nonEmpty = z.string().min(1);
const count = z.number().int().nonnegative();

/** All thresholds of a level must hold for an incident to reach it. */
export const SeverityRule = z.strictObject({
  minServices: count.default(0),
  /** Raw alert notifications folded into the incident. */
  minAlerts: count.default(0),
  minSignals: count.default(0),
  /** Confidence of the top-ranked root cause. */
  minTopConfidence: z.number().min(0).max(1).default(0),
});
export type SeverityRule = z.infer<typeof SeverityRule>;

/** An incident's severity is the first level (critical, error, warning) whose rule holds; otherwise `info`. */
export const SeverityRules = z.strictObject({
  critical: SeverityRule.prefault({ minServices: 3, minAlerts: 3 }),
  error: SeverityRule.prefault({ minAlerts: 1 }),
  warning: SeverityRule.prefault({}),
});
export type SeverityRules = z.infer<typeof SeverityRules>;

export const HttpPolicy = z.strictObject({
  /** Per request, connect to last byte. */
  timeoutMs: z.number().int().min(10).max(300_000).default(10_000),
  /** Attempts per operation, the first included; after the last a retriable failure is dead-lettered too. */
  maxAttempts: z.number().int().min(1).max(20).default(5),
  /** Backoff before retry n (1-based) is min(backoffBaseMs * 2^(n-1), backoffMaxMs). */
  backoffBaseMs: z.number().int().min(0).max(600_000).default(500),
  backoffMaxMs: z.number().int().min(0).max(600_000).default(30_000),
  /** A 429's Retry-After is honoured up to this; a longer one waits this long (then counts as an attempt). */
  maxRetryAfterMs: z.number().int().min(0).max(3_600_000).default(60_000),
  /** Longest response body read; a longer one is cut (only error text and small JSON are expected). */
  maxResponseBytes: z.number().int().min(1024).max(64 * 1_048_576).default(1_048_576),
});
export type HttpPolicy = z.infer<typeof HttpPolicy>;

export const ServiceNowAuth = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('basic'), user: nonEmpty, password: nonEmpty }),
  z.strictObject({ kind: z.literal('bearer'), token: nonEmpty }),
]);
export type ServiceNowAuth = z.infer<typeof ServiceNowAuth>;

export const ServiceNowConfig = z.strictObject({
  url: HttpUrl,
  auth: ServiceNowAuth,
  table: z.string().regex(/^[a-z0-9_]+$/, 'a table name: lower-case letters, digits, _').default('incident'),
  /** Overrides the global `openAt` for this integration. */
  openAt: Severity.optional(),
  assignmentGroup: nonEmpty.optional(),
  callerId: nonEmpty.optional(),
  category: nonEmpty.optional(),
  /** State set when nightshift acknowledges (2 = In Progress on a stock instance). */
  acknowledgeState: nonEmpty.default('2'),
  /** State set on resolve (6 = Resolved); resolving needs close_code and close_notes under the stock data policy. */
  resolveState: nonEmpty.default('6'),
  closeCode: nonEmpty.default('Solved (Permanently)'),
  /** States that count as resolved when a ticket is found again (Resolved, Closed, Canceled). */
  resolvedStates: z.array(nonEmpty).min(1).default(['6', '7', '8']),
});
export type ServiceNowConfig = z.infer<typeof ServiceNowConfig>;

export const JiraConfig = z.strictObject({
  url: HttpUrl,
  email: nonEmpty,
  token: nonEmpty,
  project: z.string().regex(/^[A-Z][A-Z0-9_]{0,254}$/, 'a Jira project key such as OPS'),
  issueType: nonEmpty.default('Task'),
  openAt: Severity.optional(),
  /** Labels on every ticket, besides the per-incident correlation label. */
  labels: z.array(z.string().regex(/^\S+$/, 'labels cannot contain spaces')).max(20).default(['nightshift']),
  /** The correlation label is `<labelPrefix><incident id>`: what a restarted pipeline searches for. */
  labelPrefix: z.string().regex(/^\S*$/).default('nightshift-'),
  /** Issue property holding the incident id and the version last written. */
  propertyKey: z.string().regex(/^[A-Za-z0-9._-]{1,255}$/).default('nightshift'),
  /** Transition taken on resolve, by name; if absent, the first transition into the `done` category. */
  resolveTransition: nonEmpty.default('Done'),
  /** Transition taken on acknowledge, by name (e.g. "In Progress"); none if unset. */
  acknowledgeTransition: nonEmpty.optional(),
});
export type JiraConfig = z.infer<typeof JiraConfig>;

export const PagerDutyConfig = z.strictObject({
  /** The Events API v2 integration key (32 characters). */
  routingKey: z.string().regex(/^[A-Za-z0-9]{32}$/, 'an Events API v2 integration key is 32 letters and digits'),
  url: HttpUrl.default('https://events.pagerduty.com'),
  /**
   * Optional REST API token: with it a restarted pipeline can see that an incident's PagerDuty incident is already
   * resolved (GET /incidents?incident_key=) and does not trigger it again when it replays older outputs.
   */
  apiToken: nonEmpty.optional(),
  apiUrl: HttpUrl.default('https://api.pagerduty.com'),
  /** `payload.source`; default: the top root-cause service, else the first service. */
  source: nonEmpty.optional(),
  openAt: Severity.optional(),
});
export type PagerDutyConfig = z.infer<typeof PagerDutyConfig>;

export const WebhookConfig = z.strictObject({
  url: HttpUrl,
  /** HMAC-SHA256 key for X-Nightshift-Signature. */
  secret: z.string().min(16, 'the webhook secret needs at least 16 characters'),
  openAt: Severity.optional(),
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;

/** An integration is on when its section is present. */
export const TicketingConfig = z.strictObject({
  /** Lowest severity that opens a ticket (per integration overridable). */
  openAt: Severity.default('error'),
  severity: SeverityRules.prefault({}),
  /** Acknowledge once the top root cause reaches this confidence; null: never (a person acknowledges). */
  acknowledgeAtConfidence: z.number().min(0).max(1).nullable().default(null),
  /** Operations waiting per integration; when full, `process` waits (backpressure), nothing is dropped. */
  queueCapacity: z.number().int().min(1).max(100_000).default(256),
  /** Tickets remembered per integration (LRU). Past it the least recently used is forgotten and found again by lookup. */
  cacheSize: z.number().int().min(1).max(10_000_000).default(10_000),
  http: HttpPolicy.prefault({}),
  servicenow: ServiceNowConfig.optional(),
  jira: JiraConfig.optional(),
  pagerduty: PagerDutyConfig.optional(),
  webhook: WebhookConfig.optional(),
});
export type TicketingConfig = z.infer<typeof TicketingConfig>;

/** Validates a ticketing section; the error names each bad path (never a value, which may be a secret). */
export function parseTicketingConfig(raw: unknown): TicketingConfig {
  const r = TicketingConfig.safeParse(raw ?? {});
  if (r.success) return r.data;
  const msg = r.error.issues.map((i) => `${['ticketing', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
  throw new NightshiftError('CONFIG_INVALID', `ticketing config is invalid: ${msg}`);
}

export function enabledIntegrations(cfg: TicketingConfig): Array<'servicenow' | 'jira' | 'pagerduty' | 'webhook'> {
  return (['servicenow', 'jira', 'pagerduty', 'webhook'] as const).filter((k) => cfg[k] !== undefined);
}

type Env = Readonly<Record<string, string | undefined>>;
type Section = Record<string, unknown>;

function need(env: Env, name: string, why: string): string {
  const v = env[name];
  if (!v) throw new NightshiftError('CONFIG_INVALID', `${name} is required when ${why} is set`);
  return v;
}

function put(o: Section, key: string, v: string | undefined): void {
  if (v !== undefined && v !== '') o[key] = v;
}

function section(base: Section, key: string): Section {
  const v = base[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Section) } : {};
}

/**
 * The ticketing configuration from environment variables, over an optional file section (the environment wins).
 * An integration is switched on by its URL (PagerDuty: its routing key). Returns null when none is on.
 * Incomplete credentials are a CONFIG_INVALID error naming the missing variable.
 */
export function ticketingFromEnv(env: Env, fileSection?: unknown): TicketingConfig | null {
  const base: Section = typeof fileSection === 'object' && fileSection !== null && !Array.isArray(fileSection) ? { ...(fileSection as Section) } : {};
  put(base, 'openAt', env.NIGHTSHIFT_TICKETING_OPEN_AT);

  if (env.NIGHTSHIFT_SERVICENOW_URL) {
    const sn = section(base, 'servicenow');
    sn.url = env.NIGHTSHIFT_SERVICENOW_URL;
    if (env.NIGHTSHIFT_SERVICENOW_TOKEN) sn.auth = { kind: 'bearer', token: env.NIGHTSHIFT_SERVICENOW_TOKEN };
    else if (env.NIGHTSHIFT_SERVICENOW_USER || env.NIGHTSHIFT_SERVICENOW_PASSWORD || !sn.auth) {
      sn.auth = {
        kind: 'basic',
        user: need(env, 'NIGHTSHIFT_SERVICENOW_USER', 'NIGHTSHIFT_SERVICENOW_URL (or set NIGHTSHIFT_SERVICENOW_TOKEN)'),
        password: need(env, 'NIGHTSHIFT_SERVICENOW_PASSWORD', 'NIGHTSHIFT_SERVICENOW_USER'),
      };
    }
    put(sn, 'assignmentGroup', env.NIGHTSHIFT_SERVICENOW_ASSIGNMENT_GROUP);
    put(sn, 'openAt', env.NIGHTSHIFT_SERVICENOW_OPEN_AT);
    base.servicenow = sn;
  }
  if (env.NIGHTSHIFT_JIRA_URL) {
    const j = section(base, 'jira');
    j.url = env.NIGHTSHIFT_JIRA_URL;
    const why = 'NIGHTSHIFT_JIRA_URL';
    j.email = env.NIGHTSHIFT_JIRA_EMAIL ?? j.email ?? need(env, 'NIGHTSHIFT_JIRA_EMAIL', why);
    j.token = env.NIGHTSHIFT_JIRA_TOKEN ?? j.token ?? need(env, 'NIGHTSHIFT_JIRA_TOKEN', why);
    j.project = env.NIGHTSHIFT_JIRA_PROJECT ?? j.project ?? need(env, 'NIGHTSHIFT_JIRA_PROJECT', why);
    put(j, 'issueType', env.NIGHTSHIFT_JIRA_ISSUE_TYPE);
    put(j, 'openAt', env.NIGHTSHIFT_JIRA_OPEN_AT);
    base.jira = j;
  }
  if (env.NIGHTSHIFT_PAGERDUTY_ROUTING_KEY) {
    const p = section(base, 'pagerduty');
    p.routingKey = env.NIGHTSHIFT_PAGERDUTY_ROUTING_KEY;
    put(p, 'url', env.NIGHTSHIFT_PAGERDUTY_URL);
    put(p, 'apiToken', env.NIGHTSHIFT_PAGERDUTY_API_TOKEN);
    put(p, 'apiUrl', env.NIGHTSHIFT_PAGERDUTY_API_URL);
    put(p, 'openAt', env.NIGHTSHIFT_PAGERDUTY_OPEN_AT);
    base.pagerduty = p;
  }
  if (env.NIGHTSHIFT_WEBHOOK_URL) {
    const w = section(base, 'webhook');
    w.url = env.NIGHTSHIFT_WEBHOOK_URL;
    w.secret = env.NIGHTSHIFT_WEBHOOK_SECRET ?? w.secret ?? need(env, 'NIGHTSHIFT_WEBHOOK_SECRET', 'NIGHTSHIFT_WEBHOOK_URL');
    put(w, 'openAt', env.NIGHTSHIFT_WEBHOOK_OPEN_AT);
    base.webhook = w;
  }
  const cfg = parseTicketingConfig(base);
  return enabledIntegrations(cfg).length > 0 ? cfg : null;
}
