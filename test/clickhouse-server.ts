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

export const serverDir = (name: string): string => `/tmp/nightshift-ch-test-${name}`;

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
  return run('up', name);
}

export function clickhouseDown(name: string): void {
  run('down', name);
}

export function clickhouseClean(name: string): void {
  run('clean', name);
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
