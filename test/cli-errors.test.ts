import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Operator-grade errors (issue 11, part 6): an expected failure is one line saying what and what to check, with the
 * documented exit code (2 for configuration, 1 at run time), never a stack trace. Runs the built CLI (`npm test`
 * builds first) as an operator would.
 */
function run(args: string[], env: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['bin/nightshift.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 90_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('operator-grade errors', () => {
  it('a bad port in the environment is a configuration error (exit 2), one line', () => {
    const r = run(['run', '--brokers', '127.0.0.1:1'], { NIGHTSHIFT_OPS_PORT: 'abc' });
    expect(r.status).toBe(2);
    expect(r.out).toMatch(/^nightshift run: CONFIG_INVALID: NIGHTSHIFT_OPS_PORT must be a port number \(0-65535\), got "abc"\n$/);
  });

  it('no broker: one line naming what to check (exit 1), retries logged as warnings without stacks', () => {
    const r = run(['run', '--brokers', '127.0.0.1:1'], { NIGHTSHIFT_OPS_PORT: '0' });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/nightshift run: the Kafka brokers cannot be used \(.*ECONNREFUSED 127\.0\.0\.1:1\); check --brokers/);
    expect(r.out).not.toMatch(/\n\s+at [\w.<>]+ \(|triggerUncaughtException|"stack"/);
    expect(r.out).not.toMatch(/"level":50/);
  }, 120_000);
});
