import { z } from 'zod';
import type { PagerDutyConfig } from './config.js';
import { assertSafeKey, joinUrl, parseBody, type Http } from './http.js';
import { encodeVersion } from './policy.js';
import { causeLine, title, truncate } from './render.js';
import type { TicketContext, TicketingClient, TicketRef, UpdateContext } from './types.js';

const Accepted = z.looseObject({ status: z.string(), message: z.string().optional(), dedup_key: z.string().optional() });
const IncidentList = z.looseObject({
  incidents: z.array(z.looseObject({ id: z.string(), status: z.string(), incident_key: z.string().nullable().optional(), incident_number: z.number().optional() })),
});

type EventAction = 'trigger' | 'acknowledge' | 'resolve';

/**
 * PagerDuty Events API v2: the incident id is the dedup_key, so a repeated trigger joins the open alert instead of
 * paging twice. Updates are re-triggers with the new details. The Events API cannot be read: `find` answers only
 * when a REST API token is configured (then a restarted pipeline will not re-trigger an incident already resolved).
 */
export class PagerDutyClient implements TicketingClient {
  readonly name = 'pagerduty' as const;
  readonly idempotentOpen = true;

  constructor(
    private readonly cfg: PagerDutyConfig,
    private readonly http: Http,
  ) {}

  async find(incidentId: string): Promise<TicketRef | null> {
    assertSafeKey(incidentId);
    if (!this.cfg.apiToken) return null;
    const qs = new URLSearchParams({ incident_key: incidentId, date_range: 'all', limit: '25' });
    const res = await this.http.call({
      method: 'GET',
      url: `${joinUrl(this.cfg.apiUrl, '/incidents')}?${qs.toString()}`,
      headers: { Authorization: `Token token=${this.cfg.apiToken}`, Accept: 'application/vnd.pagerduty+json;version=2', 'Content-Type': 'application/json' },
    });
    const list = parseBody(res, IncidentList, 'pagerduty incidents').incidents.filter((i) => i.incident_key === incidentId);
    if (list.length === 0) return null;
    // A dedup key can have had several PagerDuty incidents over time; an open one wins.
    const resolved = list.every((i) => i.status === 'resolved');
    return { id: incidentId, display: incidentId, version: null, resolved };
  }

  private async send(action: EventAction, ctx: TicketContext): Promise<void> {
    const o = ctx.output;
    assertSafeKey(o.incident_id);
    const top = o.root_causes[0];
    const event: Record<string, unknown> = { routing_key: this.cfg.routingKey, event_action: action, dedup_key: o.incident_id };
    if (action === 'trigger') {
      event.client = 'nightshift';
      event.payload = {
        summary: truncate(title(o, ctx.severity), 1024),
        source: this.cfg.source ?? top?.service ?? o.services[0] ?? 'nightshift',
        severity: ctx.severity,
        timestamp: new Date(o.updated_at).toISOString(),
        ...(top ? { component: top.service, class: top.kind } : {}),
        group: truncate(o.services.join(','), 255),
        custom_details: {
          incident_id: o.incident_id,
          status: o.status,
          services: o.services,
          counts: o.counts,
          root_causes: o.root_causes.map(causeLine),
          version: encodeVersion(ctx.version),
        },
      };
    }
    // Idempotent by dedup_key, so safe to retry request by request.
    const res = await this.http.call({
      method: 'POST',
      url: joinUrl(this.cfg.url, '/v2/enqueue'),
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(event),
    });
    parseBody(res, Accepted, `pagerduty ${action}`);
  }

  async open(ctx: TicketContext): Promise<TicketRef> {
    await this.send('trigger', ctx);
    return { id: ctx.output.incident_id, display: ctx.output.incident_id, version: ctx.version, resolved: false };
  }

  async update(ref: TicketRef, ctx: UpdateContext): Promise<TicketRef> {
    await this.send('trigger', ctx);
    if (ctx.acknowledge) await this.send('acknowledge', ctx);
    return { ...ref, version: ctx.version };
  }

  async resolve(ref: TicketRef, ctx: TicketContext): Promise<TicketRef> {
    await this.send('resolve', ctx);
    return { ...ref, version: ctx.version, resolved: true };
  }
}
