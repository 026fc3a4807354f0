import { createHash } from 'node:crypto';
import { NightshiftError } from '../../core/errors.js';
import { serverVersion, versionAtLeast, type ClickHouseLike } from './client.js';
import { toClickHouseNightshiftError } from './errors.js';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL, withDb, type Migration } from './schema.js';

export interface MigrationReport {
  readonly server: string;
  /** Versions applied by this call. */
  readonly applied: readonly number[];
  /** Versions already recorded before this call. */
  readonly alreadyApplied: readonly number[];
  /** Versions gated out on this server (applied after an upgrade). */
  readonly skipped: readonly number[];
}

/** Checksum of a migration's text (with `{db}`, so it does not depend on the database name). */
export function migrationChecksum(m: Migration): string {
  const h = createHash('sha1');
  h.update(m.name);
  for (const s of m.statements) {
    h.update('\u0000');
    h.update(s);
  }
  return h.digest('hex').slice(0, 16);
}

async function run(ch: ClickHouseLike, sql: string, what: string): Promise<void> {
  try {
    await ch.command(sql);
  } catch (e) {
    throw toClickHouseNightshiftError(e, what);
  }
}

/**
 * Creates the database and applies the migrations not yet recorded in `schema_migrations`, in order. Safe to run
 * twice, and safe if two processes start at once: statements are idempotent and the record table collapses
 * duplicates. A recorded migration whose text has changed since is an error (add a new migration instead).
 */
export async function migrate(ch: ClickHouseLike, db: string, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw new NightshiftError('CONFIG_INVALID', `invalid database name ${JSON.stringify(db)}`);
  let server: { text: string; parts: number[] };
  try {
    server = await serverVersion(ch);
  } catch (e) {
    throw toClickHouseNightshiftError(e, 'ClickHouse did not answer SELECT version()');
  }
  await run(ch, `CREATE DATABASE IF NOT EXISTS ${db}`, `create database ${db}`);
  await run(ch, withDb(MIGRATIONS_TABLE_SQL, db), 'create schema_migrations');
  let rows: { version: number | string; checksum: string }[];
  try {
    rows = await ch.query<{ version: number | string; checksum: string }>(`SELECT version, any(checksum) AS checksum FROM ${db}.schema_migrations GROUP BY version`);
  } catch (e) {
    throw toClickHouseNightshiftError(e, 'read schema_migrations');
  }
  const recorded = new Map(rows.map((r) => [Number(r.version), r.checksum]));
  const applied: number[] = [];
  const already: number[] = [];
  const skipped: number[] = [];
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (const m of sorted) {
    const sum = migrationChecksum(m);
    const prev = recorded.get(m.version);
    if (prev !== undefined) {
      if (prev !== sum) {
        throw new NightshiftError(
          'SCHEMA_MISMATCH',
          `migration ${m.version} (${m.name}) was applied with checksum ${prev} but the code now has ${sum}: never edit an applied migration, add a new one`,
        );
      }
      already.push(m.version);
      continue;
    }
    if (m.minServer && !versionAtLeast(server.parts, m.minServer)) {
      skipped.push(m.version);
      continue;
    }
    for (const [i, s] of m.statements.entries()) await run(ch, withDb(s, db), `migration ${m.version} (${m.name}) statement ${i + 1}`);
    const esc = (v: string): string => v.replaceAll('\\', '\\\\').replaceAll("'", "\\'");
    await run(
      ch,
      `INSERT INTO ${db}.schema_migrations (version, name, checksum, server_version) VALUES (${m.version}, '${esc(m.name)}', '${sum}', '${esc(server.text)}')`,
      `record migration ${m.version}`,
    );
    applied.push(m.version);
  }
  return { server: server.text, applied, alreadyApplied: already, skipped };
}
