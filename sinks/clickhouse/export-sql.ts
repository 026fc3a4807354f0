import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ANALYST_QUERIES, analystSql } from './queries.js';
import { MIGRATIONS, withDb } from './schema.js';

/** The saved queries as .sql files for database `db` (deploy/clickhouse/ holds them for `nightshift`). */
export function savedQueryFiles(db = 'nightshift'): { name: string; text: string }[] {
  const files = ANALYST_QUERIES.map((q) => ({
    name: `${q.name}.sql`,
    text: `-- ${q.question}\n-- ${q.notes}\n-- Also available as the view ${db}.${q.view}. Runs on ClickHouse 18.16 and later.\n${analystSql(q, db)};\n`,
  }));
  const schema = MIGRATIONS.map(
    (m) => `-- migration ${m.version}: ${m.name}${m.minServer ? ` (server >= ${m.minServer.join('.')})` : ''}\n${m.statements.map((s) => `${withDb(s, db)};`).join('\n\n')}`,
  ).join('\n\n');
  files.push({ name: 'schema.sql', text: `-- Applied automatically at start (schema_migrations); for reference.\n${schema}\n` });
  return files;
}

// `node dist/sinks/clickhouse/export-sql.js [dir]` rewrites the files.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? 'deploy/clickhouse';
  mkdirSync(dir, { recursive: true });
  for (const f of savedQueryFiles()) writeFileSync(join(dir, f.name), f.text);
  process.stdout.write(`wrote ${ANALYST_QUERIES.length + 1} files to ${dir}\n`);
}
