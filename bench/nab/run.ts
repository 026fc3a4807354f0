/**
 * bench:nab — nightshift's streaming anomaly detector on the NAB corpus (58 series, one point at a time), scored with
 * NAB's rules (bench/nab/sweeper.ts), next to the Numenta HTM results shipped with the corpus (re-scored here, the
 * check on the scorer) and the published scoreboard (results/final_results.json).
 * Writes NAB-layout result files (timestamp,value,anomaly_score,label) under --results-dir (default: a temp folder;
 * they are ~15 MB per detector) and the summary to bench/results/nab.json.
 * Usage: node dist/bench/nab/run.js [--results-dir DIR] [--json FILE] [--passes N]
 * Bounded: 58 files, N (<= 10) timing passes over them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDetector, DETECTOR_PRESETS, DetectorConfig } from '../../perception/anomaly/index.js';
import { MetricsConfig } from '../../perception/config.js';
import { loadCorpus, readFinalResults, readResultScores, repoRoot, resolveNabDir, resultPath } from './corpus.js';
import { runDetector, writeResults } from './detect.js';
import { CorpusScorer, type Optimizer, type ProfileResult } from './score.js';

interface Args {
  resultsDir: string;
  json: string;
  passes: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    resultsDir: path.join(os.tmpdir(), 'nightshift-nab-results'),
    json: path.join(repoRoot(), 'bench', 'results', 'nab.json'),
    passes: 3,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--results-dir' && v !== undefined) args.resultsDir = path.resolve(v);
    else if (a === '--json' && v !== undefined) args.json = path.resolve(v);
    else if (a === '--passes' && v !== undefined && /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 10) args.passes = Number(v);
    else throw new Error(`unknown or incomplete argument ${a ?? ''} (use --results-dir DIR, --json FILE, --passes 1..10)`);
    i++;
  }
  return args;
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

interface Variant {
  /** Results-folder name (NAB layout: one folder per detector). */
  readonly name: string;
  readonly label: string;
  readonly config: Partial<DetectorConfig>;
}

/**
 * The detector's own defaults, the 'nab' preset, and the settings perception actually gives its metric detectors
 * (perception/config.ts may override the defaults, e.g. the season; direction stays 'both' here: NAB has no units).
 */
const VARIANTS: readonly Variant[] = [
  { name: 'nightshift', label: 'nightshift (detector defaults)', config: {} },
  { name: 'nightshiftNab', label: "nightshift preset 'nab'", config: DETECTOR_PRESETS.nab },
  { name: 'nightshiftPerception', label: 'nightshift as perception configures it', config: { ...MetricsConfig.parse({}).detector, direction: 'both' } },
];

function profileSummary(r: ProfileResult): Record<string, number> {
  const c = r.files.reduce((a, f) => ({ tp: a.tp + f.tp, fp: a.fp + f.fp, fn: a.fn + f.fn, tn: a.tn + f.tn }), { tp: 0, fp: 0, fn: 0, tn: 0 });
  return { score: round(r.normalized, 3), threshold: round(r.threshold, 6), raw: round(r.raw, 4), null: r.nullScore, perfect: r.perfect, ...c };
}

function scoreBoth(scorer: CorpusScorer, scores: readonly Float64Array[]): Record<Optimizer, ProfileResult[]> {
  return { twiddle: scorer.scoreAll(scores, 'twiddle'), sweep: scorer.scoreAll(scores, 'sweep') };
}

