import type { IncomingMessage } from 'node:http';
import { header, hmacHex, ignored, noteOf, obj, safeEqual, strOf, type Mapped } from './common.js';

/**
 * PagerDuty v3 webhooks (a Generic Webhook (v3) subscription on the service nightshift's routing key feeds).
 *
 * Signature: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`, each the HMAC-SHA256 of the raw body with a signing
 * secret of the subscription (several while a secret is rotated): the delivery is genuine when any v1 matches ours.
 *
 * Fields relied on, in the body `{"event": {...}}`:
 *   event.id                   the delivery's event id: feedback ids derive from it, so a redelivery collapses
 *   event.event_type           incident.acknowledged -> ack, incident.resolved -> resolve; any other type is ignored
 *   event.agent                {type, summary}: a user_reference names the person (the actor); a service or
 *                              integration reference means the Events API did it (nightshift itself resolving the
 *                              alert, or a monitor): not a person's feedback, ignored
 *   event.data                 the incident: type "incident", incident_key (for an incident that Events API v2
 *                              opened, the dedup_key, which nightshift sets to its incident id), number, title,
 *                              resolve_reason (if any, kept as the note)
 * PagerDuty retries a delivery that is not answered 2xx, so an ignored one is answered 202.
 */
export function verifyPagerDuty(headers: IncomingMessage['headers'], raw: Buffer, secret: string): boolean {
  const sig = header(headers, 'x-pagerduty-signature');
  if (!sig) return false;
  const want = `v1=${hmacHex(secret, raw)}`;
  return sig.split(',').some((s) => safeEqual(s.trim(), want));
}

const KIND: Readonly<Record<string, 'ack' | 'resolve'>> = { 'incident.acknowledged': 'ack', 'incident.resolved': 'resolve' };

export function mapPagerDuty(body: unknown): Mapped {
  const event = obj(obj(body)?.event);
  if (!event) return ignored('not_a_v3_event');
  const type = strOf(event.event_type) ?? '';
  const kind = KIND[type];
  if (!kind) return ignored('event_type_not_mapped');
  const data = obj(event.data);
  if (!data || (data.type !== undefined && data.type !== 'incident')) return ignored('not_an_incident');
  const agent = obj(event.agent);
  const agentType = strOf(agent?.type);
  if (agentType !== undefined && agentType !== 'user_reference') return ignored('not_by_a_person');
  const key = strOf(data.incident_key);
  if (!key) return ignored('no_incident_key');
  const reason = obj(data.resolve_reason);
  const number = strOf(data.number);
  return {
    kind: 'event',
    event: {
      incidentId: key,
      kind,
      actor: strOf(agent?.summary) ?? null,
      note: noteOf([kind === 'resolve' && reason ? `resolve reason: ${strOf(reason.type) ?? 'given'}` : null]),
      rootCause: null,
      deliveryKey: strOf(event.id) ?? `${strOf(data.id) ?? key}:${type}:${strOf(event.occurred_at) ?? ''}`,
      ticket: number ? `PagerDuty #${number}` : `PagerDuty ${strOf(data.id) ?? key}`,
    },
  };
}
