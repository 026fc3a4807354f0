import type { ReplayRecordLine } from './emit/sink.js';

/**
 * Decodes the simulator's own output back into flat facts, for tests and `simulate` summaries. It knows only the
 * shapes this simulator writes and trusts them; real input goes through ingest, which validates everything.
 */
export interface MetricFact {
  ts: number;
  service: string;
  name: string;
  value: number;
  /** The pod of a per-pod series (OTLP resource `k8s.pod.name`, plain label `pod`). */
  pod?: string;
  /** The declared OTLP unit. */
  unit?: string;
}
export interface AlertFact {
  ts: number;
  service: string;
  name: string;
  severity: string;
  status: 'firing' | 'resolved';
  plain: boolean;
}
export interface LogFact {
  ts: number;
  service: string;
  level: string;
  message: string;
}
export interface SpanFact {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  service: string;
  kind: number;
  startMs: number;
  endMs: number;
  error: boolean;
}

type Json = Record<string, unknown>;
interface Attr {
  key: string;
  value: { stringValue?: string };
}

const nanoMs = (s: string): number => Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6;
const attr = (attrs: readonly Attr[], key: string): string => attrs.find((a) => a.key === key)?.value.stringValue ?? '';
const toMs = (v: unknown): number => (typeof v === 'number' ? v : Date.parse(String(v)));

export function metricFacts(r: ReplayRecordLine): MetricFact[] {
  const p = JSON.parse(r.payload) as Json;
  if (!('resourceMetrics' in p)) {
    const pod = (p.labels as Record<string, string> | undefined)?.pod;
    return [{ ts: toMs(p.ts), service: String(p.service), name: String(p.name), value: Number(p.value), ...(pod ? { pod } : {}) }];
  }
  const out: MetricFact[] = [];
  for (const rm of p.resourceMetrics as { resource: { attributes: Attr[] }; scopeMetrics: { metrics: { name: string; unit: string; gauge: { dataPoints: { timeUnixNano: string; asDouble: number }[] } }[] }[] }[]) {
    const service = attr(rm.resource.attributes, 'service.name');
    const pod = attr(rm.resource.attributes, 'k8s.pod.name');
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        for (const dp of m.gauge.dataPoints) out.push({ ts: Math.round(nanoMs(dp.timeUnixNano)), service, name: m.name, value: dp.asDouble, unit: m.unit, ...(pod ? { pod } : {}) });
  }
  return out;
}

export function alertFacts(r: ReplayRecordLine): AlertFact[] {
  const p = JSON.parse(r.payload) as Json;
  if (p.version !== '4') {
    return [{ ts: toMs(p.ts), service: String(p.service), name: String(p.name), severity: String(p.severity), status: 'firing', plain: true }];
  }
  return (p.alerts as { status: 'firing' | 'resolved'; labels: Record<string, string> }[]).map((a) => ({
    ts: r.ts,
    service: a.labels.service ?? a.labels.app ?? a.labels.job ?? '',
    name: a.labels.alertname ?? '',
    severity: a.labels.severity ?? '',
    status: a.status,
    plain: false,
  }));
}

export function logFacts(r: ReplayRecordLine): LogFact[] {
  if (!r.payload.startsWith('{')) return [{ ts: r.ts, service: r.key ?? '', level: 'text', message: r.payload }];
  const p = JSON.parse(r.payload) as Json;
  if (!('resourceLogs' in p)) return [{ ts: toMs(p.ts), service: String(p.service), level: String(p.level).toLowerCase(), message: String(p.message) }];
  const out: LogFact[] = [];
  for (const rl of p.resourceLogs as { resource: { attributes: Attr[] }; scopeLogs: { logRecords: { timeUnixNano: string; severityText: string; body: { stringValue: string } }[] }[] }[]) {
    const service = attr(rl.resource.attributes, 'service.name');
    for (const sl of rl.scopeLogs)
      for (const lr of sl.logRecords) out.push({ ts: Math.round(nanoMs(lr.timeUnixNano)), service, level: lr.severityText.toLowerCase(), message: lr.body.stringValue });
  }
  return out;
}

export function spanFacts(r: ReplayRecordLine): SpanFact[] {
  const p = JSON.parse(r.payload) as {
    resourceSpans: {
      resource: { attributes: Attr[] };
      scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; kind: number; startTimeUnixNano: string; endTimeUnixNano: string; status: { code: number } }[] }[];
    }[];
  };
  const out: SpanFact[] = [];
  for (const rs of p.resourceSpans) {
    const service = attr(rs.resource.attributes, 'service.name');
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans)
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? null,
          service,
          kind: s.kind,
          startMs: nanoMs(s.startTimeUnixNano),
          endMs: nanoMs(s.endTimeUnixNano),
          error: s.status.code === 2,
        });
  }
  return out;
}
