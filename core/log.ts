import { pino, type Logger } from 'pino';

/** Logs go to stderr so that stdout can carry the NDJSON output. */
export function createLogger(level: string = process.env.NIGHTSHIFT_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'nightshift' } }, pino.destination(2));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
