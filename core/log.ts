import { pino, type Logger } from 'pino';

/**
 * Fields no log line may carry, whatever object reaches the logger (a config, kafkajs options): a Kafka SASL
 * password, a TLS key passphrase. Defence in depth: nightshift never logs them on purpose.
 */
export const REDACTED_LOG_PATHS = ['password', 'passphrase', '*.password', '*.passphrase', '*.*.password', '*.*.passphrase'];

/** Logs go to stderr so that stdout can carry the NDJSON output. */
export function createLogger(level: string = process.env.NIGHTSHIFT_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'nightshift' }, redact: { paths: REDACTED_LOG_PATHS, censor: '<redacted>' } }, pino.destination(2));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
