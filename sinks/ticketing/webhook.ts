import { createHmac } from 'node:crypto';
import type { WebhookConfig } from './config.js';
import { assertSafeKey, type Http } from './http.js';
import { encodeVersion } from './policy.js';
import type { TicketContext, TicketingClient, TicketRef, UpdateContext } from './types.js';

export type WebhookAction = 'open' | 'update' | 'acknowledge' | 'resolve';

export const SIGNATURE_HEADER = 'X-Nightshift-Signature';
export const TIMESTAMP_HEADER = 'X-Nightshift-Timestamp';
export const EVENT_HEADER = 'X-Nightshift-Event';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** `sha256=<hex HMAC-SHA256 of the raw body>`; the body carries the timestamp too, so it is signed. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * A generic JSON webhook. Every event carries the whole incident output, so a receiver upserts by `incident.incident_id`
 * and deduplicates by the Idempotency-Key header (`<incident id>:<version>`), which is the same on every retry and
 * every replay of the same incident state. Any 2xx is success. The receiver must verify the signature over the raw body and reject a
 * timestamp too far from its clock.
 */
export class WebhookClient implements TicketingClient {
  readonly name = 'webhook' as const;
  readonly idempotentOpen = true;

  constructor(
    private readonly cfg: WebhookConfig,
    private readonly http: Http,
  ) {}

  /** The webhook cannot be read back; the receiver's upsert and dedup make `open` idempotent. */
  find(incidentId: string): Promise<TicketRef | null> {
    assertSafeKey(incidentId);
    return Promise.resolve(null);
  }

  private async send(action: WebhookAction, ctx: TicketContext): Promise<void> {
    const o = ctx.output;
    assertSafeKey(o.incident_id);
    const version = encodeVersion(ctx.version);
    const key = `${o.incident_id}:${version}`;
    // Signed afresh for each attempt, so a retry after a long Retry-After still carries a current timestamp.
    await this.http.call(() => {
      const sentAt = Math.floor(this.http.now() / 1000);
      const body = JSON.stringify({ type: `nightshift.incident.${action}`, action, idempotency_key: key, version, sent_at: sentAt, severity: ctx.severity, incident: o });
      return {
        method: 'POST',
        url: this.cfg.url,
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          [SIGNATURE_HEADER]: signBody(this.cfg.secret, body),
          [TIMESTAMP_HEADER]: String(sentAt),
          [EVENT_HEADER]: action,
          [IDEMPOTENCY_HEADER]: key,
        },
        body,
      };
    });
  }

  async open(ctx: TicketContext): Promise<TicketRef> {
    await this.send('open', ctx);
    return { id: ctx.output.incident_id, display: ctx.output.incident_id, version: ctx.version, resolved: false };
  }

  async update(ref: TicketRef, ctx: UpdateContext): Promise<TicketRef> {
    await this.send(ctx.acknowledge ? 'acknowledge' : 'update', ctx);
    return { ...ref, version: ctx.version };
  }

  async resolve(ref: TicketRef, ctx: TicketContext): Promise<TicketRef> {
    await this.send('resolve', ctx);
    return { ...ref, version: ctx.version, resolved: true };
  }
}
