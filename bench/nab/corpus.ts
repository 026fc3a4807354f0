/**
 * Reading the NAB corpus (data, label windows, profiles) and NAB-layout result files. The corpus stays where it is
 * (never copied into the repo): ../shared/data/nab from the repo root, or NIGHTSHIFT_NAB_DIR.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CostMatrix, WindowSpan } from './sweeper.js';

export interface NabFile {
  /** Path under data/, e.g. realKnownCause/nyc_taxi.csv (the key in combined_windows.json). */
  readonly relPath: string;
  /** Epoch milliseconds, UTC. */
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly windows: readonly WindowSpan[];
}

export interface NabCorpus {
  readonly dir: string;
  /** Sorted by relPath, so every run sees the files in the same order. */
  readonly files: readonly NabFile[];
  readonly profiles: Readonly<Record<string, CostMatrix>>;
  /** Windows in the labels file: the perfect detector scores this many true positives. */
  readonly windowCount: number;
}

/** The repo root: the nearest folder above `from` holding package.json (works from the sources and from dist/). */
export function repoRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let k = 0; k < 32; k++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`no package.json above ${from}`);
}

export function resolveNabDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.NIGHTSHIFT_NAB_DIR;
  return override !== undefined && override !== '' ? path.resolve(override) : path.resolve(repoRoot(), '..', 'shared', 'data', 'nab');
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** NAB timestamps ("2014-07-01 00:00:00", windows with ".000000") are naive; they are read as UTC. */
export function parseNabTime(s: string): number {
  const m = TIME.exec(s.trim());
  if (!m) throw new Error(`not a NAB timestamp: ${JSON.stringify(s)}`);
  const [, y, mo, d, h, mi, se, frac] = m;
  const ms = frac !== undefined ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se), ms);
}

/** A small CSV table: header names and rows of cells (NAB files have no quoted cells). */
export function parseCsv(text: string, source: string): { header: string[]; rows: string[][] } {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const head = lines[0];
  if (head === undefined) throw new Error(`${source}: empty CSV`);
  const header = head.split(',').map((h) => h.trim());
  const rows = lines.slice(1).map((l, i) => {
    const cells = l.split(',');
    if (cells.length !== header.length) throw new Error(`${source}: row ${i + 2} has ${cells.length} cells, header has ${header.length}`);
    return cells;
  });
  return { header, rows };
}

function column(header: readonly string[], name: string, source: string): number {
  const k = header.indexOf(name);
  if (k < 0) throw new Error(`${source}: no column ${name} (has ${header.join(',')})`);
  return k;
}

function number(cell: string | undefined, source: string, row: number): number {
  const x = Number(cell);
  if (cell === undefined || cell.trim() === '' || !Number.isFinite(x)) throw new Error(`${source}: row ${row + 2}: not a number: ${JSON.stringify(cell)}`);
  return x;
}

/** Window limits (timestamps) to inclusive row spans: the rows with t1 <= ts <= t2, as NAB's labeler takes them. */
export function windowSpans(timestamps: Float64Array, limits: readonly (readonly [number, number])[], source: string): WindowSpan[] {
  return limits.map(([t1, t2]) => {
    let start = -1;
    let end = -1;
    for (let i = 0; i < timestamps.length; i++) {
      const t = timestamps[i] as number;
      if (t >= t1 && t <= t2) {
        if (start < 0) start = i;
        end = i;
      }
    }
    if (start < 0) throw new Error(`${source}: window [${new Date(t1).toISOString()}, ${new Date(t2).toISOString()}] holds no rows`);
    return { start, end };
  });
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

function readProfiles(file: string): Record<string, CostMatrix> {
  const raw = readJson(file);
  const out: Record<string, CostMatrix> = {};
  if (typeof raw !== 'object' || raw === null) throw new Error(`${file}: not an object`);
  for (const [name, p] of Object.entries(raw)) {
    const cm = (p as { CostMatrix?: Record<string, unknown> }).CostMatrix;
    const w = (k: string): number => {
      const v = cm?.[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${file}: profile ${name}: ${k} is not a number`);
      return v;
    };
    out[name] = { tpWeight: w('tpWeight'), fpWeight: w('fpWeight'), fnWeight: w('fnWeight'), tnWeight: w('tnWeight') };
  }
  return out;
}

export function loadCorpus(dir = resolveNabDir()): NabCorpus {
  const labelsFile = path.join(dir, 'labels', 'combined_windows.json');
  if (!existsSync(labelsFile)) {
    throw new Error(`NAB corpus not found: ${labelsFile} is missing (set NIGHTSHIFT_NAB_DIR to the NAB folder holding data/, labels/, config/)`);
  }
  const labels = readJson(labelsFile);
  if (typeof labels !== 'object' || labels === null) throw new Error(`${labelsFile}: not an object`);
  const files: NabFile[] = [];
  let windowCount = 0;
  for (const relPath of Object.keys(labels).sort()) {
    const limitsRaw = (labels as Record<string, unknown>)[relPath];
    if (!Array.isArray(limitsRaw)) throw new Error(`${labelsFile}: ${relPath}: windows are not a list`);
    const limits = limitsRaw.map((pair: unknown): [number, number] => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new Error(`${labelsFile}: ${relPath}: window is not a pair`);
      return [parseNabTime(String(pair[0])), parseNabTime(String(pair[1]))];
    });
    windowCount += limits.length;
    const source = path.join(dir, 'data', relPath);
    const { header, rows } = parseCsv(readFileSync(source, 'utf8'), source);
    const ct = column(header, 'timestamp', source);
    const cv = column(header, 'value', source);
    const timestamps = new Float64Array(rows.length);
    const values = new Float64Array(rows.length);
    rows.forEach((r, i) => {
      timestamps[i] = parseNabTime(r[ct] ?? '');
      values[i] = number(r[cv], source, i);
    });
    files.push({ relPath, timestamps, values, windows: windowSpans(timestamps, limits, relPath) });
  }
  return { dir, files, profiles: readProfiles(path.join(dir, 'config', 'profiles.json')), windowCount };
}

/** NAB's results layout: <results>/<detector>/<category>/<detector>_<file>. */
export function resultPath(resultsDir: string, detector: string, relPath: string): string {
  return path.join(resultsDir, detector, path.dirname(relPath), `${detector}_${path.basename(relPath)}`);
}

/** The anomaly_score column of a result file, checked against the data file's row count. */
export function readResultScores(file: string, rows: number): Float64Array {
  const { header, rows: cells } = parseCsv(readFileSync(file, 'utf8'), file);
  if (cells.length !== rows) throw new Error(`${file}: ${cells.length} rows, the data file has ${rows}`);
  const ca = column(header, 'anomaly_score', file);
  const out = new Float64Array(rows);
  cells.forEach((r, i) => {
    out[i] = number(r[ca], file, i);
  });
  return out;
}

/** Published normalized scores (results/final_results.json), if the corpus ships them. */
export function readFinalResults(dir: string): Record<string, Record<string, number>> | null {
  const file = path.join(dir, 'results', 'final_results.json');
  if (!existsSync(file)) return null;
  return readJson(file) as Record<string, Record<string, number>>;
}
