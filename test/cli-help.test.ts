import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main, wantsHelp } from '../cli/main.js';
import { capture } from './helpers/cli.js';


const NAMES = Object.keys(COMMANDS);

describe('--help on every command', () => {
  it('knows the commands (a control: an empty table would pass the per-command tests)', () => {
    expect(NAMES).toEqual(expect.arrayContaining(['demo', 'replay', 'simulate', 'eval', 'query', 'run', 'gateway', 'templates', 'detect']));
  });

  it.each(NAMES)('nightshift %s --help / -h / help CMD print its usage on stdout and exit 0, without running it', async (name) => {
    const help = COMMANDS[name]!.help;
    expect(help.startsWith(`nightshift ${name}`)).toBe(true);
    for (const argv of [[name, '--help'], [name, '-h'], ['help', name]]) {
      const c = capture();
      expect(await main(argv, c.io), argv.join(' ')).toBe(0);
      expect(c.out()).toBe(`${help}\n`);
      expect(c.err()).toBe('');
    }
  });

  it('help wins over missing required options and over other options (replay --help used to fail)', async () => {
    const a = capture();
    expect(await main(['replay', '--help'], a.io)).toBe(0);
    expect(a.out()).toMatch(/^nightshift replay --in FILE/);
    const b = capture();
    expect(await main(['simulate', '--seed', '3', '-h'], b.io)).toBe(0);
    expect(b.out()).toMatch(/^nightshift simulate --out FILE/);
    // After `--` an argument is positional: `-h` there is not a request for help.
    expect(wantsHelp(['--in', 'x', '--', '-h'])).toBe(false);
    expect(wantsHelp(['--in', 'x', '-h'])).toBe(true);
  });

  it.each(NAMES)('nightshift %s with an unknown option exits 2, names the option and points to --help', async (name) => {
    const c = capture();
    expect(await main([name, '--no-such-option'], c.io)).toBe(2);
    expect(c.err()).toContain(`nightshift ${name}: Unknown option '--no-such-option'`);
    expect(c.err()).toContain(`nightshift ${name} --help`);
    expect(c.out()).toBe('');
  });

  it.each(NAMES)('the help of %s names every option the command parses', (name) => {
    const { help, options } = COMMANDS[name]!;
    const missing = Object.keys(options).filter((o) => !help.includes(`--${o}`));
    expect(missing).toEqual([]);
  });

  it('the overview lists every command, and help of an unknown command exits 2', async () => {
    const a = capture();
    expect(await main(['--help'], a.io)).toBe(0);
    for (const n of NAMES) expect(a.out()).toMatch(new RegExp(`^  ${n} `, 'm'));
    const h = capture();
    expect(await main(['help', '--help'], h.io)).toBe(0);
    expect(h.out()).toBe(a.out());
    const b = capture();
    expect(await main(['help', 'frobnicate'], b.io)).toBe(2);
    expect(b.err()).toMatch(/unknown command "frobnicate"/);
  });

  // `npm test` builds first; a bare `vitest run` without a build reports this one as skipped.
  it.skipIf(!existsSync('dist/cli/main.js'))('the built bin answers `replay --help` with exit 0 and a bad option with exit 2', () => {
    const ok = spawnSync(process.execPath, ['bin/nightshift.js', 'replay', '--help'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^nightshift replay --in FILE/);
    const bad = spawnSync(process.execPath, ['bin/nightshift.js', 'replay', '--hepl'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--hepl'/);
  });
});

describe("the README's CLI table", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('| command | what it does |'), readme.indexOf('Exit codes: 0 success'));
  const rows = table.split('\n').filter((l) => l.startsWith('| '));
  const listener = rows.find((r) => r.startsWith('| listener options')) ?? '';

  it.each(NAMES)('has a row for %s naming every option it parses', (name) => {
    const own = rows.filter((r) => r.includes(`\`nightshift ${name} `) || r.includes(`\`nightshift ${name}\``));
    expect(own.length, `no row for nightshift ${name}`).toBeGreaterThan(0);
    const text = own.join('\n') + (own.some((r) => r.includes('listener options')) ? `\n${listener}` : '');
    const missing = Object.keys(COMMANDS[name]!.options).filter((o) => !text.includes(`--${o}`));
    expect(missing).toEqual([]);
  });

  it('documents --help', () => {
    expect(table).toContain('--help');
  });
});
