import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';

/**
 * Cluster mode settings (the `kafka` section of the config file; environment variables win). Partition counts are
 * used when nightshift creates its topics; existing topics keep theirs.
 */
export const KafkaTopics = z.strictObject({
  /** Normalized events, keyed by service: all records of a service meet in one perception instance. */
  events: z.string().min(1).default('nightshift.events'),
  /** Incident bundles, keyed by incident id. */
  bundles: z.string().min(1).default('nightshift.bundles'),
  /** Root-cause results: one output-contract record per message, keyed by incident id. */
  rca: z.string().min(1).default('nightshift.rca'),
  /** Records that failed, with the original payload, the error and where they came from. */
  deadLetters: z.string().min(1).default('nightshift.deadletters'),
  /** Compacted: the latest state snapshot per stateful stage partition. */
  checkpoints: z.string().min(1).default('nightshift.checkpoints'),
});
export type KafkaTopics = z.infer<typeof KafkaTopics>;

export const KafkaPartitions = z.strictObject({
  raw: z.number().int().min(1).max(10_000).default(6),
  events: z.number().int().min(1).max(10_000).default(12),
  bundles: z.number().int().min(1).max(10_000).default(6),
  rca: z.number().int().min(1).max(10_000).default(6),
  deadLetters: z.number().int().min(1).max(10_000).default(1),
  checkpoints: z.number().int().min(1).max(10_000).default(6),
});
export type KafkaPartitions = z.infer<typeof KafkaPartitions>;

/**
 * TLS to the brokers (kafkajs `ssl`, i.e. Node's tls.connect options). Files are PEM and read once at start
 * (pipeline/kafka/security.ts); without caFile the system's CAs are trusted. certFile + keyFile present a client
 * certificate (mTLS).
 */
export const KafkaSsl = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** CA certificate(s) the brokers' certificates must chain to (PEM, one or more). */
    caFile: z.string().min(1).optional(),
    /** Client certificate (PEM, the leaf first, then intermediates) for listeners that require one (mTLS). */
    certFile: z.string().min(1).optional(),
    /** Its private key (PEM, PKCS#8, PKCS#1 or SEC1; encrypted only with keyPassphraseFile). */
    keyFile: z.string().min(1).optional(),
    /** File holding the key's passphrase (a trailing newline is dropped). */
    keyPassphraseFile: z.string().min(1).optional(),
    /** Verify the brokers' certificates (chain and host name). false only for a throwaway test cluster. */
    rejectUnauthorized: z.boolean().default(true),
    /** Host name to expect in the brokers' certificates (SNI), when it is not the one in kafka.brokers. */
    servername: z.string().min(1).optional(),
  })
  .superRefine((v, ctx) => {
    if (!v.enabled) {
      const set = (['caFile', 'certFile', 'keyFile', 'keyPassphraseFile', 'servername'] as const).filter((k) => v[k] !== undefined);
      if (set.length > 0) ctx.addIssue({ code: 'custom', message: `${set.join(', ')} set but TLS is off: set kafka.ssl.enabled (NIGHTSHIFT_KAFKA_SSL=true)` });
    }
    if ((v.certFile === undefined) !== (v.keyFile === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a client certificate needs both certFile and keyFile (NIGHTSHIFT_KAFKA_SSL_CERT_FILE, NIGHTSHIFT_KAFKA_SSL_KEY_FILE)' });
    }
    if (v.keyPassphraseFile !== undefined && v.keyFile === undefined) ctx.addIssue({ code: 'custom', message: 'keyPassphraseFile set without keyFile' });
  });
export type KafkaSsl = z.infer<typeof KafkaSsl>;

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** SASL authentication (kafkajs `sasl`). The password comes from passwordFile (a mounted Secret) or password. */
export const KafkaSasl = z
  .strictObject({
    /** plain, scram-sha-256 or scram-sha-512 (case does not matter: SCRAM-SHA-512 as Kafka spells it works too). */
    mechanism: z.preprocess(
      (m) => (typeof m === 'string' ? m.trim().toLowerCase() : m),
      z.enum(SASL_MECHANISMS, { error: (i) => (i.input === undefined ? 'is required' : `must be one of ${SASL_MECHANISMS.join(', ')}, got ${JSON.stringify(i.input)}`) }),
    ),
    username: z.string({ error: 'is required (NIGHTSHIFT_KAFKA_SASL_USERNAME)' }).min(1, 'is required (NIGHTSHIFT_KAFKA_SASL_USERNAME)'),
    /** The password itself; prefer passwordFile, which keeps it out of config files and the process environment. */
    password: z.string().min(1).optional(),
    /** File holding the password (a trailing newline is dropped), e.g. a key of a mounted Secret. */
    passwordFile: z.string().min(1).optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.password === undefined) === (v.passwordFile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `needs exactly one of password and passwordFile (NIGHTSHIFT_KAFKA_SASL_PASSWORD, NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE)${v.password !== undefined ? ', both are set' : ''}`,
      });
    }
  });
