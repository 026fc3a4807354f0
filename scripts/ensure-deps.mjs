// Runs before `npm start` and `npm test`: on a fresh clone, installs the locked dependencies first, so that the
// README's two commands work as written. Does nothing when node_modules matches the lock file.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const fresh = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (fresh) {
  process.stderr.write('nightshift: installing dependencies (npm ci)\n');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
