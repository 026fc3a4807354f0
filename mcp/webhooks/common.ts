import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RootCauseKind } from '../../schemas/common.js';

/** The ticketing systems whose webhooks nightshift reads back (the names are also the feedback rows' `source`). */
export type WebhookSystem = 'pagerduty' | 'jira' | 'servicenow';
export const WEBHOOK_SYSTEMS: readonly WebhookSystem[] = ['pagerduty', 'jira', 'servicenow'];
export const WEBHOOKS_PREFIX = '/v1/webhooks/';

/**
 * A Jira issue_updated delivery carries the whole issue (every field, custom ones included): hundreds of KiB on a
 * busy project is possible, megabytes is not a ticket. Bounds what one request buffers, for every system.
 */
export const MAX_WEBHOOK_BODY = 1024 * 1024;

/** What a ticket said, once read: which incident (by the key nightshift put in the ticket), and what happened. */
export interface TicketEvent {
  /** The nightshift incident id the ticket carries (PagerDuty incident_key = dedup_key, Jira label, ServiceNow correlation_id). */
  readonly incidentId: string;
  readonly kind: 'ack' | 'resolve' | 'comment';
  /** The person named in the payload (PagerDuty agent, Jira user, ServiceNow resolved_by / sys_updated_by); else the system's name. */
  readonly actor: string | null;
  /** Resolution or close notes, annotation text: a person's words, stored as they are (bounded). */
  readonly note: string | null;
  /** A root cause the resolution names in the documented form (`root cause: <service> <kind>`), recorded as correct_root_cause. */
  readonly rootCause: { readonly service: string; readonly kind: RootCauseKind } | null;
  /** Identifies this delivery (the vendor's event id, or the change it reports): the feedback ids derive from it. */
  readonly deliveryKey: string;
  /** The ticket as a person knows it (PagerDuty incident number, Jira key, ServiceNow number), for logs and the reply. */
  readonly ticket: string;
}

export type Mapped = { readonly kind: 'event'; readonly event: TicketEvent } | { readonly kind: 'ignored'; readonly reason: string };

export const ignored = (reason: string): Mapped => ({ kind: 'ignored', reason });

/** A header's single value (Node joins repeated ones with ', ' for most headers, gives arrays for a few). */
export function header(headers: IncomingMessage['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Constant-time comparison of two strings (different lengths are unequal without comparing). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function hmacHex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** `Authorization: Bearer <token>` or `Authorization: Basic <base64 user:password>` against the configured secret. */
export function authorizationMatches(headers: IncomingMessage['headers'], scheme: 'Bearer' | 'Basic', secret: string): boolean {
  const v = header(headers, 'authorization');
  if (!v) return false;
  const m = /^(\S+)\s+(.+)$/.exec(v.trim());
  if (!m || m[1]!.toLowerCase() !== scheme.toLowerCase()) return false;
  const presented = scheme === 'Basic' ? Buffer.from(m[2]!, 'base64').toString('utf8') : m[2]!;
  return safeEqual(presented, secret);
}

const KINDS = RootCauseKind.options.join('|');
/**
 * The documented form a resolution can name the real cause in: `root cause: <service> <kind>` (also `root-cause`,
 * `root_cause`, `rootcause`, `=` for `:`), anywhere in the text, case-insensitive; <kind> one of the root-cause
 * kinds. The first match wins.
 */
const ROOT_CAUSE = new RegExp(`root[ _-]?cause\\s*[:=]\\s*([A-Za-z0-9][A-Za-z0-9._/-]{0,255})\\s+(${KINDS})\\b`, 'i');

export function rootCauseIn(texts: readonly (string | null | undefined)[]): { service: string; kind: RootCauseKind } | null {
  for (const t of texts) {
    if (typeof t !== 'string') continue;
    const m = ROOT_CAUSE.exec(t);
    if (m) return { service: m[1]!, kind: m[2]!.toLowerCase() as RootCauseKind };
  }
  return null;
}

/** The note column holds at most what the feedback API accepts. */
export function noteOf(parts: readonly (string | null | undefined)[]): string | null {
  const text = parts.filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => p.trim()).join('\n');
  if (text === '') return null;
  return text.length <= 2000 ? text : `${text.slice(0, 1999)}…`;
}

/** A stable feedback id for one delivery and one row kind: a retried delivery writes the same rows. */
export function feedbackIdFor(system: WebhookSystem, deliveryKey: string, kind: string): string {
  const h = createHash('sha256').update(`${system}\n${deliveryKey}\n${kind}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class BodyTooLarge extends Error {}

/** The raw body (the signatures cover its bytes), at most `max` bytes whether or not a length is declared. */
export async function readRaw(req: IncomingMessage, max = MAX_WEBHOOK_BODY): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > max) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new BodyTooLarge();
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A plain object's property, or undefined: the payloads are read defensively, field by field. */
export function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function strOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}
