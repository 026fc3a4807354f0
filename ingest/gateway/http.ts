import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Logger } from 'pino';
import { ANONYMOUS, isRefusal, refusalHeaders, refusalMessage, refusalReason, refusalStatus, type Authenticator } from '../../core/auth/index.js';
import { Counters } from '../../core/counters.js';
import { NightshiftError } from '../../core/errors.js';
import { Histogram } from '../../core/metrics.js';
import type { RawRecord } from '../../core/raw.js';
import type { IngestConfig, InputKind } from '../config.js';
import { parseRecord } from '../parse.js';
import { PROTOBUF_TYPE, decodeRequest, encodeResponse, encodeStatus, isOtlpSignal, type OtlpSignal } from './protobuf.js';

const gunzipAsync = promisify(gunzip);

/** Where accepted bodies go; resolves once the broker acknowledged the record (acks from all in-sync replicas). */
export type Publish = (kind: InputKind, key: string | null, body: string) => Promise<void>;

export interface GatewayOptions {
  readonly ingest: IngestConfig;
  /** Largest request body (after gzip decoding); larger ones get 413. At most ingest.maxRecordBytes makes sense. */
  readonly maxBodyBytes: number;
  /** How long a request waits for the broker's acknowledgement before 503. */
  readonly ackTimeoutMs: number;
  /** Bearer tokens and rate limits; without one (or without tokens in it) every request is let in. */
  readonly auth?: Authenticator;
  /** Where audit lines go (one per accepted write). */
  readonly log?: Logger;
}

type Route = { readonly kind: InputKind; readonly format: 'otlp' | 'alertmanager' | 'change'; readonly field?: string };