export type KafkaSasl = z.infer<typeof KafkaSasl>;

export const KafkaConfig = z.strictObject({
  brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'a broker is host:port')).min(1).default(['127.0.0.1:9092']),
  clientId: z.string().min(1).default('nightshift'),
  /** Consumer groups are `<groupPrefix>.ingest`, `.perception`, `.reasoning`, `.sinks`. */
  groupPrefix: z.string().min(1).default('nightshift'),
  topics: KafkaTopics.prefault({}),
  /** TLS to the brokers; off by default (see KafkaSsl). */
  ssl: KafkaSsl.prefault({}),
  /** SASL authentication; none when absent (see KafkaSasl). */
  sasl: KafkaSasl.optional(),
  partitions: KafkaPartitions.prefault({}),
  /**
   * Key of the events topic. `component` (default): services connected in the CMDB (--topology) share a key, so an
   * incident spanning them is correlated as one, as `replay` correlates it (test/kafka-equivalence.test.ts); the
   * price is parallelism: one connected component is one perception partition. Services the CMDB does not know (or
   * every service, without a CMDB) keep their own name. `service`: every service's records meet in one perception
   * instance (most parallel; an incident spanning services in different partitions is split, with wrong roots).
   */
  eventKey: z.enum(['service', 'component']).default('component'),
  /** Create missing topics at start (admin client); never relies on broker auto-creation. */
  createTopics: z.boolean().default(true),
  /** Per partition: records taken but not finished (waiting, processing, or with unacknowledged outputs); full -> pause. */
  maxInFlightRecords: z.number().int().min(1).max(10_000_000).default(20_000),
  /** Per partition: bytes of those records plus their pending outputs; full -> pause. */
  maxInFlightBytes: z.number().int().min(1024).max(2 ** 31).default(16 * 1_048_576),
  /** How often finished offsets are committed (stateless stages). */
  commitIntervalMs: z.number().int().min(10).max(600_000).default(1000),
  /** How often a stateful stage (perception, reasoning) snapshots a partition's state; its offsets commit with it. */
  checkpointIntervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
  /** Producer batching: a batch is sent when it has this many records or bytes, or after lingerMs. */
  lingerMs: z.number().int().min(0).max(1000).default(5),
  maxBatchRecords: z.number().int().min(1).max(100_000).default(4000),
  maxBatchBytes: z.number().int().min(1024).max(64 * 1_048_576).default(4 * 1_048_576),
  /** Outputs queued in the producer beyond this wait (all partitions together). */
  maxQueuedBytes: z.number().int().min(1024).max(2 ** 31).default(64 * 1_048_576),
  sessionTimeoutMs: z.number().int().min(6000).max(300_000).default(30_000),
  heartbeatIntervalMs: z.number().int().min(100).max(60_000).default(3000),
  rebalanceTimeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
  /** Fetch limits of the consumers. */
  maxBytesPerPartition: z.number().int().min(1024).max(64 * 1_048_576).default(1_048_576),
  maxWaitTimeMs: z.number().int().min(0).max(10_000).default(100),
  /**
   * Ingest: records are processed in Kafka-timestamp order across partitions, within this slack (ms; perception
   * re-sorts by event time within alignIdleMs, so ingest only needs to keep sources roughly together)...
   */
  alignSlackMs: z.number().int().min(0).max(86_400_000).default(30_000),
  /** ...waiting at most this long (wall ms) for a partition that has records not fetched yet. */
  alignWaitMs: z.number().int().min(0).max(60_000).default(200),
  /**
   * Perception: events wait until every source (raw topic partition) active within this much event time has
   * reached theirs, so sources that progress at different speeds meet in time order (see pipeline/align.ts).
   */
  alignIdleMs: z.number().int().min(0).max(86_400_000).default(300_000),
  /**
   * Perception: an idle raw partition (ingest found it empty, as of a wall time) holds back events written after
   * that time until ingest says it again, for at most this long (wall ms); then they go on (progress over order).
   * Partitions that start delivering together so meet in time order from their first events.
   */
  alignIdleHoldMs: z.number().int().min(0).max(600_000).default(5000),
  /** Ingest: how often each raw partition's progress is written to every events partition (heartbeats). */
  alignHeartbeatMs: z.number().int().min(50).max(60_000).default(1000),
  /** Perception: events waiting for alignment per partition; beyond it the oldest go on early. */
  alignMaxEvents: z.number().int().min(1).max(10_000_000).default(50_000),
  /** Output ids a sink instance remembers to drop redelivered outputs (least recently seen forgotten first). */
  sinkDedupIds: z.number().int().min(0).max(10_000_000).default(100_000),
  /**
   * Sinks stage: outputs accepted by the sinks but not confirmed yet (ClickHouse ack, ticket done, NDJSON written),
   * all partitions of the process together. Full -> delivery waits, the lanes fill and pause (bounded memory).
   */
  sinkMaxInFlight: z.number().int().min(1).max(1_000_000).default(5000),
  /** Sinks stage: `/readyz` answers not ready while an output has been unconfirmed for longer than this (an outage). */
  sinkUnreadyAfterMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /**
   * How long SIGTERM waits for in-flight work to finish before leaving anyway (per stage; the whole stop of
   * `nightshift run` is bounded by this plus 10 s, below the Helm chart's terminationGracePeriodSeconds of 60 s).
   * What is not confirmed by then stays uncommitted and is redelivered to the next instance.
   */
  shutdownTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** Waiting for the checkpoint topic to be read before restoring a partition. */
  restoreTimeoutMs: z.number().int().min(100).max(600_000).default(60_000),
});
export type KafkaConfig = z.infer<typeof KafkaConfig>;

