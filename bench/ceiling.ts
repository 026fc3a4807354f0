/**
 * The read+parse ceiling of a replay file: read it, split it on newlines, JSON.parse each line and its payload
 * (when the payload is a JSON object), nothing else. No pipeline can replay the file faster than this on the same
 * machine, so throughput benchmarks report their figure as a ratio to it, measured on the same file in the same run.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface Ceiling {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly cpu_seconds: number;
  readonly records_per_second: number;
  readonly mb_per_second: number;
}

export async function parseCeiling(file: string): Promise<Ceiling> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let records = 0;
  let rest = '';
  // Consumed so the parse cannot be optimised away.
  let sink = 0;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const take = (line: string): void => {
    if (line.length === 0) return;
    const r = JSON.parse(line) as { payload?: unknown };
    records++;
    const p = r.payload;
    // Payloads that are JSON objects (OTLP, webhooks, JSON log lines), as ingest tells them apart: by a leading '{'.
    // Raw text log lines ("[2026-03-16 06:00:02] INFO ...") are not parsed, as ingest does not parse them.
    if (typeof p === 'string' && p.charCodeAt(0) === 0x7b) {
      try {
        if (JSON.parse(p) !== null) sink++;
      } catch {
        // A bad JSON payload is a dead letter in the pipeline; here it is one record read.
      }
    }
  };
  for await (const chunk of stream as AsyncIterable<string>) {
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl >= 0 && rest.length > 0) {
      take(rest + chunk.slice(0, nl));
      rest = '';
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    while (nl >= 0) {
      take(chunk.slice(start, nl));
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    rest += chunk.slice(start);
  }
  take(rest);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const bytes = (await stat(file)).size;
  if (sink < 0) throw new Error('unreachable');
  return {
    records,
    bytes,
    seconds: round(seconds, 2),
    cpu_seconds: round((cu.user + cu.system) / 1e6, 2),
    records_per_second: Math.round(records / seconds),
    mb_per_second: round(bytes / 2 ** 20 / seconds, 1),
  };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
