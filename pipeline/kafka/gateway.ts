import { Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { LOOPBACK, createServer, type Authenticator, type TlsFiles } from '../../core/auth/index.js';
import { METRIC, MetricsRegistry } from '../../core/metrics.js';
import { boundAddress, listen } from '../../core/ops.js';
import type { IngestConfig } from '../../ingest/config.js';
import { GatewayHandler } from '../../ingest/gateway/index.js';
import { createKafka, ensureTopics, topicSpecs } from './client.js';
import type { KafkaConfig } from './config.js';
import { ProducerBatcher } from './producer.js';

export interface GatewayStartOptions {
  readonly ingest: IngestConfig;
  readonly kafka: KafkaConfig;
  readonly log: Logger;
  readonly port: number;
  /** Default 127.0.0.1; a pod or a host that others post to sets 0.0.0.0. */
  readonly host?: string;
  /** Bearer tokens and rate limits for every write (and its metrics are registered here). */
  readonly auth?: Authenticator;
  /** HTTPS, with client certificates required when tls.clientCa is set. */
  readonly tls?: TlsFiles;
  /** Default: ingest.maxRecordBytes (a larger body would be dead-lettered by ingest anyway). */
  readonly maxBodyBytes?: number;
  readonly ackTimeoutMs?: number;
}

export interface Gateway {
  readonly port: number;
  readonly host: string;
  readonly scheme: 'http' | 'https';
  readonly handler: GatewayHandler;
  readonly metrics: MetricsRegistry;
  ready(): boolean;
  healthy(): boolean;
  /** Stops accepting, lets requests in flight finish (their records acknowledged), then disconnects. */
  stop(): Promise<void>;
}

/**
 * `nightshift gateway`: Alertmanager webhooks and OTLP/HTTP (JSON or protobuf) into the raw topics, through the same idempotent,
 * acks=-1 producer as the pipeline. The raw topics are created if missing.
 */
export async function startGateway(opts: GatewayStartOptions): Promise<Gateway> {
  const kafka = createKafka(opts.kafka, opts.log, '-gateway');
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (opts.kafka.createTopics) {
      const raw = new Set(Object.values(opts.ingest.topics));
      await ensureTopics(admin, topicSpecs(opts.kafka, opts.ingest.topics).filter((s) => raw.has(s.topic)));
    }
  } finally {
    await admin.disconnect();
  }
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  let fatal: Error | null = null;
  const batcher = new ProducerBatcher(
    producer,
    { lingerMs: opts.kafka.lingerMs, maxBatchRecords: opts.kafka.maxBatchRecords, maxBatchBytes: opts.kafka.maxBatchBytes, maxQueuedBytes: opts.kafka.maxQueuedBytes },
    opts.log,
    (e) => (fatal = e),
  );
  const handler = new GatewayHandler(
    {
      ingest: opts.ingest,
      maxBodyBytes: opts.maxBodyBytes ?? opts.ingest.maxRecordBytes,
      ackTimeoutMs: opts.ackTimeoutMs ?? 30_000,
      log: opts.log,
      ...(opts.auth ? { auth: opts.auth } : {}),
    },
    async (kind, key, body) => {
      // Bounded: a request waits while the producer holds maxQueuedBytes, instead of queueing without end.
      await batcher.whenRoom();
      await batcher.send({ topic: opts.ingest.topics[kind], key, value: body });
    },
  );
  let served: Awaited<ReturnType<typeof createServer>>;
  let port: number;
  const host = opts.host ?? LOOPBACK;
  try {
    served = await createServer((req, res) => void handler.handle(req, res), opts.tls, { log: opts.log });
    served.server.requestTimeout = 60_000;
    served.server.headersTimeout = 30_000;
    served.server.keepAliveTimeout = 5000;
    port = await listen(served.server, opts.port, host).catch(async (e: unknown) => {
      await served.stopWatching();
      throw e;
    });
  } catch (e) {
    await producer.disconnect().catch(() => undefined);
    throw e;
  }
  const { server, scheme } = served;
  const metrics = new MetricsRegistry();
  metrics.registerStages(() => [{ name: 'gateway', counters: handler.counters }]);
  metrics.register(METRIC.processingLatency, 'Time from a request arriving to its record acknowledged by the broker.', 'histogram', () => handler.latency.samples({ stage: 'gateway' }));
  metrics.register(METRIC.up, '1 while the gateway works.', 'gauge', () => [{ labels: {}, value: fatal === null ? 1 : 0 }]);
  metrics.register(METRIC.writesAccepted, 'Writes the gateway accepted (and audited), by token name ("-" without tokens) and input kind.', 'counter', () =>
    [...handler.writes].map(([k, value]) => {
      const [token, kind] = k.split('\0') as [string, string];
      return { labels: { token, kind }, value };
    }),
  );
  opts.auth?.registerMetrics(metrics);
  let stopping = false;
  let stopped: Promise<void> | null = null;
  return {
    port,
    host: boundAddress(server, host),
    scheme,
    handler,
    metrics,
    ready: () => !stopping && fatal === null && batcher.failed === null,
    healthy: () => fatal === null,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await served.stopWatching();
        await batcher.flush();
        await producer.disconnect().catch(() => undefined);
      })()),
  };
}
