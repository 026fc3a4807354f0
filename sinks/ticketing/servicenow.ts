import { z } from 'zod';
import type { Severity } from '../../schemas/index.js';
import type { ServiceNowConfig } from './config.js';
import { assertSafeKey, basicAuth, joinUrl, parseBody, type Http } from './http.js';
import { encodeVersion, parseVersion } from './policy.js';
import { render, title, toPlainText, truncate } from './render.js';
import type { TicketContext, TicketingClient, TicketRef, UpdateContext } from './types.js';

const SnRecord = z.looseObject({
  sys_id: z.string().min(1),
  number: z.string().optional(),
  state: z.union([z.string(), z.number()]).optional(),
  correlation_id: z.string().optional(),
  correlation_display: z.string().optional(),
});
type SnRecord = z.infer<typeof SnRecord>;
const SnOne = z.object({ result: SnRecord });
const SnMany = z.object({ result: z.array(SnRecord) });

const FIELDS = 'sys_id,number,state,correlation_id,correlation_display';
/** correlation_display carries the version: `nightshift <ts>.<resolved>.<digest>` (under its 100 characters). */
const DISPLAY_PREFIX = 'nightshift ';

/** ServiceNow urgency/impact: 1 high, 2 medium, 3 low. */
const LEVEL: Readonly<Record<Severity, string>> = { critical: '1', error: '2', warning: '3', info: '3' };

/**
 * ServiceNow Table API. The incident id is `correlation_id`; a restarted pipeline finds the ticket with
 * `GET /api/now/table/incident?sysparm_query=correlation_id=<id>`. Updates are work notes (PATCH).
 */
export class ServiceNowClient implements TicketingClient {
  readonly name = 'servicenow' as const;
  readonly idempotentOpen = false;
  private readonly auth: string;

  constructor(
    private readonly cfg: ServiceNowConfig,
    private readonly http: Http,
  ) {
    this.auth = cfg.auth.kind === 'basic' ? basicAuth(cfg.auth.user, cfg.auth.password) : `Bearer ${cfg.auth.token}`;
  }

  private headers(): Record<string, string> {
    return { Authorization: this.auth, Accept: 'application/json', 'Content-Type': 'application/json' };
  }

  private url(suffix: string, query: Record<string, string>): string {
    const qs = new URLSearchParams({ ...query, sysparm_exclude_reference_link: 'true', sysparm_fields: FIELDS });
    return `${joinUrl(this.cfg.url, `/api/now/table/${this.cfg.table}${suffix}`)}?${qs.toString()}`;
  }

  ticketUrl(ref: TicketRef): string {
    return joinUrl(this.cfg.url, `/nav_to.do?uri=${encodeURIComponent(`${this.cfg.table}.do?sys_id=${ref.id}`)}`);
  }

  private toRef(r: SnRecord): TicketRef {
    return {
      id: r.sys_id,
      display: r.number ?? r.sys_id,
      version: parseVersion(r.correlation_display),
      resolved: r.state !== undefined && this.cfg.resolvedStates.includes(String(r.state)),
    };
  }

  async find(incidentId: string): Promise<TicketRef | null> {
    assertSafeKey(incidentId);
    const url = this.url('', { sysparm_query: `correlation_id=${incidentId}^ORDERBYsys_created_on`, sysparm_limit: '1' });
    const res = await this.http.call({ method: 'GET', url, headers: this.headers() });
    const body = parseBody(res, SnMany, 'servicenow find');
    // An instance that ignores an unusable query returns unrelated rows: trust only an exact correlation match.
    const hit = body.result.find((r) => r.correlation_id === incidentId);
    return hit ? this.toRef(hit) : null;
  }

  async open(ctx: TicketContext): Promise<TicketRef> {
    const o = ctx.output;
    assertSafeKey(o.incident_id);
    const payload: Record<string, string> = {
      short_description: truncate(title(o, ctx.severity), 160),
      description: toPlainText(render('open', o, ctx.severity)),
      urgency: LEVEL[ctx.severity],
      impact: LEVEL[ctx.severity],
      correlation_id: o.incident_id,
      correlation_display: DISPLAY_PREFIX + encodeVersion(ctx.version),
    };
    if (this.cfg.assignmentGroup) payload.assignment_group = this.cfg.assignmentGroup;
    if (this.cfg.callerId) payload.caller_id = this.cfg.callerId;
    if (this.cfg.category) payload.category = this.cfg.category;
    // Not retried here: the sink looks the ticket up before it tries a create again.
    const res = await this.http.call({ method: 'POST', url: this.url('', {}), headers: this.headers(), body: JSON.stringify(payload) }, { retry: false });
    return this.toRef(parseBody(res, SnOne, 'servicenow create').result);
  }

  private async patch(ref: TicketRef, payload: Record<string, string>, what: string): Promise<TicketRef> {
    const url = this.url(`/${encodeURIComponent(ref.id)}`, {});
    const res = await this.http.call({ method: 'PATCH', url, headers: this.headers(), body: JSON.stringify(payload) });
    return this.toRef(parseBody(res, SnOne, what).result);
  }

  update(ref: TicketRef, ctx: UpdateContext): Promise<TicketRef> {
    const payload: Record<string, string> = {
      work_notes: toPlainText(render('update', ctx.output, ctx.severity)),
      correlation_display: DISPLAY_PREFIX + encodeVersion(ctx.version),
    };
    if (ctx.acknowledge) payload.state = this.cfg.acknowledgeState;
    return this.patch(ref, payload, 'servicenow update');
  }

  resolve(ref: TicketRef, ctx: TicketContext): Promise<TicketRef> {
    const text = toPlainText(render('resolve', ctx.output, ctx.severity));
    return this.patch(
      ref,
      {
        work_notes: text,
        state: this.cfg.resolveState,
        close_code: this.cfg.closeCode,
        close_notes: truncate(text, 4000),
        correlation_display: DISPLAY_PREFIX + encodeVersion(ctx.version),
      },
      'servicenow resolve',
    );
  }
}
