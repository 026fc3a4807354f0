import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a fake service saw it: raw body kept, so signatures can be checked over the exact bytes. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON-encoded unless a string. */
  readonly body?: unknown;
}

/** A scripted failure for the next `times` requests that match (checked before the service logic runs). */
export interface Fault {
  readonly method?: string;
  readonly path?: RegExp;
  readonly times: number;
  readonly reply: Reply;
  /** 'after': the service carries the request out, then the reply is replaced (a response lost on the way back). */
  readonly when?: 'before' | 'after';
}

const MAX_BODY = 4 * 1_048_576;
/** Requests remembered for assertions; tests send far fewer. */
const MAX_LOG = 10_000;

/**
 * A local HTTP server on 127.0.0.1 with an ephemeral port, for one fake service. It logs requests, plays scripted
 * faults (429 with Retry-After, 5xx, ...), and can hold every response until released (a slow service).
 */
export class FakeHttp {
  readonly requests: SeenRequest[] = [];
  private readonly faults: Array<{ f: Fault; left: number }> = [];
  private held: Array<() => void> | null = null;
  url = '';
  private readonly server: Server;

  constructor(private readonly handler: (req: SeenRequest) => Reply) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
      });
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://127.0.0.1');
        const seen: SeenRequest = {
          method: req.method ?? 'GET',
          path: u.pathname,
          query: u.searchParams,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        if (this.requests.length < MAX_LOG) this.requests.push(seen);
        const respond = (): void => {
          let reply: Reply;
          try {
            const fault = size > MAX_BODY ? null : this.takeFault(seen);
            if (size > MAX_BODY) reply = { status: 413, body: { error: 'too large' } };
            else if (fault && fault.when === 'after') {
              this.handler(seen);
              reply = fault.reply;
            } else reply = fault?.reply ?? this.handler(seen);
          } catch (e) {
            reply = { status: 500, body: { error: String(e) } };
          }
          const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
          const headers: Record<string, string> = { ...(reply.headers ?? {}) };
          if (text && !headers['Content-Type']) headers['Content-Type'] = 'application/json;charset=UTF-8';
          res.writeHead(reply.status, headers);
          res.end(text);
        };
        if (this.held) this.held.push(respond);
        else respond();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const a = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${a.port}`;
    return this;
  }

  fail(f: Fault): void {
    this.faults.push({ f, left: f.times });
  }

  private takeFault(req: SeenRequest): Fault | null {
    for (const x of this.faults) {
      if (x.left <= 0) continue;
      if (x.f.method && x.f.method !== req.method) continue;
      if (x.f.path && !x.f.path.test(req.path)) continue;
      x.left--;
      return x.f;
    }
    return null;
  }

  /** From now on, responses wait until `release` (which also stops holding). */
  hold(): () => void {
    this.held = [];
    return () => {
      const h = this.held ?? [];
      this.held = null;
      for (const r of h) r();
    };
  }

  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  count(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.method === method && path.test(r.path)).length;
  }

  async close(): Promise<void> {
    const h = this.held ?? [];
    this.held = null;
    for (const r of h) r();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function isJson(req: SeenRequest): boolean {
  return /^application\/json\b/i.test(String(req.headers['content-type'] ?? ''));
}

export function parseJson(req: SeenRequest): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(req.body) };
  } catch {
    return { ok: false };
  }
}

export function basicCredentials(req: SeenRequest): { user: string; password: string } | null {
  const h = String(req.headers.authorization ?? '');
  const m = /^Basic (.+)$/.exec(h);
  if (!m) return null;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? null : { user: text.slice(0, i), password: text.slice(i + 1) };
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
