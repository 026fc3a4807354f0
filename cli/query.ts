import { querySavedAnalytics } from '../sinks/clickhouse/analytics.js';
import { ANALYST_QUERIES } from '../sinks/clickhouse/queries.js';
import { UsageError, type CliIo } from './io.js';

export const QUERY_HELP = `nightshift query NAME

Runs a saved analyst query on the analytics store (NIGHTSHIFT_CLICKHOUSE_URL, or the embedded chdb store) and prints
the rows as NDJSON. Saved queries: ${ANALYST_QUERIES.map((q) => q.name).join(', ')}.`;

export async function queryCommand(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  // A saved query's name never starts with '-': such an argument is an option, and query takes none.
  const opt = argv.find((a) => a.startsWith('-'));
  if (opt !== undefined) throw new UsageError(`Unknown option '${opt}'`);
  if (!name || rest.length > 0) throw new UsageError(`query needs exactly one saved query name: ${ANALYST_QUERIES.map((q) => q.name).join(', ')}`);
  const rows = await querySavedAnalytics(process.env, name);
  for (const r of rows) io.stdout.write(`${JSON.stringify(r)}\n`);
  return 0;
}
