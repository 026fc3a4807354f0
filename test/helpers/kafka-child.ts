import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './kafka.js';

/**
 * `nightshift run` in child processes (so that a test can SIGKILL one), from the compiled dist/ (`npm test` builds
 * first; when a source is newer than the build, it is rebuilt here once).
 */
const ENTRY = join(ROOT, 'dist', 'cli', 'run.js');

function newestSource(dir: string, depth = 0): number {
  let t = 0;
  if (depth > 4 || !existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p, depth + 1));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

let built = false;

export function ensureBuilt(): void {
  if (built) return;
  const src = Math.max(...['core', 'cli', 'ingest', 'perception', 'reasoning', 'sinks', 'schemas'].map((d) => newestSource(join(ROOT, d))));
  if (!existsSync(ENTRY) || statSync(ENTRY).mtimeMs < src) {
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 });
    } catch (e) {
      // Type errors elsewhere still emit JavaScript; only a missing entry is fatal.
      if (!existsSync(ENTRY)) throw new Error(`building dist/ failed: ${(e as { stdout?: Buffer }).stdout?.toString().slice(0, 2000) ?? (e as Error).message}`);
    }
  }
  built = true;
}

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Parsed JSON log lines (pino on stderr), at most the last 20 000. */
  readonly logs: Array<Record<string, unknown>>;
  /** Other stderr lines, at most the last 200. */
  readonly text: string[];
  readonly exited: Promise<number | null>;
}

export function spawnRun(name: string, args: readonly string[], env: NodeJS.ProcessEnv): Child {
  ensureBuilt();
  const script = 'const m = await import(process.argv[1]); await m.runMain(process.argv.slice(2));';
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(ENTRY).href, ...args], {
    cwd: ROOT,
    env: { ...process.env, NIGHTSHIFT_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  let rest = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
        if (logs.length > 20_000) logs.shift();
      } catch {
        text.push(line);
        if (text.length > 200) text.shift();
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { name, proc, logs, text, exited };
}
