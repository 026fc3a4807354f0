import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { NightshiftError, toNightshiftError } from '../../core/errors.js';
import { METRIC, type MetricsRegistry } from '../../core/metrics.js';
import type { McpContext } from '../context.js';
import type { FeedbackInput, FeedbackRow } from '../feedback.js';
import { IncidentId, Service } from '../tools.js';
import { BodyTooLarge, feedbackIdFor, MAX_WEBHOOK_BODY, readRaw, send, WEBHOOK_SYSTEMS, WEBHOOKS_PREFIX, type Mapped, type WebhookSystem } from './common.js';
import { mapJira, verifyJira, type JiraWebhookConfig } from './jira.js';
import { mapPagerDuty, verifyPagerDuty } from './pagerduty.js';
import { mapServiceNow, verifyServiceNow, type ServiceNowWebhookConfig } from './servicenow.js';

export { MAX_WEBHOOK_BODY, WEBHOOKS_PREFIX, WEBHOOK_SYSTEMS, type WebhookSystem } from './common.js';

/** Which inbound webhooks are on, with their secrets. A system without a secret is off: its endpoint answers 404. */
export interface WebhookConfig {
  readonly pagerduty?: { readonly secret: string };
  readonly jira?: JiraWebhookConfig;
  readonly servicenow?: ServiceNowWebhookConfig;
}

/** Shorter secrets are refused: a guessable one would let anyone resolve incidents (and poison the evals). */
export const MIN_WEBHOOK_SECRET = 16;

/** A secret from `NAME`, else from the file `NAME_FILE` (trimmed: a mounted Kubernetes secret often ends in a newline). */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  let v = env[name];
  const file = env[`${name}_FILE`];
  if ((v === undefined || v === '') && file) {
    try {
      v = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new NightshiftError('CONFIG_INVALID', `${name}_FILE: cannot read ${file}: ${(e as Error).message}`);
    }
  }
  if (v === undefined || v === '') return undefined;
  if (v.length < MIN_WEBHOOK_SECRET) throw new NightshiftError('CONFIG_INVALID', `${name} must be at least ${MIN_WEBHOOK_SECRET} characters`);
  return v;
}

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

/**
 * The inbound webhooks from the environment (each secret also as `<NAME>_FILE`):
 *   NIGHTSHIFT_PAGERDUTY_WEBHOOK_SECRET   the v3 subscription's signing secret
 *   NIGHTSHIFT_JIRA_WEBHOOK_SECRET        the admin webhook's secret (X-Hub-Signature), and/or
 *   NIGHTSHIFT_JIRA_WEBHOOK_TOKEN         a bearer token an Automation rule sends
 *   NIGHTSHIFT_JIRA_LABEL_PREFIX          the correlation label prefix (default nightshift-, as the outbound client)
 *   NIGHTSHIFT_JIRA_ROOT_CAUSE_FIELD      optional custom field id holding `root cause: <service> <kind>`
 *   NIGHTSHIFT_JIRA_SELF_USERS            accountIds/emails that are nightshift (default NIGHTSHIFT_JIRA_EMAIL)
 *   NIGHTSHIFT_SERVICENOW_WEBHOOK_TOKEN   bearer token of the outbound REST message, and/or
 *   NIGHTSHIFT_SERVICENOW_WEBHOOK_BASIC   its basic auth, user:password
 *   NIGHTSHIFT_SERVICENOW_SELF_USERS      user names that are nightshift (default NIGHTSHIFT_SERVICENOW_USER)
 *   NIGHTSHIFT_SERVICENOW_ACK_STATES / _RESOLVE_STATES   default 2 / 6,7
 */
