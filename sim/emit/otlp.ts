/** OTLP/JSON building blocks (opentelemetry-proto JSON mapping: int64 as strings, ids as hex). */

export interface AnyValue {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
}
export interface KeyValue {
  key: string;
  value: AnyValue;
}

export function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}
export function int(key: string, value: number): KeyValue {
  return { key, value: { intValue: String(Math.round(value)) } };
}

export function resource(service: string, extra: readonly KeyValue[] = []): { attributes: KeyValue[] } {
  return { attributes: [str('service.name', service), str('deployment.environment', 'prod'), ...extra] };
}

export const SCOPE = { name: 'nightshift.sim', version: '1.0.0' } as const;

/** OTLP severity numbers (logs data model). */
export const SEVERITY_NUMBER = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 } as const;

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
