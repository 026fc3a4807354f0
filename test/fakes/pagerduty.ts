import { FakeHttp, isJson, isObject, parseJson, type Reply, type SeenRequest } from './http.js';

export interface PdIncident {
  readonly number: number;
  readonly dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  /** Events folded into it (trigger, acknowledge, resolve), in order. */
  readonly log: string[];
  lastPayload: Record<string, unknown>;
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const invalid = (...errors: string[]): Reply => ({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } });

/**
 * PagerDuty Events API v2 (POST /v2/enqueue -> 202 {status, message, dedup_key}; 400 "invalid event") plus the
 * REST API's GET /incidents?incident_key= for lookups (Token auth). A trigger on an open dedup_key joins its
 * incident; after a resolve, the same key opens a new incident, as on PagerDuty.
 */
export class FakePagerDuty {
  readonly incidents: PdIncident[] = [];
  readonly http: FakeHttp;

  constructor(
    private readonly routingKey: string,
    private readonly apiToken: string | null = null,
  ) {
    this.http = new FakeHttp((r) => this.handle(r));
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  get url(): string {
    return this.http.url;
  }

  byKey(key: string): PdIncident[] {
    return this.incidents.filter((i) => i.dedupKey === key);
  }

  private open(key: string): PdIncident | undefined {
    return this.incidents.find((i) => i.dedupKey === key && i.status !== 'resolved');
  }

  private handle(req: SeenRequest): Reply {
    if (req.method === 'GET' && req.path === '/incidents') return this.list(req);
    if (req.method !== 'POST' || req.path !== '/v2/enqueue') return { status: 404, body: { error: 'not found' } };
    if (!isJson(req)) return invalid('Content-Type must be application/json');
    const j = parseJson(req);
    if (!j.ok || !isObject(j.value)) return { status: 400, body: { status: 'invalid event', message: 'Could not parse JSON', errors: [] } };
    const e = j.value;
    if (e.routing_key !== this.routingKey) return invalid("'routing_key' is invalid");
    const action = e.event_action;
    if (action !== 'trigger' && action !== 'acknowledge' && action !== 'resolve') return invalid("'event_action' is invalid");
    const key = e.dedup_key;
    if (key !== undefined && (typeof key !== 'string' || key.length > 255)) return invalid("'dedup_key' is invalid");
    if (action !== 'trigger' && (typeof key !== 'string' || key === '')) return invalid("'dedup_key' is missing or blank");
    if (action === 'trigger') {
      const p = e.payload;
      if (!isObject(p)) return invalid("'payload' is missing");
      const errors: string[] = [];
      if (typeof p.summary !== 'string' || p.summary === '') errors.push("'payload.summary' is missing or blank");
      else if (p.summary.length > 1024) errors.push("'payload.summary' is too long");
      if (typeof p.source !== 'string' || p.source === '') errors.push("'payload.source' is missing or blank");
      if (!SEVERITIES.includes(String(p.severity))) errors.push("'payload.severity' is invalid");
      if (p.timestamp !== undefined && Number.isNaN(Date.parse(String(p.timestamp)))) errors.push("'payload.timestamp' is invalid");
      if (errors.length > 0) return invalid(...errors);
      const k = typeof key === 'string' && key !== '' ? key : `generated-${this.incidents.length + 1}`;
      const inc = this.open(k);
      if (inc) {
        inc.log.push('trigger');
        inc.lastPayload = p;
      } else this.incidents.push({ number: this.incidents.length + 1, dedupKey: k, status: 'triggered', log: ['trigger'], lastPayload: p });
      return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: k } };
    }
    // Acknowledge/resolve of an unknown or resolved key is accepted and has no effect, as on PagerDuty.
    const inc = this.open(key as string);
    if (inc) {
      inc.log.push(action);
      inc.status = action === 'acknowledge' ? 'acknowledged' : 'resolved';
    }
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: key } };
  }

  private list(req: SeenRequest): Reply {
    if (this.apiToken === null || req.headers.authorization !== `Token token=${this.apiToken}`) {
      return { status: 401, body: { error: { message: 'Authentication required', code: 2006 } } };
    }
    const key = req.query.get('incident_key');
    const rows = this.incidents.filter((i) => key === null || i.dedupKey === key);
    return {
      status: 200,
      body: {
        incidents: rows.map((i) => ({ id: `P${String(i.number).padStart(6, '0')}`, incident_number: i.number, status: i.status, incident_key: i.dedupKey })),
        limit: 25,
        offset: 0,
        more: false,
        total: null,
      },
    };
  }
}