export function webhookConfigFromEnv(env: NodeJS.ProcessEnv): WebhookConfig {
  const pd = secretFromEnv(env, 'NIGHTSHIFT_PAGERDUTY_WEBHOOK_SECRET');
  const jSecret = secretFromEnv(env, 'NIGHTSHIFT_JIRA_WEBHOOK_SECRET');
  const jToken = secretFromEnv(env, 'NIGHTSHIFT_JIRA_WEBHOOK_TOKEN');
  const sToken = secretFromEnv(env, 'NIGHTSHIFT_SERVICENOW_WEBHOOK_TOKEN');
  const sBasic = secretFromEnv(env, 'NIGHTSHIFT_SERVICENOW_WEBHOOK_BASIC');
  if (sBasic !== undefined && !sBasic.includes(':')) throw new NightshiftError('CONFIG_INVALID', 'NIGHTSHIFT_SERVICENOW_WEBHOOK_BASIC is user:password');
  const rootCauseField = env.NIGHTSHIFT_JIRA_ROOT_CAUSE_FIELD?.trim();
  return {
    ...(pd ? { pagerduty: { secret: pd } } : {}),
    ...(jSecret || jToken
      ? {
          jira: {
            ...(jSecret ? { secret: jSecret } : {}),
            ...(jToken ? { token: jToken } : {}),
            labelPrefix: env.NIGHTSHIFT_JIRA_LABEL_PREFIX?.trim() || 'nightshift-',
            selfUsers: list(env.NIGHTSHIFT_JIRA_SELF_USERS ?? env.NIGHTSHIFT_JIRA_EMAIL),
            ...(rootCauseField ? { rootCauseField } : {}),
          },
        }
      : {}),
    ...(sToken || sBasic
      ? {
          servicenow: {
            ...(sToken ? { token: sToken } : {}),
            ...(sBasic ? { basic: sBasic } : {}),
            selfUsers: list(env.NIGHTSHIFT_SERVICENOW_SELF_USERS ?? env.NIGHTSHIFT_SERVICENOW_USER),
            ackStates: list(env.NIGHTSHIFT_SERVICENOW_ACK_STATES ?? '2'),
            resolveStates: list(env.NIGHTSHIFT_SERVICENOW_RESOLVE_STATES ?? '6,7'),
          },
        }
      : {}),
  };
}

export function enabledWebhooks(cfg: WebhookConfig): WebhookSystem[] {
  return WEBHOOK_SYSTEMS.filter((s) => cfg[s] !== undefined);
}

/** What happened to deliveries, by system, outcome (recorded, ignored, bad_signature, ...) and reason. */
export class WebhookCounters {
  private readonly counts = new Map<string, number>();