/** Paths: OTLP/HTTP's standard ones, an Alertmanager webhook receiver, and change events. */
export const ROUTES: Readonly<Record<string, Route>> = {
  '/v1/logs': { kind: 'logs', format: 'otlp', field: 'resourceLogs' },
  '/v1/metrics': { kind: 'metrics', format: 'otlp', field: 'resourceMetrics' },
  '/v1/traces': { kind: 'traces', format: 'otlp', field: 'resourceSpans' },
  '/alertmanager': { kind: 'alerts', format: 'alertmanager' },
  '/v1/alerts': { kind: 'alerts', format: 'alertmanager' },
  '/v1/changes': { kind: 'changes', format: 'change' },
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** google.rpc.Code in OTLP error bodies, as OTLP/HTTP clients read them. */
function rpcCode(status: number): number {
  if (status === 400) return 3;
  if (status === 401) return 16;
  if (status === 403) return 7;
  if (status === 429) return 8;
  if (status === 503) return 14;
  return 2;
}

/** Reads the body, refusing more than `max` bytes as soon as they arrive (no unbounded buffering). */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${max} bytes`, 'too_large');
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) throw new HttpError(413, `request body exceeds the limit of ${max} bytes`, 'too_large');
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The service of the first OTLP resource (service.name), so one service's records share a raw partition. */
function otlpService(root: Record<string, unknown>, field: string): string | null {
  const first = (root[field] as unknown[] | undefined)?.[0];
  const attrs = isObj(first) && isObj(first.resource) ? first.resource.attributes : undefined;
  if (!Array.isArray(attrs)) return null;
  for (const a of attrs) if (isObj(a) && a.key === 'service.name' && isObj(a.value) && typeof a.value.stringValue === 'string') return a.value.stringValue;
  return null;
}

function keyOf(route: Route, root: Record<string, unknown>): string | null {
  if (route.format === 'otlp') return otlpService(root, route.field!);
  if (route.format === 'change') return typeof root.service === 'string' ? root.service : null;
  for (const f of ['commonLabels', 'groupLabels'] as const) {
    const l = root[f];
    if (isObj(l) && typeof l.service === 'string') return l.service;
  }
  return typeof root.groupKey === 'string' ? root.groupKey : null;
}

/**
 * The HTTP gateway's request handler. A body is checked the way ingest will read it (the same parser); a body
 * with nothing usable is refused with 400 and the parser's message, a partly bad batch is accepted (ingest
 * dead-letters the bad entries; OTLP callers are told in `partialSuccess`). OTLP bodies may be JSON or binary
 * protobuf; protobuf is published as the equivalent OTLP/JSON (protobuf.ts) and answered in protobuf. 200 comes only
 * after the broker acknowledged the record; if it does not within ackTimeoutMs (or the producer failed), 503 with
 * Retry-After.
 */
export class GatewayHandler {
  readonly counters = new Counters();
  readonly latency = new Histogram();
  /** Accepted writes by token name and input kind (`token\0kind`), for nightshift_writes_accepted_total. */
  readonly writes = new Map<string, number>();

  constructor(
    private readonly opts: GatewayOptions,
    private readonly publish: Publish,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = ROUTES[path];
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    // OTLP/HTTP: a protobuf request is answered in protobuf, errors included (a JSON error body would not decode).
    const signal = route?.format === 'otlp' && type === PROTOBUF_TYPE && isOtlpSignal(route.kind) ? route.kind : null;
    try {
      // First, so that nobody without a token learns anything about routes or formats.
      const auth = this.opts.auth?.check(req.headers, 'gateway', req.socket.remoteAddress) ?? { kind: 'open' as const };
      if (isRefusal(auth)) throw new HttpError(refusalStatus(auth), refusalMessage(auth), refusalReason(auth), refusalHeaders(auth));
      const token = auth.kind === 'ok' ? auth.token : ANONYMOUS;
      if (!route) throw new HttpError(404, `no route ${path}; POST to ${Object.keys(ROUTES).join(', ')}`, 'not_found');
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new HttpError(405, `${req.method} is not allowed on ${path}; use POST`, 'bad_method');
      }
      if (type !== 'application/json' && signal === null) {
        const allowed = route.format === 'otlp' ? `application/json or ${PROTOBUF_TYPE} (OTLP http/json or http/protobuf)` : 'application/json';
        throw new HttpError(415, `content-type must be ${allowed}, got ${JSON.stringify(type || '(none)')}`, 'unsupported_media_type');
      }
      this.counters.received++;
      let body = await readBody(req, this.opts.maxBodyBytes);
      const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
      if (enc === 'gzip') {
        try {
          body = await gunzipAsync(body, { maxOutputLength: this.opts.maxBodyBytes });
        } catch (e) {
          const tooBig = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || /buffer|output length/i.test((e as Error).message);
          throw tooBig
            ? new HttpError(413, `decompressed body exceeds the limit of ${this.opts.maxBodyBytes} bytes`, 'too_large')
            : new HttpError(400, `body is not valid gzip: ${(e as Error).message}`, 'bad_request');
        }
      } else if (enc !== 'identity') throw new HttpError(415, `content-encoding ${enc} is not supported (use gzip or none)`, 'unsupported_media_type');
      let text: string;
      let root: unknown;
      if (signal !== null) ({ text, root } = this.fromProtobuf(signal, body));
      else {
        text = body.toString('utf8');
        try {
          root = JSON.parse(text);
        } catch (e) {
          throw new HttpError(400, `body is not JSON: ${(e as Error).message}`, 'bad_request');
        }
      }
      if (!isObj(root)) throw new HttpError(400, 'body must be a JSON object', 'bad_request');
      if (route.field && root[route.field] === undefined) {
        throw new HttpError(400, `expected an OTLP export request with "${route.field}"`, 'bad_request');
      }
      if (route.format === 'alertmanager' && !Array.isArray(root.alerts)) throw new HttpError(400, 'expected an Alertmanager webhook (version 4) with "alerts"', 'bad_request');
      const topic = this.opts.ingest.topics[route.kind];
      const rec: RawRecord = { topic, key: keyOf(route, root), payload: text, ts: Date.now(), source: {} };
      const parsed = parseRecord(rec, this.opts.ingest);
      if (parsed.events.length === 0 && parsed.errors.length > 0) {
        throw new HttpError(400, parsed.errors.map((e) => `[${e.code}] ${e.message}`).slice(0, 5).join('; '), `bad_request`);
      }
      if (parsed.events.length > 0) await this.publishWithin(route.kind, rec.key, text);
      this.counters.sent++;
      this.latency.observe((performance.now() - t0) / 1000);
      this.audit(req, token, path, route.kind, body.length, parsed.events.length, parsed.badEntries);
      if (route.format === 'otlp') {
        const rejected = parsed.badEntries;
        const message = rejected > 0 ? parsed.errors.map((e) => e.message).slice(0, 3).join('; ') : '';
        if (signal !== null) return send(res, 200, encodeResponse(signal, rejected, message), PROTOBUF_TYPE);
        const partial = rejected > 0 ? { partialSuccess: { [rejectedField(route.kind)]: rejected, errorMessage: message } } : {};
        return send(res, 200, JSON.stringify(partial), 'application/json');
      }
      return send(res, 200, JSON.stringify({ status: 'accepted', events: parsed.events.length, rejected: parsed.badEntries }), 'application/json');
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, `internal error: ${(e as Error).message}`, 'internal');
      this.counters.drop(err.reason);
      if (err.status === 503) res.setHeader('retry-after', '5');
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      if (signal !== null) return send(res, err.status, encodeStatus(rpcCode(err.status), err.message), PROTOBUF_TYPE);
      const body = route?.format === 'otlp' ? { code: rpcCode(err.status), message: err.message } : { error: err.message };
      return send(res, err.status, JSON.stringify(body), 'application/json');
    }
  }

  /** One structured line per accepted write: who (the token's name, never the token), where from, how much. */
  private audit(req: IncomingMessage, token: string, route: string, kind: InputKind, bytes: number, events: number, rejected: number): void {
    const k = `${token}\0${kind}`;
    this.writes.set(k, (this.writes.get(k) ?? 0) + 1);
    const fwd = req.headers['x-forwarded-for'];
    this.opts.log?.info(
      {
        event: 'audit',
        token,
        route,
        kind,
        remote: req.socket.remoteAddress,
        // Set by whatever proxy is in front; the client can forge it, so it is logged, never trusted.
        ...(typeof fwd === 'string' ? { forwardedFor: fwd.slice(0, 200) } : {}),
        bytes,
        events,
        rejected,
      },
      'write accepted',
    );
  }

  /**
   * A protobuf body as the OTLP/JSON ingest reads. JSON is larger than protobuf (hex ids, field names), so a body
   * within maxBodyBytes can still exceed the record limit: that is 413 (send smaller batches), not a dead letter.
   */
  private fromProtobuf(signal: OtlpSignal, body: Buffer): { text: string; root: Record<string, unknown> } {
    let decoded: ReturnType<typeof decodeRequest>;
    try {
      decoded = decodeRequest(signal, body);
    } catch (e) {
      if (e instanceof NightshiftError && e.code === 'INVALID_PROTOBUF') throw new HttpError(400, e.message, 'bad_protobuf');
      throw e;
    }
    const bytes = Buffer.byteLength(decoded.text);
    const max = this.opts.ingest.maxRecordBytes;
    if (bytes > max) throw new HttpError(413, `the request is ${bytes} bytes as OTLP/JSON, over the record limit of ${max} bytes; export smaller batches`, 'too_large');
    return decoded;
  }

  private async publishWithin(kind: InputKind, key: string | null, body: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.publish(kind, key, body),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new HttpError(503, `the broker did not acknowledge within ${this.opts.ackTimeoutMs} ms; retry`, 'unavailable')), this.opts.ackTimeoutMs))),
      ]);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(503, `the broker did not take the record: ${(e as Error).message}; retry`, 'unavailable');
    } finally {
      clearTimeout(timer);
    }
  }
}

function rejectedField(kind: InputKind): string {
  return kind === 'logs' ? 'rejectedLogRecords' : kind === 'metrics' ? 'rejectedDataPoints' : 'rejectedSpans';
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, type: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
