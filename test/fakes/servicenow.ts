import { createHash } from 'node:crypto';
import { basicCredentials, FakeHttp, isJson, isObject, parseJson, type Reply, type SeenRequest } from './http.js';

export interface SnRecord {
  sys_id: string;
  number: string;
  state: string;
  short_description: string;
  description: string;
  urgency: string;
  impact: string;
  correlation_id: string;
  correlation_display: string;
  assignment_group: string;
  close_code: string;
  close_notes: string;
  /** The journal: one entry per work note, oldest first. */
  work_notes: string[];
  sys_created_on: number;
}

const fail = (status: number, message: string, detail: string): Reply => ({ status, body: { error: { message, detail }, status: 'failure' } });
const WRITABLE = ['short_description', 'description', 'urgency', 'impact', 'correlation_id', 'correlation_display', 'assignment_group', 'close_code', 'close_notes', 'state', 'caller_id', 'category'] as const;
const CHOICES = ['1', '2', '3'];
const QUERYABLE = new Set(['sys_id', 'number', 'state', 'correlation_id', 'correlation_display', 'short_description']);

/**
 * ServiceNow's Table API for the incident table, as far as nightshift uses it: auth (basic or bearer), JSON only,
 * `{"result": ...}` bodies, `{"error": {...}, "status": "failure"}` errors, encoded queries on correlation_id
 * (an unknown field is ignored, as on an instance without glide.invalid_query.returns_no_rows), sysparm_fields,
 * and the stock data policy that a resolved incident needs close_code and close_notes.
 */
export class FakeServiceNow {
  readonly records = new Map<string, SnRecord>();
  readonly http: FakeHttp;
  private seq = 0;

  constructor(private readonly auth: { user: string; password: string } | { token: string }) {
    this.http = new FakeHttp((r) => this.handle(r));
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  get url(): string {
    return this.http.url;
  }

  byCorrelation(id: string): SnRecord[] {
    return [...this.records.values()].filter((r) => r.correlation_id === id);
  }

  private authorized(req: SeenRequest): boolean {
    if ('token' in this.auth) return req.headers.authorization === `Bearer ${this.auth.token}`;
    const c = basicCredentials(req);
    return c !== null && c.user === this.auth.user && c.password === this.auth.password;
  }

  private view(r: SnRecord, fields: string | null): Record<string, unknown> {
    const all: Record<string, unknown> = { ...r, work_notes: '' };
    if (!fields) return all;
    return Object.fromEntries(fields.split(',').filter((f) => f in all).map((f) => [f, all[f]]));
  }

  private handle(req: SeenRequest): Reply {
    if (!this.authorized(req)) return fail(401, 'User Not Authenticated', 'Required to provide Auth information');
    if (!String(req.headers.accept ?? '').includes('application/json')) return { status: 406, body: 'Not Acceptable' };
    const m = /^\/api\/now\/table\/([a-z0-9_]+)(?:\/([0-9a-f]{32}|[^/]+))?$/.exec(req.path);
    if (!m) return fail(400, 'Requested URI does not represent any resource', req.path);
    if (m[1] !== 'incident') return fail(400, 'Invalid table', String(m[1]));
    const id = m[2];
    const fields = req.query.get('sysparm_fields');
    if (req.method === 'GET' && id === undefined) return this.list(req, fields);
    if (req.method === 'POST' && id === undefined) return this.create(req, fields);
    if (req.method === 'PATCH' && id !== undefined) return this.patch(req, id, fields);
    return fail(405, 'Method not Supported', `${req.method} ${req.path}`);
  }

  private list(req: SeenRequest, fields: string | null): Reply {
    let rows = [...this.records.values()];
    for (const part of (req.query.get('sysparm_query') ?? '').split('^')) {
      if (part === '' || part.startsWith('ORDERBY')) continue;
      const eq = /^([a-z_]+)=(.*)$/.exec(part);
      if (!eq) continue;
      const field = eq[1] as string;
      // An unknown field is ignored, and so the query matches every row (the instance default nightshift guards against).
      if (!QUERYABLE.has(field)) continue;
      rows = rows.filter((r) => String((r as unknown as Record<string, unknown>)[field]) === eq[2]);
    }
    rows.sort((a, b) => a.sys_created_on - b.sys_created_on);
    const limit = Number(req.query.get('sysparm_limit') ?? '10000');
    return { status: 200, body: { result: rows.slice(0, limit).map((r) => this.view(r, fields)) } };
  }

  private body(req: SeenRequest): Record<string, unknown> | Reply {
    if (!isJson(req)) return { status: 415, body: 'Unsupported Media Type' };
    const j = parseJson(req);
    if (!j.ok || !isObject(j.value)) return fail(400, 'Exception while reading request', 'The payload is not valid JSON.');
    for (const k of ['urgency', 'impact'] as const) {
      const v = j.value[k];
      if (v !== undefined && !CHOICES.includes(String(v))) return fail(400, 'Invalid choice', `${k}=${String(v)}`);
    }
    return j.value;
  }

  private create(req: SeenRequest, fields: string | null): Reply {
    const b = this.body(req);
    if ('status' in b && typeof b.status === 'number') return b as Reply;
    const v = b as Record<string, unknown>;
    if (typeof v.short_description !== 'string' || v.short_description.trim() === '') {
      return fail(403, 'Operation Failed', 'Data Policy Exception: Short description is mandatory');
    }
    if (v.short_description.length > 160) return fail(400, 'Invalid value', 'short_description exceeds 160 characters');
    if (typeof v.correlation_display === 'string' && v.correlation_display.length > 100) return fail(400, 'Invalid value', 'correlation_display exceeds 100 characters');
    this.seq++;
    const r: SnRecord = {
      sys_id: createHash('md5').update(`sn${this.seq}`).digest('hex'),
      number: `INC${String(10_000 + this.seq).padStart(7, '0')}`,
      state: '1',
      short_description: v.short_description,
      description: String(v.description ?? ''),
      urgency: String(v.urgency ?? '3'),
      impact: String(v.impact ?? '3'),
      correlation_id: String(v.correlation_id ?? ''),
      correlation_display: String(v.correlation_display ?? ''),
      assignment_group: String(v.assignment_group ?? ''),
      close_code: '',
      close_notes: '',
      work_notes: [],
      sys_created_on: this.seq,
    };
    this.records.set(r.sys_id, r);
    return { status: 201, headers: { Location: `${this.url}/api/now/table/incident/${r.sys_id}` }, body: { result: this.view(r, fields) } };
  }

  private patch(req: SeenRequest, id: string, fields: string | null): Reply {
    const r = this.records.get(id);
    if (!r) return fail(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
    const b = this.body(req);
    if ('status' in b && typeof b.status === 'number') return b as Reply;
    const v = b as Record<string, unknown>;
    const state = v.state !== undefined ? String(v.state) : r.state;
    const closeCode = v.close_code !== undefined ? String(v.close_code) : r.close_code;
    const closeNotes = v.close_notes !== undefined ? String(v.close_notes) : r.close_notes;
    if ((state === '6' || state === '7') && (closeCode === '' || closeNotes === '')) {
      return fail(403, 'Operation Failed', 'Data Policy Exception: Resolution code and Resolution notes are mandatory');
    }
    for (const k of WRITABLE) {
      if (v[k] === undefined || k === 'caller_id' || k === 'category') continue;
      (r as unknown as Record<string, unknown>)[k] = String(v[k]);
    }
    if (typeof v.work_notes === 'string' && v.work_notes !== '') r.work_notes.push(v.work_notes);
    return { status: 200, body: { result: this.view(r, fields) } };
  }
}