export function defaultKafkaConfig(): KafkaConfig {
  return KafkaConfig.parse({});
}

function boolEnv(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const t = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new NightshiftError('CONFIG_INVALID', `${name} must be true or false, got ${JSON.stringify(v)}`);
}

function subObject(raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = raw[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new NightshiftError('CONFIG_INVALID', `config is invalid: kafka.${key}: must be an object`);
  return { ...(v as Record<string, unknown>) };
}

/**
 * TLS and SASL from the environment (a Kubernetes Secret through envFrom, or mounted files): NIGHTSHIFT_KAFKA_SSL,
 * NIGHTSHIFT_KAFKA_SSL_CA_FILE, _CERT_FILE, _KEY_FILE, _KEY_PASSPHRASE_FILE, _REJECT_UNAUTHORIZED, _SERVERNAME;
 * NIGHTSHIFT_KAFKA_SASL_MECHANISM, _USERNAME, _PASSWORD or _PASSWORD_FILE. Each wins over the config file's field; a
 * password from the environment replaces a passwordFile from the file and the other way round.
 */
function applySecurityEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const ssl = subObject(raw, 'ssl');
  const on = boolEnv(env, 'NIGHTSHIFT_KAFKA_SSL');
  if (on !== undefined) ssl.enabled = on;
  for (const [k, e] of [['caFile', 'CA_FILE'], ['certFile', 'CERT_FILE'], ['keyFile', 'KEY_FILE'], ['keyPassphraseFile', 'KEY_PASSPHRASE_FILE'], ['servername', 'SERVERNAME']] as const) {
    const v = env[`NIGHTSHIFT_KAFKA_SSL_${e}`];
    if (v) ssl[k] = v;
  }
  const reject = boolEnv(env, 'NIGHTSHIFT_KAFKA_SSL_REJECT_UNAUTHORIZED');
  if (reject !== undefined) ssl.rejectUnauthorized = reject;
  raw.ssl = ssl;
  const fromEnv = ['MECHANISM', 'USERNAME', 'PASSWORD', 'PASSWORD_FILE'].some((e) => env[`NIGHTSHIFT_KAFKA_SASL_${e}`]);
  if (!fromEnv) return;
  const sasl = subObject(raw, 'sasl');
  if (env.NIGHTSHIFT_KAFKA_SASL_MECHANISM) sasl.mechanism = env.NIGHTSHIFT_KAFKA_SASL_MECHANISM;
  if (env.NIGHTSHIFT_KAFKA_SASL_USERNAME) sasl.username = env.NIGHTSHIFT_KAFKA_SASL_USERNAME;
  if (env.NIGHTSHIFT_KAFKA_SASL_PASSWORD && env.NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE) {
    throw new NightshiftError('CONFIG_INVALID', 'config is invalid: kafka.sasl: set NIGHTSHIFT_KAFKA_SASL_PASSWORD or NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE, not both');
  }
  if (env.NIGHTSHIFT_KAFKA_SASL_PASSWORD) {
    sasl.password = env.NIGHTSHIFT_KAFKA_SASL_PASSWORD;
    delete sasl.passwordFile;
  }
  if (env.NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE) {
    sasl.passwordFile = env.NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE;
    delete sasl.password;
  }
  raw.sasl = sasl;
}

function intEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new NightshiftError('CONFIG_INVALID', `${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The kafka section with environment overrides: NIGHTSHIFT_KAFKA_BROKERS (comma-separated host:port),
 * NIGHTSHIFT_KAFKA_CLIENT_ID, NIGHTSHIFT_KAFKA_GROUP_PREFIX, NIGHTSHIFT_KAFKA_TOPIC_<EVENTS|BUNDLES|RCA|DEADLETTERS|CHECKPOINTS>,
 * NIGHTSHIFT_KAFKA_PARTITIONS_<RAW|EVENTS|BUNDLES|RCA>, and the TLS and SASL variables of applySecurityEnv. Throws
 * CONFIG_INVALID naming the bad field (never its value when the field is a password).
 */
export function kafkaConfig(section: unknown = {}, env: NodeJS.ProcessEnv = process.env): KafkaConfig {
  if (section !== undefined && section !== null && (typeof section !== 'object' || Array.isArray(section))) {
    throw new NightshiftError('CONFIG_INVALID', 'config kafka: must be an object');
  }
  const raw = { ...((section ?? {}) as Record<string, unknown>) };
  const brokers = env.NIGHTSHIFT_KAFKA_BROKERS;
  if (brokers) raw.brokers = brokers.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  if (env.NIGHTSHIFT_KAFKA_CLIENT_ID) raw.clientId = env.NIGHTSHIFT_KAFKA_CLIENT_ID;
  if (env.NIGHTSHIFT_KAFKA_GROUP_PREFIX) raw.groupPrefix = env.NIGHTSHIFT_KAFKA_GROUP_PREFIX;
  const topics = { ...((raw.topics ?? {}) as Record<string, unknown>) };
  for (const [k, e] of [['events', 'EVENTS'], ['bundles', 'BUNDLES'], ['rca', 'RCA'], ['deadLetters', 'DEADLETTERS'], ['checkpoints', 'CHECKPOINTS']] as const) {
    const v = env[`NIGHTSHIFT_KAFKA_TOPIC_${e}`];
    if (v) topics[k] = v;
  }
  raw.topics = topics;
  const parts = { ...((raw.partitions ?? {}) as Record<string, unknown>) };
  for (const [k, e] of [['raw', 'RAW'], ['events', 'EVENTS'], ['bundles', 'BUNDLES'], ['rca', 'RCA']] as const) {
    const v = intEnv(env, `NIGHTSHIFT_KAFKA_PARTITIONS_${e}`);
    if (v !== undefined) parts[k] = v;
  }
  raw.partitions = parts;
  applySecurityEnv(raw, env);
  const r = KafkaConfig.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `kafka.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new NightshiftError('CONFIG_INVALID', `config is invalid: ${msg}`);
  }
  return r.data;
}
