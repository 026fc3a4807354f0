/**
 * Reads the Loghub-2k benchmark (corrected ground truth) from outside the repository: the data is never copied in.
 * Location: NIGHTSHIFT_LOGHUB_DIR, else `../shared/data/loghub-2k` relative to the repository root.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface LoghubSystem {
  readonly name: string;
  readonly file: string;
  /** The `Content` column: the message after the header fields, what a parser sees. */
  readonly lines: readonly string[];
  /** The corrected `EventTemplate` column. */
  readonly templates: readonly string[];
}

/** Bound on one CSV file: the 2k files are ~0.5 MB; anything far larger is not the benchmark. */
const MAX_CSV_BYTES = 64 * 1024 * 1024;

/**
 * RFC 4180 CSV: fields separated by commas, optionally quoted with `"`, a quote inside a quoted field doubled,
 * newlines allowed inside quotes. Throws on an unterminated quote.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  const n = text.length;
  let atFieldStart = true;
  while (i < n) {
    const c = text[i] as string;
    if (atFieldStart && c === '"') {
      // Quoted field: read to the closing quote.
      i++;
      for (;;) {
        if (i >= n) throw new SyntaxError('CSV: unterminated quoted field');
        const q = text[i] as string;
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += q;
        i++;
      }
      atFieldStart = false;
      continue;
    }
    if (c === ',') {
      row.push(field);
      field = '';
      atFieldStart = true;
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      atFieldStart = true;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      atFieldStart = false;
      i++;
    }
  }
  if (!atFieldStart || field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Walks up from `from` to the directory holding this project's package.json. */
export function repoRoot(from: string): string {
  let dir = from;
  for (let k = 0; k < 10; k++) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'nightshift') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cannot find the nightshift repository root above ${from}`);
}

export function loghubDir(root: string): string {
  const env = process.env.NIGHTSHIFT_LOGHUB_DIR;
  return env !== undefined && env !== '' ? path.resolve(env) : path.resolve(root, '..', 'shared', 'data', 'loghub-2k');
}

export function loadSystem(dir: string, name: string): LoghubSystem {
  const file = path.join(dir, name, `${name}_2k.log_structured_corrected.csv`);
  const size = statSync(file).size;
  if (size > MAX_CSV_BYTES) throw new Error(`${file}: ${size} bytes, over the ${MAX_CSV_BYTES} byte bound`);
  const rows = parseCsv(readFileSync(file, 'utf8'));
  const header = rows[0];
  if (header === undefined) throw new Error(`${file}: empty`);
  const ci = header.indexOf('Content');
  const ti = header.indexOf('EventTemplate');
  if (ci < 0 || ti < 0) throw new Error(`${file}: no Content or EventTemplate column`);
  const lines: string[] = [];
  const templates: string[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r] as string[];
    if (row.length === 1 && row[0] === '') continue; // a trailing blank line
    if (row.length !== header.length) throw new Error(`${file}: row ${r} has ${row.length} fields, header ${header.length}`);
    const t = row[ti] as string;
    // Loghub-2.0's evaluator drops messages without a truth template; the 2k corrected files have none.
    if (t.trim() === '') continue;
    lines.push(row[ci] as string);
    templates.push(t);
  }
  return { name, file, lines, templates };
}

/** Every system directory that holds a corrected structured CSV, sorted by name. */
export function loadLoghub(dir: string): LoghubSystem[] {
  if (!existsSync(dir)) {
    throw new Error(`Loghub-2k not found at ${dir} (set NIGHTSHIFT_LOGHUB_DIR to the folder holding <System>/<System>_2k.log_structured_corrected.csv)`);
  }
  const names = readdirSync(dir)
    .filter((n) => existsSync(path.join(dir, n, `${n}_2k.log_structured_corrected.csv`)))
    .sort();
  if (names.length === 0) throw new Error(`no <System>/<System>_2k.log_structured_corrected.csv under ${dir}`);
  return names.map((n) => loadSystem(dir, n));
}
