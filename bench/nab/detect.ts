/**
 * Running a streaming detector over the NAB corpus, one point at a time, and writing NAB-layout result files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AnomalyDetector } from '../../perception/anomaly/index.js';
import { resultPath, type NabCorpus, type NabFile } from './corpus.js';

export interface DetectionRun {
  /** anomaly_score per file, in corpus order. */
  readonly scores: Float64Array[];
  readonly points: number;
  /** Time inside the update loops only (no I/O, no scoring). */
  readonly updateNanos: number;
}

/** A fresh detector per file: every NAB series is learnt from scratch, as in the pipeline for a new series. */
export function runDetector(corpus: NabCorpus, make: () => AnomalyDetector): DetectionRun {
  const scores: Float64Array[] = [];
  let points = 0;
  let nanos = 0n;
  for (const f of corpus.files) {
    const d = make();
    const out = new Float64Array(f.values.length);
    const ts = f.timestamps;
    const vs = f.values;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < vs.length; i++) out[i] = d.update(ts[i] as number, vs[i] as number).score;
    nanos += process.hrtime.bigint() - t0;
    points += vs.length;
    scores.push(out);
  }
  return { scores, points, updateNanos: Number(nanos) };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Back to NAB's timestamp text (UTC). */
export function formatNabTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** One result file: timestamp,value,anomaly_score,label (label 1 inside a labelled window). */
export function resultCsv(f: NabFile, scores: ArrayLike<number>): string {
  const inWindow = new Uint8Array(f.values.length);
  for (const w of f.windows) inWindow.fill(1, w.start, w.end + 1);
  const lines = ['timestamp,value,anomaly_score,label'];
  for (let i = 0; i < f.values.length; i++) {
    lines.push(`${formatNabTime(f.timestamps[i] as number)},${f.values[i] as number},${scores[i] as number},${inWindow[i] as number}`);
  }
  return `${lines.join('\n')}\n`;
}

export function writeResults(resultsDir: string, detector: string, corpus: NabCorpus, scores: readonly ArrayLike<number>[]): void {
  corpus.files.forEach((f, i) => {
    const file = resultPath(resultsDir, detector, f.relPath);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, resultCsv(f, scores[i] as ArrayLike<number>));
  });
}
