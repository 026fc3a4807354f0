import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { NightshiftError } from '../../core/errors.js';
import type { ClickHouseTarget } from './config.js';

/**
 * The small surface the writer, the migrations and the analyst queries use. Both engines sit behind
 * `@clickhouse/client`: the old server over HTTP, and chdb (in-process) through the client's `connection` hook
 * (chdb/connection), so one code path serves both and a test can inject a fake.
 */
export interface ClickHouseLike {
  readonly engine: 'http' | 'chdb' | 'ndjson' | 'fake';
  /** JSONEachRow insert of rows already serialized as JSON objects (one string per row, no newline). */
  insertJsonRows(table: string, rows: readonly string[]): Promise<void>;
  /** DDL and other statements without a result. */
  command(sql: string): Promise<void>;
  /** A SELECT; rows as JSON objects. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

export interface ClientOptions {
  readonly requestTimeoutMs: number;
}

// Rows reach the client already serialized (the writer measured their bytes), so the client's JSON step passes
// strings through instead of stringifying a second time.
const passThroughJson = {
  parse: JSON.parse,
  stringify: (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v)),
};

class ClientAdapter implements ClickHouseLike {
  constructor(
    readonly engine: 'http' | 'chdb',
    private readonly client: ClickHouseClient,
    private readonly onClose?: () => Promise<void>,
  ) {}

  async insertJsonRows(table: string, rows: readonly string[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert<string>({ table, values: rows as string[], format: 'JSONEachRow' });
  }

  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql });
  }

  async query<T>(sql: string): Promise<T[]> {
    const rs = await this.client.query({ query: sql, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.onClose?.();
  }
}

export function createHttpClickHouse(target: Extract<ClickHouseTarget, { kind: 'http' }>, opts: ClientOptions): ClickHouseLike {
  const client = createClient({
    url: target.url,
    username: target.username,
    password: target.password,
    request_timeout: opts.requestTimeoutMs,
    application: 'nightshift',
    // Our writer classifies and logs failures once; the client's own error log would repeat every retry.
    log: { level: ClickHouseLogLevel.OFF },
    json: passThroughJson,
    // No clickhouse_settings on purpose: old servers (18.16) reject settings they do not know (UNKNOWN_SETTING).
  });
  return new ClientAdapter('http', client);
}

/** Shape of the part of `chdb/connection` we use (typed here so the module can be loaded lazily and optionally). */
interface ChdbConnectionModule {
  createChdbConnection(opts: { path: string }): unknown;
}

/**
 * chdb's in-process engine behind `@clickhouse/client`. Loaded lazily: chdb ships a ~500 MB native library as an
 * optional npm dependency, and a machine without it must still run (the caller falls back to NDJSON).
 */
export async function createChdbClickHouse(path: string): Promise<ClickHouseLike> {
  let mod: ChdbConnectionModule;
  try {
    mod = (await import('chdb/connection')) as unknown as ChdbConnectionModule;
  } catch (e) {
    throw new NightshiftError('CONFIG_INVALID', `chdb is not available (npm install chdb): ${(e as Error).message}`, { cause: e });
  }
  let connection: unknown;
  try {
    connection = mod.createChdbConnection({ path });
  } catch (e) {
    throw new NightshiftError('CONFIG_INVALID', `chdb could not open ${path}: ${(e as Error).message}`, { cause: e });
  }
  const client = createClient({
    // chdb's Connection implements @clickhouse/client-common's Connection interface; chdb depends on its own copy
    // of client-common, so the nominal types differ while the shapes agree.
    connection: connection as ClickHouseClientConfigOptions['connection'],
    log: { level: ClickHouseLogLevel.OFF },
    json: passThroughJson,
  });
  return new ClientAdapter('chdb', client);
}

export async function openClickHouse(target: ClickHouseTarget, opts: ClientOptions): Promise<ClickHouseLike> {
  return target.kind === 'http' ? createHttpClickHouse(target, opts) : createChdbClickHouse(target.path);
}

/** `SELECT version()` as numbers, e.g. 18.16.1 -> [18, 16, 1]. */
export async function serverVersion(ch: ClickHouseLike): Promise<{ text: string; parts: number[] }> {
  const rows = await ch.query<{ v: string }>('SELECT version() AS v');
  const text = String(rows[0]?.v ?? '');
  const parts = text.split('.').map((p) => Number.parseInt(p, 10));
  if (parts.length < 2 || parts.some((p) => !Number.isFinite(p))) throw new NightshiftError('INTERNAL', `unexpected server version ${JSON.stringify(text)}`);
  return { text, parts };
}

export function versionAtLeast(parts: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
