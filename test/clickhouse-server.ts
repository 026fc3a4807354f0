import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Test helpers around scripts/clickhouse.sh: each test file gets its own private server (own directory, own ports),
 * so the outage test can stop its server without touching another file's. Nothing is skipped: a missing
 * clickhouse-server makes the test fail with the install command.
 */
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'clickhouse.sh');

// The pid keeps two test runs on one machine (two checkouts, two agents) from sharing, and stopping, a server.
export const serverDir = (name: string): string => `/tmp/nightshift-ch-test-${name}-${process.pid}`;

const started = new Set<string>();
// A test process that dies before its afterAll still stops the servers it started (they run detached).
process.once('exit', () => {
  for (const name of started) {
    try {
      execFileSync('bash', [SCRIPT, 'clean'], { env: { ...process.env, NIGHTSHIFT_CH_DIR: serverDir(name) }, stdio: 'ignore', timeout: 40_000 });
    } catch {
      // Best effort at exit.
    }
  }
});

function run(cmd: 'up' | 'down' | 'clean' | 'status', name: string): string {
  try {
    return execFileSync('bash', [SCRIPT, cmd], {
      env: { ...process.env, NIGHTSHIFT_CH_DIR: serverDir(name) },
      encoding: 'utf8',
      timeout: 90_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`scripts/clickhouse.sh ${cmd} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

export function requireServerInstalled(): void {
  const onPath = (() => {
    try {
      execFileSync('bash', ['-c', 'command -v clickhouse-server'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!onPath && !existsSync('/usr/sbin/clickhouse-server') && !process.env.NIGHTSHIFT_CH_BIN) {
    throw new Error(
      'clickhouse-server is not installed; these tests need the real server. Install it first: ' +
        'sudo apt-get update && sudo apt-get install -y clickhouse-server (CI does this in .ci/run)',
    );
  }
}

/** Starts (or finds) the private server `name`; returns its HTTP URL. */
export function clickhouseUp(name: string): string {
  requireServerInstalled();
  started.add(name);
  return run('up', name);
}

export function clickhouseDown(name: string): void {
  run('down', name);
}

export function clickhouseClean(name: string): void {
  run('clean', name);
  started.delete(name);
}

/** Like clickhouseUp/Down, without blocking the event loop (for a test that keeps streaming meanwhile). */
export function clickhouseAsync(cmd: 'up' | 'down', name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SCRIPT, cmd], { env: { ...process.env, NIGHTSHIFT_CH_DIR: serverDir(name) }, encoding: 'utf8', timeout: 90_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/clickhouse.sh ${cmd} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout.trim());
    });
  });
}
