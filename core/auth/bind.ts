import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { NightshiftError } from '../errors.js';

/** The CLI's default bind address: reachable from the machine only, until someone chooses otherwise. */
export const LOOPBACK = '127.0.0.1';

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An IP address or host name to bind, or CONFIG_INVALID naming where it came from. */
export function checkHost(host: string, from: string): string {
  const h = host.trim();
  if (isIP(h) === 0 && !HOSTNAME_RE.test(h)) throw new NightshiftError('CONFIG_INVALID', `${from} must be an IP address or host name, got ${JSON.stringify(host)}`);
  return h;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::ffff:127.0.0.1';
}

export interface Listener {
  readonly what: string;
  readonly host: string;
  readonly port: number;
}

/** One warning at start when something listens beyond loopback and anyone who reaches it may use it. */
export function warnIfExposed(log: Logger, listeners: readonly Listener[], tokens: boolean): void {
  const exposed = listeners.filter((l) => !isLoopback(l.host));
  if (tokens || exposed.length === 0) return;
  log.warn(
    { event: 'unauthenticated_listener', listeners: exposed.map((l) => `${l.what} ${l.host}:${l.port}`) },
    'listening beyond loopback without bearer tokens: anyone who reaches these ports can write and read metrics; set --tokens (NIGHTSHIFT_TOKENS_FILE)',
  );
}
