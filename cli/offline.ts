import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { decompressed } from '../core/replay.js';
import { readLines } from '../core/lines.js';
import { createDetector } from '../perception/anomaly/index.js';
import { MetricsConfig } from '../perception/config.js';
import { TemplateMiner } from '../perception/templates/index.js';
import { finalTemplates } from '../perception/templates/final.js';
import type { MatchResult } from '../perception/templates/miner.js';
import { UsageError, type CliIo } from './io.js';

/** Longest input line taken whole; longer ones are cut (a log line of megabytes is a bug, not a template). */
const MAX_LINE = 1 << 20;

export const TEMPLATES_HELP = `nightshift templates [--in FILE]

Mines log templates from raw lines (FILE, gzipped or not, or stdin) with the pipeline's miner and default settings,
then prints one JSON line per input line, in order: {"line", "template_id", "template"}, where template is the FINAL
template of the line's cluster (what Drain3 and Loghub's evaluator report).`;

export const DETECT_HELP = `nightshift detect [--in FILE]

Scores a NAB-style CSV (header "timestamp,value"; FILE or stdin) with the pipeline's metric detector and its default
settings, and prints CSV "timestamp,value,anomaly_score" (score in [0, 1], 0 during warm-up).`;

/** Both commands take only --in; --help is answered by the dispatcher (cli/main.ts) before they run. */
export const OFFLINE_OPTIONS = { in: { type: 'string' } } as const;

function input(path: string | undefined): Readable {
  return path === undefined || path === '-' ? process.stdin : createReadStream(path);
}

async function* lines(path: string | undefined): AsyncGenerator<string> {
  const stream = await decompressed(input(path));
  for await (const l of readLines(stream, MAX_LINE)) yield l.kind === 'line' ? l.text : l.head;
}

export async function templatesCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OFFLINE_OPTIONS, strict: true });
  // Two passes: a line's final template is known only once every later line of its cluster was seen.
  const miner = new TemplateMiner();
  const texts: string[] = [];
  const results: MatchResult[] = [];
  for await (const l of lines(values.in)) {
    texts.push(l);
    results.push(miner.add(l));
  }
  const finals = finalTemplates(results);
  for (let i = 0; i < texts.length; i++) {
    const f = finals[i]!;
    const ok = io.stdout.write(`${JSON.stringify({ line: texts[i], template_id: f.template_id, template: f.template })}\n`);
    if (!ok) await new Promise((r) => io.stdout.once('drain', r));
  }
  return 0;
}

/** NAB timestamps ("2014-07-01 00:00:00") are naive and read as UTC; ISO strings with a zone and epoch ms also work. */
function parseTime(s: string, line: number): number {
  const t = s.trim();
  if (/^\d{10,}$/.test(t)) return Number(t);
  const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t) ? `${t.replace(' ', 'T')}Z` : t;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new UsageError(`line ${line}: not a timestamp: ${JSON.stringify(t.slice(0, 40))}`);
  return ms;
}

export async function detectCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OFFLINE_OPTIONS, strict: true });
  const detector = createDetector(MetricsConfig.parse({}).detector);
  let n = 0;
  let ti = 0;
  let vi = 1;
  for await (const raw of lines(values.in)) {
    n++;
    if (raw.trim() === '') continue;
    const cells = raw.split(',');
    if (n === 1) {
      const h = cells.map((c) => c.trim().toLowerCase());
      ti = h.indexOf('timestamp');
      vi = h.indexOf('value');
      if (ti < 0 || vi < 0) throw new UsageError('detect needs a CSV header with "timestamp" and "value" columns');
      io.stdout.write('timestamp,value,anomaly_score\n');
      continue;
    }
    const ts = parseTime(cells[ti] ?? '', n);
    const value = Number(cells[vi]);
    if (!Number.isFinite(value)) throw new UsageError(`line ${n}: value ${JSON.stringify((cells[vi] ?? '').slice(0, 40))} is not a number`);
    const r = detector.update(ts, value);
    const ok = io.stdout.write(`${(cells[ti] ?? '').trim()},${cells[vi]?.trim()},${r.score}\n`);
    if (!ok) await new Promise((res) => io.stdout.once('drain', res));
  }
  return 0;
}
