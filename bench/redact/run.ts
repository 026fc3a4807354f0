/**
 * `npm run bench:redact`: what secret redaction at ingest costs, against the template miner on the same lines in the
 * same run (the per-line work every log record already pays), and how much of ordinary text it takes (redactions
 * per 1,000 lines of real logs that hold no planted secret: over-redaction).
 *
 * Lines: the ten Loghub-2k systems (../shared/data/loghub-2k) and log messages of one Nezha day (read in place).
 * Timing: the median of 5 passes over all lines after 1 warm-up pass; each pass a fresh miner, one scanner.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { SecretScanner } from '../../core/redact/index.js';
import { TemplateMiner } from '../../perception/templates/index.js';
import { loadLoghub, loghubDir, repoRoot } from '../templates/loghub.js';

const PASSES = 5;
const MAX_NEZHA_LINES = 100_000;

function nezhaMessages(root: string): string[] {
  const file = path.resolve(root, '..', 'shared', 'data', 'nezha-ob', 'hipster-2022-08-22', 'replay.ndjson.gz');
  const out: string[] = [];
  for (const line of gunzipSync(readFileSync(file)).toString('utf8').split('\n')) {
    if (out.length >= MAX_NEZHA_LINES) break;
    if (!line.startsWith('{"topic":"logs"')) continue;
    const rec = JSON.parse(line) as { payload: string };
    const p = JSON.parse(rec.payload) as { message?: unknown };
    if (typeof p.message === 'string') out.push(p.message);
  }
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function time(f: () => void): number {
  const passes: number[] = [];
  f();
  for (let i = 0; i < PASSES; i++) {
    const t0 = process.hrtime.bigint();
    f();
    passes.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(passes);
}

const root = repoRoot(path.dirname(fileURLToPath(import.meta.url)));
const sets: { name: string; lines: string[] }[] = [
  { name: 'loghub-2k (10 systems)', lines: loadLoghub(loghubDir(root)).flatMap((s) => s.lines) },
  { name: 'nezha 2022-08-22 log messages', lines: nezhaMessages(root) },
];
const rows: Record<string, unknown>[] = [];
const out: string[] = [
  '# npm run bench:redact',
  `# ${os.cpus().length} x ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; median of ${PASSES} passes after a warm-up`,
  'lines                            n   redact us/line  miner us/line  redact/miner  lines changed  redactions/1k lines',
];
for (const set of sets) {
  const counting = new SecretScanner();
  let changed = 0;
  for (const l of set.lines) if (counting.redact(l) !== l) changed++;
  const redactions = [...counting.counts.values()].reduce((a, b) => a + b, 0);
  const scanner = new SecretScanner();
  const tRedact = time(() => {
    for (const l of set.lines) scanner.redact(l);
  });
  const tMiner = time(() => {
    const m = new TemplateMiner();
    for (const l of set.lines) m.add(l);
  });
  const us = (t: number): number => (t * 1e6) / set.lines.length;
  const row = {
    lines: set.name,
    n: set.lines.length,
    redact_us_per_line: us(tRedact),
    miner_us_per_line: us(tMiner),
    ratio: tRedact / tMiner,
    lines_changed: changed,
    redactions_per_1k: (redactions * 1000) / set.lines.length,
    by_rule: Object.fromEntries(counting.counts),
  };
  rows.push(row);
  out.push(
    `${set.name.padEnd(30)} ${String(row.n).padStart(7)}  ${row.redact_us_per_line.toFixed(2).padStart(14)}  ${row.miner_us_per_line.toFixed(2).padStart(13)}  ${row.ratio.toFixed(2).padStart(12)}  ${String(changed).padStart(13)}  ${row.redactions_per_1k.toFixed(2).padStart(19)}  ${JSON.stringify(row.by_rule)}`,
  );
}
process.stdout.write(`${out.join('\n')}\n`);
const json = process.argv[2];
if (json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(json, `${JSON.stringify({ command: 'npm run bench:redact', node: process.version, cpus: os.cpus().length, rows }, null, 2)}\n`);
}
