import { mkdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NightshiftError } from '../../core/errors.js';
import type { ClickHouseLike } from './client.js';

/**
 * The last-resort analytics store: one NDJSON file per table (`<dir>/<table>.ndjson`), in exactly the rows the
 * ClickHouse tables receive, so analysts can still use ClickHouse SQL on them later, e.g.
 *   clickhouse local -q "SELECT ... FROM file('incidents.ndjson', JSONEachRow)"
 * or load them into a server with `INSERT INTO nightshift.incidents FORMAT JSONEachRow`. It accepts inserts only:
 * no migrations, no queries. An append is acknowledged when the data is handed to the file system.
 */
export class NdjsonTableStore implements ClickHouseLike {
  readonly engine = 'ndjson' as const;

  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new NightshiftError('IO_ERROR', `cannot create ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }

  async insertJsonRows(table: string, rows: readonly string[]): Promise<void> {
    if (rows.length === 0) return;
    // `db.table` -> `table.ndjson`: one directory is one database.
    const name = table.includes('.') ? table.slice(table.lastIndexOf('.') + 1) : table;
    try {
      await appendFile(join(this.dir, `${name}.ndjson`), `${rows.join('\n')}\n`, 'utf8');
    } catch (e) {
      throw new NightshiftError('IO_ERROR', `append to ${name}.ndjson failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async command(): Promise<void> {}

  query<T>(): Promise<T[]> {
    return Promise.reject(new NightshiftError('CONFIG_INVALID', 'the NDJSON store answers no queries: use clickhouse local on its files'));
  }

  async close(): Promise<void> {}
}
