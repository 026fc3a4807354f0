import { parseArgs } from 'node:util';
import { warnIfExposed } from '../core/auth/index.js';
import { kafkaConfig } from '../pipeline/kafka/config.js';
import { describeKafkaSecurity } from '../pipeline/kafka/security.js';
import { createLogger } from '../core/log.js';
import { opsPortFromEnv, startOpsServer } from '../core/ops.js';
import { gatewayPortFromEnv } from '../ingest/gateway/index.js';
import { startGateway } from '../pipeline/kafka/gateway.js';
import { loadRunConfig } from './run.js';
import { intOpt, processIo, type CliIo } from './io.js';
import { LISTEN_HELP, LISTEN_OPTIONS, hostFrom, listenSettings } from './listen.js';

export const GATEWAY_HELP = `nightshift gateway [--host ADDR] [--port N] [--tokens PATH] [--config FILE] [--brokers HOST:PORT,...] [--ops-port N] ...

HTTP gateway into the raw topics. Answers 200 only after the broker acknowledged the record.
  POST /v1/logs /v1/metrics /v1/traces   OTLP/HTTP, http/json or http/protobuf (gzip allowed) -> logs, metrics, traces;
                                         protobuf requests are answered in protobuf (partial_success, google.rpc.Status)
  POST /alertmanager (or /v1/alerts)     Alertmanager webhook (webhook_configs url) -> alerts
  POST /v1/changes                       a change event {ts, service, kind, id, summary, author} -> changes
Bad input gets a 4xx naming the problem (400 unparsable or unusable, 401 no valid bearer token, 403 a read-only
token, 413 too large, 415 not JSON (or, on the OTLP paths, protobuf), 429 over the token's rate limit, with Retry-After); 503 with Retry-After when the
broker does not acknowledge in time. With tokens, every write and /metrics need Authorization: Bearer <token>; each accepted
write is logged as an "audit" line with the token's name.
  --host ADDR          listen address (default NIGHTSHIFT_GATEWAY_HOST or 127.0.0.1; 0.0.0.0 for every interface)
  --port N             listen port (default NIGHTSHIFT_GATEWAY_PORT or 8080)
  --config FILE        configuration (YAML or JSON): ingest.topics, ingest.maxRecordBytes, kafka
  --brokers LIST       bootstrap brokers (default NIGHTSHIFT_KAFKA_BROKERS, then the config file)
                       TLS and SASL to the brokers: NIGHTSHIFT_KAFKA_SSL*, NIGHTSHIFT_KAFKA_SASL_* or the config
                       file's kafka.ssl / kafka.sasl (README "Running on Kafka")
  --max-body-bytes N   largest request body after decompression (default ingest.maxRecordBytes, 1 MiB)
  --ops-host ADDR      address of /healthz, /readyz, /metrics (default NIGHTSHIFT_OPS_HOST, then --host); plain HTTP
  --ops-port N         /healthz, /readyz, /metrics (default NIGHTSHIFT_OPS_PORT or 9464; 0 = any free port)
${LISTEN_HELP}
                       (TLS applies to the gateway port; the ops port stays plain HTTP for the probes)`;

export const GATEWAY_OPTIONS = {
  ...LISTEN_OPTIONS,
  port: { type: 'string' },
  config: { type: 'string' },
  brokers: { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'ops-host': { type: 'string' },
  'ops-port': { type: 'string' },
} as const;

/** `nightshift gateway`: resolves with the exit code once stopped (0 after SIGTERM/SIGINT). */
export async function gatewayCommand(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args: argv, options: GATEWAY_OPTIONS, strict: true });
  const { cfg, kafka } = await loadRunConfig(values.config, env);
  const kcfg = kafkaConfig(kafka, values.brokers ? { ...env, NIGHTSHIFT_KAFKA_BROKERS: values.brokers } : env);
  const host = hostFrom(values.host, env, 'NIGHTSHIFT_GATEWAY_HOST', '127.0.0.1');
  const opsHost = values['ops-host'] !== undefined ? hostFrom(values['ops-host'], env, 'NIGHTSHIFT_OPS_HOST', host, '--ops-host') : hostFrom(undefined, env, 'NIGHTSHIFT_OPS_HOST', host);
  const port = values.port !== undefined ? intOpt(values.port, 'port', 0, 0, 65_535) : gatewayPortFromEnv(env);
  const opsPort = values['ops-port'] !== undefined ? intOpt(values['ops-port'], 'ops-port', 0, 0, 65_535) : opsPortFromEnv(env);
  const maxBodyBytes = intOpt(values['max-body-bytes'], 'max-body-bytes', cfg.ingest.maxRecordBytes, 1024, 256 * 1_048_576);
  const log = createLogger();
  const { auth, tls } = await listenSettings(values, env, log);
  const gw = await startGateway({ ingest: cfg.ingest, kafka: kcfg, log, host, port, maxBodyBytes, auth, ...(tls ? { tls } : {}) });
  const ops = await startOpsServer({ host: opsHost, port: opsPort, healthy: gw.healthy, ready: gw.ready, metrics: () => gw.metrics.render(), auth, log });
  warnIfExposed(log, [{ what: 'gateway', host, port: gw.port }, { what: 'ops', host: opsHost, port: ops.port }], auth.enabled);
  io.stderr.write(
    `nightshift gateway: ${gw.scheme} on ${gw.host}:${gw.port} -> ${kcfg.brokers.join(',')} (${describeKafkaSecurity(kcfg)}); ops on ${ops.host}:${ops.port}; ${auth.enabled ? 'bearer tokens required' : 'no authentication'}\n`,
  );
  const sig = await new Promise<string>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
  });
  io.stderr.write(`nightshift gateway: ${sig}, stopping\n`);
  await gw.stop();
  await ops.close();
  await auth.close();
  return 0;
}

/** Entry for a child process, like runMain. */
export async function gatewayMain(argv: string[]): Promise<void> {
  process.exitCode = await gatewayCommand(argv, processIo());
}