  inc(system: string, outcome: string, reason = ''): void {
    const k = `${system}\u0000${outcome}\u0000${reason}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  get(system: string, outcome: string, reason = ''): number {
    return this.counts.get(`${system}\u0000${outcome}\u0000${reason}`) ?? 0;
  }

  snapshot(): { system: string; outcome: string; reason: string; n: number }[] {
    return [...this.counts].map(([k, n]) => {
      const [system = '', outcome = '', reason = ''] = k.split('\u0000');
      return { system, outcome, reason, n };
    });
  }

  registerMetrics(reg: MetricsRegistry): void {
    reg.register(METRIC.ticketWebhooks, 'Ticketing webhook deliveries (PagerDuty, Jira, ServiceNow), by system, outcome and reason.', 'counter', () =>
      this.snapshot().map((s) => ({ labels: { system: s.system, outcome: s.outcome, reason: s.reason }, value: s.n })),
    );
  }
}

function verify(system: WebhookSystem, cfg: WebhookConfig, req: IncomingMessage, raw: Buffer): boolean {
  if (system === 'pagerduty') return verifyPagerDuty(req.headers, raw, cfg.pagerduty!.secret);
  if (system === 'jira') return verifyJira(req.headers, raw, cfg.jira!);
  return verifyServiceNow(req.headers, cfg.servicenow!);
}

function map(system: WebhookSystem, cfg: WebhookConfig, body: unknown): Mapped {
  if (system === 'pagerduty') return mapPagerDuty(body);
  if (system === 'jira') return mapJira(body, cfg.jira!);
  return mapServiceNow(body, cfg.servicenow!);
}

function view(f: FeedbackRow) {
  return { ...f, time: new Date(f.at).toISOString() };
}

/**
 * POST /v1/webhooks/{pagerduty,jira,servicenow}: a ticketing system tells nightshift that a person acknowledged or
 * resolved the ticket nightshift opened; that becomes feedback (source = the system, actor = the person) in the same
 * store as /v1/feedback. Authenticated by each system's own secret, not the bearer tokens of /mcp (the vendors sign
 * or send a fixed credential). Answers: 200 recorded; 202 ignored, with the reason (an event nightshift does not map,
 * a ticket opened by hand, an incident the store does not have: normal, and a retry would not change it); 401 bad
 * signature; 400 bad JSON; 413 over MAX_WEBHOOK_BODY; 404 a system not configured; 503 when the store fails (the
 * vendor retries; the feedback ids derive from the delivery, so a retry does not count twice).
 */
export function ticketWebhooksHandler(ctx: McpContext, cfg: WebhookConfig, opts: { log?: Logger; counters?: WebhookCounters } = {}): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const counters = opts.counters ?? new WebhookCounters();
  const log = opts.log;
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '';
    const system = path.slice(WEBHOOKS_PREFIX.length) as WebhookSystem;
    if (!path.startsWith(WEBHOOKS_PREFIX) || !WEBHOOK_SYSTEMS.includes(system)) {
      return send(res, 404, { error: { code: 'NOT_FOUND', message: `webhooks: ${WEBHOOK_SYSTEMS.map((s) => WEBHOOKS_PREFIX + s).join(', ')}` } });
    }
    if (cfg[system] === undefined) {
      counters.inc(system, 'not_configured');
      return send(res, 404, { error: { code: 'NOT_FOUND', message: `the ${system} webhook is not configured (no secret set)` } });
    }
    if (req.method !== 'POST') return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${path}: POST` } }, { allow: 'POST' });
    let raw: Buffer;
    try {
      raw = await readRaw(req);
    } catch (e) {
      if (!(e instanceof BodyTooLarge)) throw e;
      counters.inc(system, 'too_large');
      // The rest of the body is not read: close the connection rather than drain it.
      res.setHeader('connection', 'close');
      return send(res, 413, { error: { code: 'RECORD_TOO_LARGE', message: `webhook body over ${MAX_WEBHOOK_BODY} bytes` } });
    }
    if (!verify(system, cfg, req, raw)) {
      counters.inc(system, 'bad_signature');
      log?.warn({ system, remote: req.socket.remoteAddress }, 'ticketing webhook: bad signature or credentials');
      return send(res, 401, { error: { code: 'UNAUTHORIZED', message: `${system} webhook: signature or credentials do not match` } });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8')) as unknown;
    } catch (e) {
      counters.inc(system, 'bad_json');
      return send(res, 400, { error: { code: 'INVALID_JSON', message: `${system} webhook body is not JSON: ${(e as Error).message}` } });
    }
    const ignore = (reason: string, extra: Record<string, unknown> = {}) => {
      counters.inc(system, 'ignored', reason);
      log?.debug({ system, reason, ...extra }, 'ticketing webhook ignored');
      return send(res, 202, { ignored: reason, ...extra });
    };
    try {
      const m = map(system, cfg, body);
      if (m.kind === 'ignored') return ignore(m.reason);
      const ev = m.event;
      const id = IncidentId.safeParse(ev.incidentId);
      if (!id.success) return ignore('not_an_incident_id', { ticket: ev.ticket });
      // A ticket someone opened by hand (or for another tool) carries no incident of ours: normal, not an error.
      if (ctx.reader && !(await ctx.reader.get(id.data))) return ignore('unknown_incident', { ticket: ev.ticket, incident_id: id.data });
      const inputs: FeedbackInput[] = [{ kind: ev.kind, incident_id: id.data, ...(ev.note ? { note: ev.note } : {}) }];
      const svc = ev.rootCause ? Service.safeParse(ev.rootCause.service) : null;
      if (ev.rootCause && svc?.success) {
        inputs.push({ kind: 'correct_root_cause', incident_id: id.data, service: svc.data, root_kind: ev.rootCause.kind, note: `root cause named in ${ev.ticket}` });
      }
      const actor = (ev.actor ?? system).slice(0, 256);
      const rows: FeedbackRow[] = [];
      for (const input of inputs) rows.push(await ctx.feedback.record(input, actor, system, feedbackIdFor(system, ev.deliveryKey, input.kind)));
      counters.inc(system, 'recorded');
      log?.info({ system, ticket: ev.ticket, incident_id: id.data, kinds: inputs.map((i) => i.kind), actor }, 'ticketing webhook recorded feedback');
      return send(res, 200, { ticket: ev.ticket, recorded: rows.map(view), stored_in: ctx.feedback.where });
    } catch (e) {
      const err = toNightshiftError(e);
      counters.inc(system, 'error', err.code);
      log?.error({ system, err: err.message }, 'ticketing webhook failed');
      if (!res.headersSent) send(res, err.retriable ? 503 : 500, { error: { code: err.code, message: err.message } });
    }
  };
}
