import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanContext } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/**
 * One instrumented service built from the real OpenTelemetry SDK: spans, logs and metrics recorded in memory with
 * times the test chooses, then sent by the SDK's own OTLP/HTTP protobuf exporters when the test says so (no export
 * timers: what is sent, and when, is decided by the test).
 */

/** A metric reader that collects only when asked. */
class ManualReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

function exported(run: (done: (r: ExportResult) => void) => void): Promise<ExportResult> {
  return new Promise((resolve) => run(resolve));
}

export interface SdkServiceOptions {
  readonly url: string;
  readonly gzip?: boolean;
  /** Extra resource attributes; `service.name` may be overridden here (e.g. to a number, which ingest refuses). */
  readonly resource?: Attributes;
  /** Sent with every export, e.g. Authorization. */
  readonly headers?: Record<string, string>;
}

export class SdkService {
  readonly tracerProvider: BasicTracerProvider;
  readonly loggerProvider: LoggerProvider;
  readonly meterProvider: MeterProvider;
  private readonly spans = new InMemorySpanExporter();
  private readonly logs = new InMemoryLogRecordExporter();
  private readonly reader = new ManualReader();
  readonly traceExporter: OTLPTraceExporter;
  readonly logExporter: OTLPLogExporter;
  readonly metricExporter: OTLPMetricExporter;

  constructor(
    readonly name: string,
    opts: SdkServiceOptions,
  ) {
    const resource = resourceFromAttributes({ 'service.name': name, 'service.version': '1.4.2', ...opts.resource });
    this.tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(this.spans)] });
    this.loggerProvider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: this.logs })] });
    // `*.exp` instruments aggregate as exponential histograms, so that both histogram encodings are exercised.
    this.meterProvider = new MeterProvider({ resource, readers: [this.reader], views: [{ instrumentName: '*.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }] });
    const common = { compression: opts.gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE, headers: opts.headers ?? {} };
    this.traceExporter = new OTLPTraceExporter({ url: `${opts.url}/v1/traces`, ...common });
    this.logExporter = new OTLPLogExporter({ url: `${opts.url}/v1/logs`, ...common });
    this.metricExporter = new OTLPMetricExporter({ url: `${opts.url}/v1/metrics`, ...common });
  }

  /** A span with explicit times (ms) and status, child of `parent` when given. */
  span(
    name: string,
    kind: SpanKind,
    startMs: number,
    endMs: number,
    opts: { parent?: Context; error?: boolean; attributes?: Attributes; events?: ReadonlyArray<{ name: string; ts: number; attributes?: Attributes }>; links?: readonly SpanContext[] } = {},
  ): { ctx: Context; id: SpanContext } {
    const links = (opts.links ?? []).map((context) => ({ context, attributes: { 'link.kind': 'retry-of' } }));
    const s: Span = this.tracerProvider.getTracer('test', '2.0.1').startSpan(name, { kind, startTime: startMs, attributes: opts.attributes ?? {}, links }, opts.parent ?? ROOT_CONTEXT);
    for (const e of opts.events ?? []) s.addEvent(e.name, e.attributes ?? {}, e.ts);
    if (opts.error) s.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    s.end(endMs);
    return { ctx: trace.setSpan(opts.parent ?? ROOT_CONTEXT, s), id: s.spanContext() };
  }

  log(ts: number, severity: 'INFO' | 'ERROR', body: string, attributes: Attributes = {}, ctx?: Context): void {
    this.loggerProvider.getLogger('test').emit({
      timestamp: ts,
      severityNumber: severity === 'ERROR' ? SeverityNumber.ERROR : SeverityNumber.INFO,
      severityText: severity,
      body,
      attributes,
      ...(ctx ? { context: ctx } : {}),
    });
  }

  /** Takes what was recorded since the last call (the SDK's ReadableSpans and ReadableLogRecords). */
  take(): { spans: ReadableSpan[]; logs: ReadableLogRecord[] } {
    const spans = this.spans.getFinishedSpans().slice();
    const logs = this.logs.getFinishedLogRecords().slice();
    this.spans.reset();
    this.logs.reset();
    return { spans, logs };
  }

  /** Sends spans and logs recorded since the last call through the OTLP/HTTP protobuf exporters. */
  async flush(): Promise<void> {
    const { spans, logs } = this.take();
    if (spans.length > 0) expectSuccess(await exported((done) => this.traceExporter.export(spans, done)), 'traces');
    if (logs.length > 0) expectSuccess(await exported((done) => this.logExporter.export(logs, done)), 'logs');
  }

  exportSpans(spans: ReadableSpan[]): Promise<ExportResult> {
    return exported((done) => this.traceExporter.export(spans, done));
  }

  exportLogs(logs: ReadableLogRecord[]): Promise<ExportResult> {
    return exported((done) => this.logExporter.export(logs, done));
  }

  /** Collects the meter provider's instruments now and sends them. */
  async flushMetrics(): Promise<ResourceMetrics> {
    const { resourceMetrics } = await this.reader.collect();
    expectSuccess(await exported((done) => this.metricExporter.export(resourceMetrics, done)), 'metrics');
    return resourceMetrics;
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.tracerProvider.shutdown(), this.loggerProvider.shutdown(), this.meterProvider.shutdown()]);
    await Promise.all([this.traceExporter.shutdown(), this.logExporter.shutdown(), this.metricExporter.shutdown()]);
  }
}

function expectSuccess(r: ExportResult, what: string): void {
  if (r.code !== ExportResultCode.SUCCESS) throw new Error(`the SDK's ${what} export failed: ${r.error?.message ?? 'unknown'}`);
}

export { SpanKind };
