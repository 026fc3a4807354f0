/**
 * bench:templates-loso — leave-one-system-out tuning of the template miner's generic parameters on Loghub-2k
 * (corrected ground truth). Answers: would tuning on nine systems pick something better than the one default for the
 * tenth, and does the default sit on a plateau?
 *
 * Method: every configuration of a small grid (GRID below: simThreshold, depth, maxChildren, fallbackLimit,
 * collapseRuns; the other MinerConfig fields are bounds, not accuracy knobs) mines every system once with a fresh
 * miner, as bench:templates does. For each system held out in turn, the configuration with the best mean GA over the
 * other nine is chosen (ties: best mean PA, then fewest parameters away from the default, then grid order), and its
 * GA/PA/FGA/FTA on the held-out system is reported beside the default's. Nothing is ever chosen on the held-out
 * system. Only accuracy is measured: no Drain3, no timing.
 *
 * Environment: NIGHTSHIFT_LOGHUB_DIR (data; default ../shared/data/loghub-2k, read in place). Writes
 * bench/results/templates-loso.json and bench/results/templates-loso.txt.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MinerConfig } from '../../perception/templates/index.js';
import { loadLoghub, loghubDir, repoRoot, type LoghubSystem } from './loghub.js';
import { scoreParsing, type Labelled } from './metrics.js';
import { runNightshift } from './nightshift.js';

const COMMAND = 'npm run bench:templates-loso';

/** The grid: each list holds the default's value, so the default is one of the configurations. */
const GRID = {
  simThreshold: [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9],
  depth: [3, 4, 5, 6],
  maxChildren: [30, 100, 300],
  fallbackLimit: [0, 64],
  collapseRuns: [true, false],
} as const;
type Knob = keyof typeof GRID;
const KNOBS = Object.keys(GRID) as Knob[];
type GridConfig = { [K in Knob]: (typeof GRID)[K][number] };

/**
 * Decision rule, fixed before looking at the figures: change the default only if LOSO's mean held-out GA beats the
 * default's by at least MIN_GA_MARGIN and one configuration is chosen in at least MIN_STABLE_FOLDS of the ten folds.
 */
const MIN_GA_MARGIN = 0.01;
const MIN_STABLE_FOLDS = 6;

interface Fig {
  readonly ga: number;
  readonly pa: number;
  readonly fga: number;
  readonly fta: number;
  /** Exact counts, for exact comparisons (GA and PA are counts over lines). */
  readonly gaCount: number;
  readonly paCount: number;
  readonly lines: number;
}

function defaults(): GridConfig {
  const d = MinerConfig.parse({});
  const out = {} as Record<Knob, unknown>;
  for (const k of KNOBS) {
    const v = d[k];
    if (!(GRID[k] as readonly unknown[]).includes(v)) throw new Error(`the grid for ${k} does not hold the default ${String(v)}`);
    out[k] = v;
  }
  return out as GridConfig;
}

function allConfigs(): GridConfig[] {
  let acc: Record<string, unknown>[] = [{}];
  for (const k of KNOBS) {
    const next: Record<string, unknown>[] = [];
    for (const base of acc) for (const v of GRID[k]) next.push({ ...base, [k]: v });
    acc = next;
  }
  return acc as GridConfig[];
}

function key(c: GridConfig): string {
  return `sim=${c.simThreshold} depth=${c.depth} children=${c.maxChildren} fallback=${c.fallbackLimit} runs=${c.collapseRuns ? 'on' : 'off'}`;
}

/** Grid steps away from the default, summed over knobs (0 = the default). */
function distance(c: GridConfig, d: GridConfig): number {
  let s = 0;
  for (const k of KNOBS) {
    const vals = GRID[k] as readonly unknown[];
    s += Math.abs(vals.indexOf(c[k]) - vals.indexOf(d[k]));
  }
  return s;
}

/** Configurations that differ from the default in one knob by one grid step, and the default itself. */
function neighbourhood(configs: readonly GridConfig[], d: GridConfig): number[] {
  const out: number[] = [];
  configs.forEach((c, i) => {
    let changed = 0;
    let ok = true;
    for (const k of KNOBS) {
      if (c[k] === d[k]) continue;
      changed++;
      const vals = GRID[k] as readonly unknown[];
      if (Math.abs(vals.indexOf(c[k]) - vals.indexOf(d[k])) !== 1) ok = false;
    }
    if (ok && changed <= 1) out.push(i);
  });
  return out;
}

function truthLabels(sys: LoghubSystem): Labelled[] {
  return sys.templates.map((t) => ({ group: t, template: t }));
}

