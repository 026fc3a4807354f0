import { createHmac, timingSafeEqual } from 'node:crypto';
import { FakeHttp, isJson, isObject, parseJson, type Reply, type SeenRequest } from './http.js';

export interface ReceivedIncident {
  /** Actions applied, in order (duplicates by Idempotency-Key are not applied again). */
  readonly actions: string[];
  last: Record<string, unknown>;
}

/**
 * A webhook receiver written as the README tells receivers to be: it verifies X-Nightshift-Signature
 * (HMAC-SHA256 of the raw body, constant-time), rejects a timestamp more than `toleranceSec` from its clock or
 * different from the body's `sent_at`, deduplicates by Idempotency-Key and upserts by incident id.
 */
export class FakeWebhookReceiver {
  readonly incidents = new Map<string, ReceivedIncident>();
  readonly seenKeys = new Set<string>();
  duplicates = 0;
  badSignatures = 0;
  readonly http: FakeHttp;

  constructor(
    private readonly secret: string,
    private readonly toleranceSec = 300,
    private readonly now: () => number = Date.now,
  ) {
    this.http = new FakeHttp((r) => this.handle(r));
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  get url(): string {
    return `${this.http.url}/hooks/nightshift`;
  }

  private handle(req: SeenRequest): Reply {
    if (req.method !== 'POST' || req.path !== '/hooks/nightshift') return { status: 404, body: { error: 'not found' } };
    if (!isJson(req)) return { status: 415, body: { error: 'json only' } };
    const sig = String(req.headers['x-nightshift-signature'] ?? '');
    const want = `sha256=${createHmac('sha256', this.secret).update(req.body, 'utf8').digest('hex')}`;
    if (sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(want))) {
      this.badSignatures++;
      return { status: 401, body: { error: 'bad signature' } };
    }
    const ts = Number(req.headers['x-nightshift-timestamp']);
    if (!Number.isInteger(ts) || Math.abs(this.now() / 1000 - ts) > this.toleranceSec) return { status: 400, body: { error: 'stale or missing timestamp' } };
    const key = String(req.headers['idempotency-key'] ?? '');
    if (key === '') return { status: 400, body: { error: 'Idempotency-Key required' } };
    const j = parseJson(req);
    if (!j.ok || !isObject(j.value) || !isObject(j.value.incident)) return { status: 400, body: { error: 'bad body' } };
    const body = j.value;
    if (body.sent_at !== ts) return { status: 400, body: { error: 'timestamp header and body differ' } };
    if (body.action !== req.headers['x-nightshift-event']) return { status: 400, body: { error: 'event header and body differ' } };
    const incident = body.incident as Record<string, unknown>;
    const id = incident.incident_id;
    if (typeof id !== 'string' || id === '') return { status: 422, body: { error: 'incident_id required' } };
    if (this.seenKeys.has(key)) {
      this.duplicates++;
      return { status: 200, body: { duplicate: true } };
    }
    this.seenKeys.add(key);
    const cur = this.incidents.get(id) ?? { actions: [], last: incident };
    cur.actions.push(String(body.action));
    cur.last = incident;
    this.incidents.set(id, cur);
    return { status: 200, body: { ok: true } };
  }
}
