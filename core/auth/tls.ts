import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttp, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import { NightshiftError } from '../errors.js';
import { Poller } from './poll.js';
import { DEFAULT_RELOAD_MS } from './store.js';

/**
 * TLS for a listener: a certificate and key (PEM), and optionally a CA whose client certificates are required
 * (mTLS: a client without one is refused during the handshake). The files are re-read every reloadMs, so a
 * certificate renewed by cert-manager or a mounted Secret takes effect without a restart; a bad renewal keeps the
 * previous certificate and is logged.
 */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly clientCa?: string;
}

export type AnyServer = HttpServer | HttpsServer;

export interface Served {
  readonly server: AnyServer;
  readonly scheme: 'http' | 'https';
  /** Stops re-reading the TLS files. */
  stopWatching(): Promise<void>;
}

interface Material {
  readonly opts: SecureContextOptions;
  readonly print: string;
}

async function readMaterial(files: TlsFiles): Promise<Material> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new NightshiftError('CONFIG_INVALID', `TLS ${what} ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const cert = await read(files.cert, 'certificate');
  const key = await read(files.key, 'key');
  const ca = files.clientCa ? await read(files.clientCa, 'client CA') : undefined;
  const opts: SecureContextOptions = { cert, key, minVersion: 'TLSv1.2', ...(ca ? { ca } : {}) };
  try {
    // Fails here, at start, on a key that does not match the certificate or a file that is not PEM.
    createSecureContext(opts);
  } catch (e) {
    throw new NightshiftError('CONFIG_INVALID', `TLS files ${files.cert} / ${files.key}${files.clientCa ? ` / ${files.clientCa}` : ''} are not usable: ${(e as Error).message}`);
  }
  const print = createHash('sha256').update(cert).update('\0').update(key).update('\0').update(ca ?? '').digest('hex');
  return { opts, print };
}

/** Reads and checks the files, for a command that wants to fail on them before it connects to anything. */
export async function checkTlsFiles(files: TlsFiles): Promise<void> {
  await readMaterial(files);
}

export interface ServeOptions {
  readonly log?: Logger;
  /** How often the TLS files are re-read (default 5 s). */
  readonly reloadMs?: number;
  /** Told of each reload that changed the certificate or failed (tests await it). */
  readonly onReload?: (outcome: 'changed' | 'failed') => void;
}

/** A plain HTTP server, or HTTPS (with client certificates required when a client CA is given). */
export async function createServer(handler: RequestListener, tls: TlsFiles | undefined, serve: ServeOptions = {}): Promise<Served> {
  const { log, reloadMs = DEFAULT_RELOAD_MS, onReload } = serve;
  if (!tls) return { server: createHttp(handler), scheme: 'http', stopWatching: async () => undefined };
  let current = await readMaterial(tls);
  const mtls = tls.clientCa !== undefined;
  const server = createHttps({ ...current.opts, requestCert: mtls, rejectUnauthorized: mtls }, handler);
  let lastError: string | null = null;
  const poller = new Poller(reloadMs, async () => {
    try {
      const next = await readMaterial(tls);
      if (next.print === current.print) {
        lastError = null;
        return;
      }
      server.setSecureContext(next.opts);
      current = next;
      lastError = null;
      log?.info({ event: 'tls_reloaded', cert: tls.cert }, 'reloaded the TLS certificate');
      onReload?.('changed');
    } catch (e) {
      const msg = (e as Error).message;
      // Once per distinct error, as for tokens: files that stay bad must not log every poll.
      if (msg === lastError) return;
      lastError = msg;
      log?.error({ event: 'tls_reload_failed', cert: tls.cert, err: msg }, 'TLS reload failed; keeping the previous certificate');
      onReload?.('failed');
    }
  });
  return { server, scheme: 'https', stopWatching: () => poller.stop() };
}