function byProfile(rs: readonly ProfileResult[]): Record<string, Record<string, number>> {
  return Object.fromEntries(rs.map((r) => [r.profile, profileSummary(r)]));
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const dir = resolveNabDir();
  const corpus = loadCorpus(dir);
  const scorer = new CorpusScorer(corpus);
  const profiles = scorer.profiles();
  const points = corpus.files.reduce((a, f) => a + f.values.length, 0);

  const rows: { label: string; scores: Record<string, number>; usPerPoint?: number }[] = [];
  const detectors: Record<string, unknown> = {};
  for (const v of VARIANTS) {
    const make = () => createDetector(v.config);
    const first = runDetector(corpus, make);
    const times = [first.updateNanos];
    for (let p = 1; p < args.passes; p++) times.push(runDetector(corpus, make).updateNanos);
    times.sort((a, b) => a - b);
    const usPerPoint = (times[Math.floor(times.length / 2)] as number) / points / 1000;
    writeResults(args.resultsDir, v.name, corpus, first.scores);
    const res = scoreBoth(scorer, first.scores);
    const standardSweep = res.sweep.find((r) => r.profile === 'standard');
    rows.push({ label: v.label, scores: Object.fromEntries(res.twiddle.map((r) => [r.profile, r.normalized])), usPerPoint });
    detectors[v.name] = {
      label: v.label,
      config: DetectorConfig.parse(v.config),
      us_per_point: round(usPerPoint, 3),
      us_per_point_passes: times.map((t) => round(t / points / 1000, 3)),
      twiddle: byProfile(res.twiddle),
      sweep: byProfile(res.sweep),
      files_standard_sweep: standardSweep?.files.map((f) => ({ file: f.relPath, score: round(f.score, 4), tp: f.tp, fp: f.fp, fn: f.fn })),
    };
  }

  // The Numenta HTM detector's shipped results, re-scored: the check that this scorer is NAB's.
  const numentaScores = corpus.files.map((f) => readResultScores(resultPath(path.join(dir, 'results'), 'numenta', f.relPath), f.values.length));
  const numenta = scoreBoth(scorer, numentaScores);
  rows.push({ label: 'numenta HTM (shipped results, scored here)', scores: Object.fromEntries(numenta.twiddle.map((r) => [r.profile, r.normalized])) });
  const published = readFinalResults(dir);
  const shown = ['ARTime', 'numenta', 'contextOSE', 'earthgeckoSkyline', 'knncad', 'windowedGaussian'];
  for (const name of shown) {
    const p = published?.[name];
    if (p !== undefined) rows.push({ label: `published: ${name}`, scores: p });
  }

  const head = ['detector'.padEnd(44), ...profiles.map((p) => p.padStart(19)), 'us/point'.padStart(10)].join('');
  const lines = [
    `NAB corpus ${dir}: ${corpus.files.length} files, ${points} points, ${corpus.windowCount} windows; thresholds by NAB's hill-climb (twiddle)`,
    head,
    ...rows.map((r) =>
      [
        r.label.padEnd(44),
        ...profiles.map((p) => (r.scores[p] === undefined ? '-' : (r.scores[p] as number).toFixed(2)).padStart(19)),
        (r.usPerPoint === undefined ? '' : r.usPerPoint.toFixed(2)).padStart(10),
      ].join(''),
    ),
    `result files: ${args.resultsDir}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const cpus = os.cpus();
  const summary = {
    command: 'npm run bench:nab',
    date: new Date().toISOString(),
    machine: { os: `${os.type()} ${os.release()} ${os.arch()}`, cpus: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', mem_gib: round(os.totalmem() / 2 ** 30, 1), node: process.version },
    corpus: { dir, files: corpus.files.length, points, windows: corpus.windowCount, profiles: corpus.profiles },
    scoring: {
      probationary: 'first 15% of each file, at most 750 rows',
      twiddle: "NAB's hill-climb threshold search (produced the published thresholds): the headline figures",
      sweep: 'exhaustive search over every distinct score (NAB v1.1 sweeper): the best single threshold',
      timing: `update loop only, median of ${args.passes} passes over the corpus (first pass includes JIT warm-up)`,
    },
    detectors,
    numenta_rescored: { twiddle: byProfile(numenta.twiddle), sweep: byProfile(numenta.sweep) },
    published: published === null ? null : Object.fromEntries(Object.keys(published).sort().map((k) => [k, published[k]])),
  };
  mkdirSync(path.dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`summary: ${args.json}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench:nab: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
