/** Builders of synthetic events for the perception tests (deterministic: a seeded PRNG, no clock). */
import type { Alert, ChangeEvent, LogLevel, LogRecord, MetricPoint, Span } from '../schemas/events.js';

export const MIN = 60_000;
/** Minute-aligned, so RED buckets line up with the phases of the scenarios. */
export const T0 = 1_699_999_980_000;

/** mulberry32: a tiny seeded PRNG, so "noise" is the same in every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let seq = 0;
const nextId = (p: string) => `${p}-${++seq}`;

export function metric(service: string, name: string, ts: number, value: number, labels: Record<string, string> = {}): MetricPoint {
  return { kind: 'metric', id: nextId('m'), ts, service, name, value, labels };
}

export function log(service: string, ts: number, level: LogLevel, message: string): LogRecord {
  return { kind: 'log', id: nextId('l'), ts, service, level, message };
}

export function alert(
  service: string,
  ts: number,
  name: string,
  status: 'firing' | 'resolved',
  severity: Alert['severity'] = 'critical',
  fingerprint = `${service}/${name}`,
): Alert {
  return { kind: 'alert', id: nextId('a'), ts, service, name, severity, status, summary: `${name} on ${service}`, fingerprint, labels: { alertname: name, service }, starts_at: ts };
}

export function change(service: string, ts: number, id: string, summary = `deploy ${id}`): ChangeEvent {
  return { kind: 'change', id, ts, service, change_kind: 'deploy', summary };
}

export function span(
  service: string,
  ts: number,
  trace: string,
  spanId: string,
  parent: string | undefined,
  kind: Span['span_kind'],
  durationMs: number,
  status: Span['status'] = 'ok',
  name = `${service} op`,
): Span {
  const s: Span = { kind: 'span', id: nextId('s'), ts, service, trace_id: trace, span_id: spanId, name, duration_ms: durationMs, status, span_kind: kind };
  if (parent !== undefined) s.parent_span_id = parent;
  return s;
}

/**
 * One call caller -> callee as two spans: the caller's CLIENT span and the callee's SERVER span (its child).
 * The child ends first, so it comes first (as exporters send spans when they end).
 */
export function call(caller: string, callee: string, ts: number, trace: string, durationMs: number, status: Span['status'] = 'ok'): Span[] {
  return [
    span(callee, ts, trace, `${trace}-s`, `${trace}-c`, 'server', durationMs, status),
    span(caller, ts, trace, `${trace}-c`, undefined, 'client', durationMs + 1, status, `call ${callee}`),
  ];
}
