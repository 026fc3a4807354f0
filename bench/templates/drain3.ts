/**
 * Drain3 (PyPI) for the comparison: the bench installs it itself, in a virtual environment OUTSIDE the work tree's
 * tracked files (node_modules/.cache/nightshift-bench/venv, ignored by git), pinned to DRAIN3_VERSION, and runs
 * bench/templates/drain3_runner.py there on the same lines.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Timing } from './nightshift.js';

export const DRAIN3_VERSION = '0.9.11';

export interface Drain3System {
  readonly name: string;
  readonly clusterIds: number[];
  /** Drain3's final template per line, its own placeholders (`<NUM>`, `<IP>`, `<*>`, ...). */
  readonly templates: string[];
  readonly timing: Timing;
}

export interface Drain3Result {
  readonly version: string;
  readonly python: string;
  readonly config: unknown;
  readonly systems: Drain3System[];
}

/** Names of the masks in drain3_runner.py: each `<NAME>` in a Drain3 template is a variable, `<*>` in Loghub's style. */
const DRAIN3_MASKS = /<(?:ID|IP|SEQ|HEX|NUM|CMD)>/g;

/** Drain3's typed mask placeholders mapped to `<*>`, so its templates compare with the `<*>` ground truth. */
export function drain3ToLoghub(template: string): string {
  return template.replace(DRAIN3_MASKS, '<*>');
}

const STEP_TIMEOUT_MS = 10 * 60 * 1000;

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: STEP_TIMEOUT_MS });
  if (r.error !== undefined) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what}: exit ${String(r.status)}`);
}

function venvPython(venv: string): string {
  return process.platform === 'win32' ? path.join(venv, 'Scripts', 'python.exe') : path.join(venv, 'bin', 'python');
}

function installedVersion(py: string): string | null {
  const r = spawnSync(py, ['-c', 'from importlib.metadata import version; print(version("drain3"))'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * The Python interpreter of a venv holding drain3==DRAIN3_VERSION, creating the venv and installing if needed.
 * NIGHTSHIFT_BENCH_VENV overrides the venv location; NIGHTSHIFT_PYTHON the interpreter used to create it.
 */
export function ensureDrain3(root: string): string {
  const venv = process.env.NIGHTSHIFT_BENCH_VENV ?? path.join(root, 'node_modules', '.cache', 'nightshift-bench', 'venv');
  const py = venvPython(venv);
  if (existsSync(py) && installedVersion(py) === DRAIN3_VERSION) return py;
  if (!existsSync(py)) {
    mkdirSync(path.dirname(venv), { recursive: true });
    const base = process.env.NIGHTSHIFT_PYTHON ?? 'python3';
    process.stderr.write(`bench:templates: creating a Python venv at ${venv}\n`);
    run(base, ['-m', 'venv', venv], `${base} -m venv ${venv} (install python3 and python3-venv)`);
  }
  process.stderr.write(`bench:templates: pip install drain3==${DRAIN3_VERSION}\n`);
  run(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `drain3==${DRAIN3_VERSION}`], 'pip install drain3');
  const v = installedVersion(py);
  if (v !== DRAIN3_VERSION) throw new Error(`drain3 ${DRAIN3_VERSION} expected in ${venv}, found ${String(v)}`);
  return py;
}

export interface Drain3Job {
  /** Also return the per-line labels (one extra untimed pass). */
  readonly labels: boolean;
  readonly minSeconds: number;
  readonly minReps: number;
  readonly maxReps: number;
  readonly systems: readonly { name: string; lines: readonly string[] }[];
}

/** Runs the Python runner once for all systems; lines go through a temp file, deleted afterwards. */
export function runDrain3(py: string, runner: string, job: Drain3Job): Drain3Result {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nightshift-drain3-'));
  try {
    const input = path.join(dir, 'job.json');
    const output = path.join(dir, 'out.json');
    writeFileSync(
      input,
      JSON.stringify({
        labels: job.labels,
        min_seconds: job.minSeconds,
        min_reps: job.minReps,
        max_reps: job.maxReps,
        systems: job.systems,
      }),
    );
    run(py, [runner, input, output], 'drain3_runner.py');
    const raw = JSON.parse(readFileSync(output, 'utf8')) as {
      drain3_version: string;
      python: string;
      config: unknown;
      systems: {
        name: string;
        cluster_ids: number[];
        templates: string[];
        timing: { reps: number; lines: number; median_seconds: number; total_seconds: number; passes: number[] };
      }[];
    };
    return {
      version: raw.drain3_version,
      python: raw.python,
      config: raw.config,
      systems: raw.systems.map((s) => ({
        name: s.name,
        clusterIds: s.cluster_ids,
        templates: s.templates,
        timing: {
          reps: s.timing.reps,
          lines: s.timing.lines,
          medianSeconds: s.timing.median_seconds,
          totalSeconds: s.timing.total_seconds,
          passes: s.timing.passes,
        },
      })),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
