import protobuf from 'protobufjs';
import { NightshiftError } from '../../core/errors.js';
import type { InputKind } from '../config.js';
import { OTLP_PROTO_FILES } from './otlp-schema.js';

/**
 * OTLP/HTTP binary protobuf at the gateway. A request is decoded and rewritten as the OTLP/JSON that ingest already
 * reads (the proto3 JSON mapping with OTLP's deviations), so the raw topics carry one format and ingest's parser
 * stays the only place that interprets OTLP. Responses and errors go back as protobuf, as the spec asks of a server
 * that received protobuf.
 */

export const PROTOBUF_TYPE = 'application/x-protobuf';

export type OtlpSignal = 'logs' | 'metrics' | 'traces';

export function isOtlpSignal(k: InputKind): k is OtlpSignal {
  return k === 'logs' || k === 'metrics' || k === 'traces';
}

const root = new protobuf.Root();
for (const file of OTLP_PROTO_FILES) protobuf.parse(file, root, { keepCase: false });
root.resolveAll();

interface SignalTypes {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
  /** The request's top-level list, as OTLP/JSON names it. */
  readonly field: string;
  /** ExportXPartialSuccess's count field, as protobufjs names it. */
  readonly rejected: string;
}

function signal(pkg: string, name: string, field: string, rejected: string): SignalTypes {
  return {
    request: root.lookupType(`opentelemetry.proto.collector.${pkg}.v1.Export${name}ServiceRequest`),
    response: root.lookupType(`opentelemetry.proto.collector.${pkg}.v1.Export${name}ServiceResponse`),
    field,
    rejected,
  };
}

const SIGNALS: Readonly<Record<OtlpSignal, SignalTypes>> = {
  logs: signal('logs', 'Logs', 'resourceLogs', 'rejectedLogRecords'),
  metrics: signal('metrics', 'Metrics', 'resourceMetrics', 'rejectedDataPoints'),
  traces: signal('trace', 'Trace', 'resourceSpans', 'rejectedSpans'),
};

const STATUS = root.lookupType('google.rpc.Status');

/**
 * proto3 JSON: 64-bit integers as decimal strings (nanosecond times do not fit a double), enums as numbers (OTLP/JSON
 * forbids names), non-finite doubles as "NaN"/"Infinity" strings (ingest refuses them as it does in JSON), unset
 * fields left out. Bytes stay raw here and are spelled by the replacer below.
 */
const TO_JSON: protobuf.IConversionOptions = { longs: String, enums: Number, defaults: false, arrays: false, objects: false, oneofs: false, json: true };

/** OTLP/JSON spells these bytes fields as hex (everywhere: spans, links, log records, exemplars), all others base64. */
const HEX_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

function bytesAsJson(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already replaced a Buffer by its toJSON() form; the holder still has the bytes.
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString(HEX_FIELDS.has(key) ? 'hex' : 'base64');
  return value;
}

export interface DecodedRequest {
  /** The request as an OTLP/JSON object. */
  readonly root: Record<string, unknown>;
  /** The same, serialized: what is published to the raw topic. */
  readonly text: string;
}

/** A binary Export<Signal>ServiceRequest as OTLP/JSON; a body that is not one fails with INVALID_PROTOBUF. */
export function decodeRequest(kind: OtlpSignal, body: Uint8Array): DecodedRequest {
  const t = SIGNALS[kind];
  let obj: Record<string, unknown>;
  try {
    obj = t.request.toObject(t.request.decode(body), TO_JSON);
  } catch (e) {
    throw new NightshiftError('INVALID_PROTOBUF', `body is not a protobuf ${t.request.name}: ${(e as Error).message}`, { cause: e });
  }
  // An empty request is valid OTLP and must be answered with success; in JSON it is the empty list.
  if (obj[t.field] === undefined) obj[t.field] = [];
  return { root: obj, text: JSON.stringify(obj, bytesAsJson) };
}

/** Export<Signal>ServiceResponse: empty on full success; partial_success when entries were rejected. */
export function encodeResponse(kind: OtlpSignal, rejected: number, errorMessage: string): Uint8Array {
  const t = SIGNALS[kind];
  const partial = rejected > 0 || errorMessage !== '' ? { partialSuccess: { [t.rejected]: rejected, errorMessage } } : {};
  return t.response.encode(t.response.fromObject(partial)).finish();
}

/** google.rpc.Status, the body of every OTLP/HTTP 4xx and 5xx answered to a protobuf request. */
export function encodeStatus(code: number, message: string): Uint8Array {
  return STATUS.encode(STATUS.fromObject({ code, message })).finish();
}

/** For tests and clients of the gateway: the decoded response or status, as plain objects. */
export function decodeResponse(kind: OtlpSignal, body: Uint8Array): Record<string, unknown> {
  const t = SIGNALS[kind].response;
  return t.toObject(t.decode(body), TO_JSON);
}

export function decodeStatus(body: Uint8Array): { code?: number; message?: string } {
  return STATUS.toObject(STATUS.decode(body), TO_JSON) as { code?: number; message?: string };
}