function score(sys: LoghubSystem, truth: readonly Labelled[], c: GridConfig): Fig {
  const run = runNightshift(sys.lines, c);
  const s = scoreParsing(truth, run.templates.map((t, i) => ({ group: run.groups[i] as string, template: t })));
  return {
    ga: s.ga,
    pa: s.pa,
    fga: s.fga.f1,
    fta: s.fta.f1,
    gaCount: Math.round(s.ga * s.messages),
    paCount: Math.round(s.pa * s.messages),
    lines: s.messages,
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function r4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function f3(x: number): string {
  return x.toFixed(3);
}

function signed(x: number): string {
  return (x >= 0 ? '+' : '') + x.toFixed(3);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function figs(f: Fig): { ga: number; pa: number; fga: number; fta: number } {
  return { ga: r4(f.ga), pa: r4(f.pa), fga: r4(f.fga), fta: r4(f.fta) };
}

function main(): void {
  const t0 = Date.now();
  const root = repoRoot(path.dirname(fileURLToPath(import.meta.url)));
  const systems = loadLoghub(loghubDir(root));
  const truths = systems.map(truthLabels);
  const def = defaults();
  const configs = allConfigs();
  const defIdx = configs.findIndex((c) => key(c) === key(def));
  if (defIdx < 0) throw new Error('the default is not in the grid');

  // results[c][s]: configuration c on system s.
  const results: Fig[][] = configs.map((c, ci) => {
    if (ci % 24 === 0) process.stderr.write(`bench:templates-loso: configuration ${ci + 1}/${configs.length} (${key(c)})\n`);
    return systems.map((sys, si) => score(sys, truths[si] as Labelled[], c));
  });
  const at = (ci: number, si: number): Fig => (results[ci] as Fig[])[si] as Fig;

  // Leave one system out: choose on the other nine by exact counts (every system weighs the same: 2,000 lines each,
  // checked), then read the held-out figures.
  const lines = systems.map((s) => s.lines.length);
  if (new Set(lines).size !== 1) throw new Error(`systems have different line counts (${lines.join(', ')}): counts would not be means`);
  const folds = systems.map((held, hi) => {
    let best = -1;
    let bestGa = -1;
    let bestPa = -1;
    let bestDist = Infinity;
    for (let ci = 0; ci < configs.length; ci++) {
      let ga = 0;
      let pa = 0;
      for (let si = 0; si < systems.length; si++) {
        if (si === hi) continue;
        ga += at(ci, si).gaCount;
        pa += at(ci, si).paCount;
      }
      const dist = distance(configs[ci] as GridConfig, def);
      if (ga > bestGa || (ga === bestGa && (pa > bestPa || (pa === bestPa && dist < bestDist)))) {
        best = ci;
        bestGa = ga;
        bestPa = pa;
        bestDist = dist;
      }
    }
    const trainLines = lines.reduce((a, b) => a + b, 0) - (lines[hi] as number);
    let defTrainGa = 0;
    for (let si = 0; si < systems.length; si++) if (si !== hi) defTrainGa += at(defIdx, si).gaCount;
    return {
      held_out: held.name,
      chosen: configs[best] as GridConfig,
      chosen_key: key(configs[best] as GridConfig),
      chosen_is_default: best === defIdx,
      train_mean_ga: r4(bestGa / trainLines),
      train_mean_pa: r4(bestPa / trainLines),
      default_train_mean_ga: r4(defTrainGa / trainLines),
      held_out_loso: figs(at(best, hi)),
      held_out_default: figs(at(defIdx, hi)),
      ci: best,
      hi,
    };
  });

  const losoGa = mean(folds.map((f) => at(f.ci, f.hi).ga));
  const losoPa = mean(folds.map((f) => at(f.ci, f.hi).pa));
  const losoFga = mean(folds.map((f) => at(f.ci, f.hi).fga));
  const losoFta = mean(folds.map((f) => at(f.ci, f.hi).fta));
  const defGa = mean(systems.map((_, si) => at(defIdx, si).ga));
  const defPa = mean(systems.map((_, si) => at(defIdx, si).pa));
  const defFga = mean(systems.map((_, si) => at(defIdx, si).fga));
  const defFta = mean(systems.map((_, si) => at(defIdx, si).fta));
  const picksDefault = folds.filter((f) => f.chosen_is_default).length;
  const pickCounts = new Map<string, number>();
  for (const f of folds) pickCounts.set(f.chosen_key, (pickCounts.get(f.chosen_key) ?? 0) + 1);
  const picks = [...pickCounts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => ({ config: k, folds: n }));
  const modal = picks[0] as { config: string; folds: number };
  const better = folds.filter((f) => at(f.ci, f.hi).gaCount > at(defIdx, f.hi).gaCount).length;
  const worse = folds.filter((f) => at(f.ci, f.hi).gaCount < at(defIdx, f.hi).gaCount).length;
  const margin = losoGa - defGa;
  const change = margin >= MIN_GA_MARGIN && modal.folds >= MIN_STABLE_FOLDS;

  // Robustness: the default's one-step neighbourhood (each knob one grid step either way), no tuning involved.
  const nb = neighbourhood(configs, def);
  const nbMeanGa = nb.map((ci) => mean(systems.map((_, si) => at(ci, si).ga)));
  const nbMeanPa = nb.map((ci) => mean(systems.map((_, si) => at(ci, si).pa)));
  const nbRows = nb.map((ci, j) => ({ config: key(configs[ci] as GridConfig), mean_ga: r4(nbMeanGa[j] as number), mean_pa: r4(nbMeanPa[j] as number) }));
  const nbPerSystem = systems.map((sys, si) => {
    const gas = nb.map((ci) => at(ci, si).ga);
    return { system: sys.name, default_ga: r4(at(defIdx, si).ga), min_ga: r4(Math.min(...gas)), mean_ga: r4(mean(gas)), max_ga: r4(Math.max(...gas)) };
  });
  // The whole grid ranked by mean GA over all ten (in-sample: for orientation only, not a tuning result).
  const allMean = configs.map((c, ci) => ({
    config: key(c),
    mean_ga: mean(systems.map((_, si) => at(ci, si).ga)),
    mean_pa: mean(systems.map((_, si) => at(ci, si).pa)),
  }));
  const ranked = [...allMean].sort((a, b) => b.mean_ga - a.mean_ga || b.mean_pa - a.mean_pa);
  const defRank = ranked.findIndex((r) => r.config === key(def)) + 1;
  const seconds = (Date.now() - t0) / 1000;

  // Text report.
  const out: string[] = [];
  out.push(`# ${COMMAND}`);
  const cpus = os.cpus();
  out.push(`# ${cpus.length} x ${cpus[0]?.model ?? 'unknown'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${configs.length} configurations x ${systems.length} systems, ${seconds.toFixed(0)} s`);
  out.push(`# Loghub-2k (corrected), ${systems.length} systems x ${lines[0]} lines; default: ${key(def)}`);
  out.push('');
  out.push('Leave one system out: chosen on the other nine by mean GA (ties: PA, then nearest the default); figures on the held-out system.');
  out.push('');
  const head = `${pad('held out', 12)} | ${pad('chosen on the other nine', 62)} | LOSO GA  PA    FGA   FTA   | default GA PA    FGA   FTA   | dGA`;
  out.push(head);
  out.push('-'.repeat(head.length));
  for (const f of folds) {
    const l = f.held_out_loso;
    const d = f.held_out_default;
    out.push(
      `${pad(f.held_out, 12)} | ${pad(f.chosen_is_default ? `${f.chosen_key} (default)` : f.chosen_key, 62)} | ` +
        `${f3(l.ga)}    ${f3(l.pa)} ${f3(l.fga)} ${f3(l.fta)} | ${f3(d.ga)}      ${f3(d.pa)} ${f3(d.fga)} ${f3(d.fta)} | ${signed(l.ga - d.ga)}`,
    );
  }
  out.push('-'.repeat(head.length));
  out.push(
    `${pad('Mean', 12)} | ${pad('', 62)} | ${f3(losoGa)}    ${f3(losoPa)} ${f3(losoFga)} ${f3(losoFta)} | ${f3(defGa)}      ${f3(defPa)} ${f3(defFga)} ${f3(defFta)} | ${signed(margin)}`,
  );
  out.push('');
  out.push(`LOSO picks the default in ${picksDefault} of ${folds.length} folds; held-out GA better than the default on ${better} systems, worse on ${worse}.`);
  out.push('Configurations chosen:');
  for (const p of picks) out.push(`  ${p.folds} x ${p.config}`);
  out.push(
    `Decision rule (fixed in bench/templates/loso.ts): change the default only if LOSO mean held-out GA beats the default by >= ${MIN_GA_MARGIN} ` +
      `and one configuration is chosen in >= ${MIN_STABLE_FOLDS} folds. Margin ${signed(margin)}, most-chosen ${modal.folds} folds: ${change ? 'CHANGE' : 'KEEP the default'}.`,
  );
  out.push('');
  out.push(`Robustness: the default and its ${nb.length - 1} one-step neighbours (each knob one grid step either way), no tuning.`);
  out.push(`Mean GA over the ten across them: min ${f3(Math.min(...nbMeanGa))}, mean ${f3(mean(nbMeanGa))}, max ${f3(Math.max(...nbMeanGa))} (default ${f3(defGa)}).`);
  for (const r of nbRows) out.push(`  ${pad(r.config, 52)} GA ${f3(r.mean_ga)}  PA ${f3(r.mean_pa)}`);
  out.push('Per system, GA across the neighbourhood:');
  out.push(`  ${pad('system', 12)} default  min    mean   max`);
  for (const r of nbPerSystem) out.push(`  ${pad(r.system, 12)} ${f3(r.default_ga)}    ${f3(r.min_ga)}  ${f3(r.mean_ga)}  ${f3(r.max_ga)}`);
  out.push('');
  out.push(`In-sample (all ten, for orientation, not a tuning result): the default ranks ${defRank} of ${configs.length} by mean GA. Top 5:`);
  for (const r of ranked.slice(0, 5)) out.push(`  ${pad(r.config, 52)} GA ${f3(r.mean_ga)}  PA ${f3(r.mean_pa)}`);
  const text = out.join('\n') + '\n';
  process.stdout.write(text);

  const result = {
    command: COMMAND,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      cpu_model: cpus[0]?.model ?? 'unknown',
      mem_gib: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    seconds: r4(seconds),
    data: {
      source: 'Loghub-2k, corrected ground truth (<System>_2k.log_structured_corrected.csv), Content column',
      systems: systems.map((s) => s.name),
      lines_per_system: lines[0],
    },
    method: {
      metrics: 'bench/templates/metrics.ts (GA, PA, FGA, FTA strict), labels = final template of each cluster, as bench:templates',
      runs: 'every configuration mines every system once with a fresh miner; accuracy only, no timing, no Drain3',
      selection: 'per held-out system: the configuration with the best mean GA over the other nine (exact counts), ties by mean PA, then fewest grid steps from the default, then grid order',
      decision_rule: `change the default only if LOSO mean held-out GA - default mean GA >= ${MIN_GA_MARGIN} and one configuration is chosen in >= ${MIN_STABLE_FOLDS} of the folds`,
      neighbourhood: 'the default and every configuration that differs from it in one knob by one grid step',
    },
    grid: GRID,
    fixed: Object.fromEntries(Object.entries(MinerConfig.parse({})).filter(([k]) => !(KNOBS as string[]).includes(k))),
    default: def,
    summary: {
      loso_mean_held_out: { ga: r4(losoGa), pa: r4(losoPa), fga: r4(losoFga), fta: r4(losoFta) },
      default_mean: { ga: r4(defGa), pa: r4(defPa), fga: r4(defFga), fta: r4(defFta) },
      ga_margin: r4(margin),
      folds_picking_default: picksDefault,
      folds: folds.length,
      systems_loso_ga_better: better,
      systems_loso_ga_worse: worse,
      picks,
      rule_says: change ? 'change' : 'keep',
      default_in_sample_rank: defRank,
      configurations: configs.length,
    },
    folds: folds.map(({ ci: _ci, hi: _hi, ...f }) => f),
    robustness: {
      neighbourhood_mean_ga: {
        min: r4(Math.min(...nbMeanGa)),
        mean: r4(mean(nbMeanGa)),
        max: r4(Math.max(...nbMeanGa)),
      },
      neighbourhood: nbRows,
      per_system: nbPerSystem,
    },
    top_in_sample: ranked.slice(0, 10).map((r) => ({ config: r.config, mean_ga: r4(r.mean_ga), mean_pa: r4(r.mean_pa) })),
    // Every configuration's GA and PA per system (in the order of data.systems), for re-analysis.
    grid_results: configs.map((c, ci) => ({
      config: key(c),
      ga: systems.map((_, si) => r4(at(ci, si).ga)),
      pa: systems.map((_, si) => r4(at(ci, si).pa)),
    })),
  };
  const dir = path.join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // Arrays of numbers on one line each: the grid results stay one line per configuration.
  const json = JSON.stringify(result, null, 2).replace(/\[\n\s+(-?[\d.]+(?:,\n\s+-?[\d.]+)*)\n\s+\]/g, (_m, inner: string) => `[${inner.split(/,\s+/).join(', ')}]`);
  writeFileSync(path.join(dir, 'templates-loso.json'), json + '\n');
  writeFileSync(path.join(dir, 'templates-loso.txt'), text);
  process.stdout.write('wrote bench/results/templates-loso.json and bench/results/templates-loso.txt\n');
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench:templates-loso: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
