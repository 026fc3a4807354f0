import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import type { Span } from '../../schemas/events.js';
import { isEnumValue, isInt64, isObj, optString } from '../../schemas/guard.js';
import { checkFast, type Collector } from './collect.js';
import { EnumValue, Int64, hexId, walkOtlp, type OtlpResource } from './otlp.js';
import { nanoDiffMs, parseNanos } from './time.js';

export const OtlpSpan = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().optional(),
  name: z.string().optional(),
  kind: EnumValue.optional(),
  startTimeUnixNano: Int64,
  endTimeUnixNano: Int64,
  status: z.object({ code: EnumValue.optional(), message: z.string().optional() }).optional(),
});

/** OtlpSpan's verdict without its copy (schemas/guard.ts). */
export function isOtlpSpan(v: unknown): v is z.infer<typeof OtlpSpan> {
  if (!isObj(v)) return false;
  const { traceId, spanId, parentSpanId, name, kind, startTimeUnixNano, endTimeUnixNano, status } = v;
  return (
    typeof traceId === 'string' &&
    typeof spanId === 'string' &&
    optString(parentSpanId) &&
    optString(name) &&
    (kind === undefined || isEnumValue(kind)) &&
    isInt64(startTimeUnixNano) &&
    isInt64(endTimeUnixNano) &&
    (status === undefined || (isObj(status) && (status.code === undefined || isEnumValue(status.code)) && optString(status.message)))
  );
}

const KINDS: readonly Span['span_kind'][] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const KIND_NAMES: Readonly<Record<string, Span['span_kind']>> = {
  SPAN_KIND_UNSPECIFIED: 'unspecified',
  SPAN_KIND_INTERNAL: 'internal',
  SPAN_KIND_SERVER: 'server',
  SPAN_KIND_CLIENT: 'client',
  SPAN_KIND_PRODUCER: 'producer',
  SPAN_KIND_CONSUMER: 'consumer',
};
const STATUSES: readonly Span['status'][] = ['unset', 'ok', 'error'];
const STATUS_NAMES: Readonly<Record<string, Span['status']>> = {
  STATUS_CODE_UNSET: 'unset',
  STATUS_CODE_OK: 'ok',
  STATUS_CODE_ERROR: 'error',
};

function spanKind(k: number | string | undefined): Span['span_kind'] {
  if (k === undefined) return 'unspecified';
  const v = typeof k === 'number' ? KINDS[k] : KIND_NAMES[k];
  if (!v) throw new NightshiftError('SCHEMA_MISMATCH', `kind: ${JSON.stringify(k)} is not a span kind (0-5 or SPAN_KIND_*)`);
  return v;
}

function spanStatus(code: number | string | undefined): Span['status'] {
  if (code === undefined) return 'unset';
  const v = typeof code === 'number' ? STATUSES[code] : STATUS_NAMES[code];
  if (!v) throw new NightshiftError('SCHEMA_MISMATCH', `status.code: ${JSON.stringify(code)} is not a status code (0-2 or STATUS_CODE_*)`);
  return v;
}

function visitSpan(c: Collector, item: unknown, res: OtlpResource): void {
  const id = c.nextId();
  const s = checkFast(isOtlpSpan, OtlpSpan, item, '');
  const start = parseNanos(s.startTimeUnixNano, 'startTimeUnixNano');
  const end = parseNanos(s.endTimeUnixNano, 'endTimeUnixNano');
  if (!start || !end) throw new NightshiftError('BAD_TIMESTAMP', `${start ? 'end' : 'start'}TimeUnixNano is 0: a span needs both times`);
  const duration = nanoDiffMs(start, end);
  if (duration < 0) throw new NightshiftError('BAD_TIMESTAMP', `span ends ${-duration} ms before it starts`);
  const span: Span = {
    kind: 'span',
    id,
    ts: start.ms,
    service: res.service,
    trace_id: hexId(s.traceId, 16, 'traceId'),
    span_id: hexId(s.spanId, 8, 'spanId'),
    name: s.name ?? '',
    duration_ms: duration,
    status: spanStatus(s.status?.code),
    span_kind: spanKind(s.kind),
  };
  if (s.parentSpanId) span.parent_span_id = hexId(s.parentSpanId, 8, 'parentSpanId');
  if (res.instance !== undefined) span.instance = res.instance;
  if (res.version !== undefined) span.version = res.version;
  c.emit(span);
}

/** OTLP/JSON ExportTraceServiceRequest -> one Span per span. */
export function parseTraces(root: Record<string, unknown>, c: Collector): void {
  walkOtlp(c, root, { resource: 'resourceSpans', scope: 'scopeSpans', item: 'spans' }, (item, _path, res) => visitSpan(c, item, res));
}
