import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { IncidentOutput } from '../schemas/index.js';
import { capture } from './helpers/cli.js';


let dir = '';
let replay = '';
beforeAll(async () => {
  // The analytics store has tests of its own (test/clickhouse*); here it would only slow every replay down.
  process.env.NIGHTSHIFT_ANALYTICS = 'off';
  dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-cli-'));
  replay = path.join(dir, 'world.ndjson');
  const c = capture();
  const code = await main(['simulate', '--out', replay, '--seed', '3', '--services', '12', '--hours', '3', '--faults', '2', '--quiet'], c.io);
  expect(code).toBe(0);
});

describe('nightshift CLI', () => {
  it('prints help and exits 2 without a command, and 2 on an unknown one or a bad option', async () => {
    const a = capture();
    expect(await main([], a.io)).toBe(2);
    expect(a.out()).toMatch(/Commands:/);
    const b = capture();
    expect(await main(['frobnicate'], b.io)).toBe(2);
    expect(b.err()).toMatch(/unknown command "frobnicate"/);
    const c = capture();
    expect(await main(['replay'], c.io)).toBe(2);
    expect(c.err()).toMatch(/needs --in/);
    const d = capture();
    expect(await main(['replay', '--in', replay, '--bogus'], d.io)).toBe(2);
    const e = capture();
    expect(await main(['simulate', '--out', path.join(dir, 'x.ndjson'), '--services', '99'], e.io)).toBe(2);
    expect(e.err()).toMatch(/--services must be an integer from 10 to 40/);
  });

  it('simulate writes the replay, truth and topology files', async () => {
    expect(existsSync(path.join(dir, 'world.truth.ndjson'))).toBe(true);
    expect(existsSync(path.join(dir, 'world.topology.json'))).toBe(true);
    const truth = (await readFile(path.join(dir, 'world.truth.ndjson'), 'utf8')).trim().split('\n');
    expect(truth).toHaveLength(2);
  });

  it('replay writes output-contract lines, and the same input gives byte-identical output', async () => {
    const outs: string[] = [];
    for (const i of [1, 2]) {
      const out = path.join(dir, `out${i}.ndjson`);
      const c = capture();
      expect(await main(['replay', '--in', replay, '--topology', path.join(dir, 'world.topology.json'), '--out', out, '--quiet'], c.io)).toBe(0);
      outs.push(await readFile(out, 'utf8'));
    }
    expect(outs[0]).toBe(outs[1]);
    const lines = outs[0]!.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      const o = IncidentOutput.parse(JSON.parse(l));
      expect(o.root_causes.length).toBeLessThanOrEqual(3);
    }
  });

  it('replay without a topology learns edges from traces and still finds incidents', async () => {
    const out = path.join(dir, 'notopo.ndjson');
    expect(await main(['replay', '--in', replay, '--out', out, '--quiet'], capture().io)).toBe(0);
    expect((await readFile(out, 'utf8')).trim().split('\n').length).toBeGreaterThan(0);
  });

  it('bad replay lines become dead letters, the run goes on, and the summary counts them', async () => {
    const good = (await readFile(replay, 'utf8')).split('\n').slice(0, 200);
    const bad = [
      '{"topic": "logs", "payload": "trunc',
      JSON.stringify({ topic: 'nope', payload: '{}' }),
      JSON.stringify({ topic: 'metrics', payload: '{"ts": "yesterday", "service": "a", "name": "x", "value": 1}' }),
      JSON.stringify({ topic: 'alerts', payload: JSON.stringify({ ts: 1772409600000, name: 'X', severity: 'critical', summary: 's' }) }),
    ];
    const file = path.join(dir, 'mixed.ndjson');
    await writeFile(file, [...good.slice(0, 100), ...bad, ...good.slice(100)].join('\n'));
    const dl = path.join(dir, 'dl.ndjson');
    const c = capture();
    expect(await main(['replay', '--in', file, '--out', path.join(dir, 'mixed-out.ndjson'), '--dead-letters', dl], c.io)).toBe(0);
    const dead = (await readFile(dl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { code: string; source: { line: number } });
    expect(dead.map((d) => d.code).sort()).toEqual(['BAD_TIMESTAMP', 'INVALID_JSON', 'MISSING_SERVICE', 'UNKNOWN_TOPIC']);
    expect(dead.find((d) => d.code === 'INVALID_JSON')?.source.line).toBe(101);
    expect(c.err()).toMatch(/dead letters:\s+4/);
  });

  it('eval scores a labelled replay file', async () => {
    const c = capture();
    const json = path.join(dir, 'eval.json');
    const code = await main(
      ['eval', '--replay', replay, '--truth', path.join(dir, 'world.truth.ndjson'), '--topology', path.join(dir, 'world.topology.json'), '--json', json],
      c.io,
    );
    expect(code).toBe(0);
    expect(c.out()).toMatch(/fault recall/);
    const report = JSON.parse(await readFile(json, 'utf8')) as { summary: { faults: number }; command: string };
    expect(report.summary.faults).toBe(2);
    expect(report.command).toMatch(/^nightshift eval --replay/);
  });

  it('replay and eval read gzipped replay files, detected by magic bytes, with the same output as plain ones', async () => {
    const gz = path.join(dir, 'world.bin'); // no .gz suffix: the content decides
    await writeFile(gz, gzipSync(await readFile(replay)));
    const plainOut = path.join(dir, 'plain.ndjson');
    const gzOut = path.join(dir, 'gz.ndjson');
    const topo = path.join(dir, 'world.topology.json');
    expect(await main(['replay', '--in', replay, '--topology', topo, '--out', plainOut, '--quiet'], capture().io)).toBe(0);
    expect(await main(['replay', '--in', gz, '--topology', topo, '--out', gzOut, '--quiet'], capture().io)).toBe(0);
    const plain = await readFile(plainOut, 'utf8');
    expect(plain.length).toBeGreaterThan(0);
    expect(await readFile(gzOut, 'utf8')).toBe(plain);
    const c = capture();
    expect(await main(['eval', '--replay', gz, '--truth', path.join(dir, 'world.truth.ndjson'), '--topology', topo], c.io)).toBe(0);
    expect(c.out()).toMatch(/fault recall/);
  });

  it('a corrupt gzip file is a clear runtime error (exit 1), not a crash', async () => {
    const bad = path.join(dir, 'corrupt.gz');
    const good = gzipSync(await readFile(replay));
    await writeFile(bad, Buffer.concat([good.subarray(0, 10), Buffer.alloc(200, 7)]));
    const c = capture();
    expect(await main(['replay', '--in', bad, '--out', path.join(dir, 'c.ndjson'), '--quiet'], c.io)).toBe(1);
    expect(c.err()).toMatch(/gzip/);
  });

  it('a replay in which every record is a dead letter exits 1 with a clear message', async () => {
    const junk = path.join(dir, 'junk.ndjson');
    await writeFile(junk, 'hello\nworld\n{"topic": "nope", "payload": "{}"}\n');
    const c = capture();
    expect(await main(['replay', '--in', junk, '--out', path.join(dir, 'j.ndjson')], c.io)).toBe(1);
    expect(c.err()).toMatch(/NO_VALID_INPUT: every record of .* was rejected \(3 dead letters/);
  });

  it('templates prints each line with the final template of its cluster, in order', async () => {
    const file = path.join(dir, 'lines.log');
    await writeFile(file, ['connected to 10.0.0.1 in 5 ms', 'connected to 10.0.0.2 in 7 ms', 'disk full on /dev/sda1', 'connected to host-a in 9 ms'].join('\n'));
    const c = capture();
    expect(await main(['templates', '--in', file], c.io)).toBe(0);
    const rows = c.out().trim().split('\n').map((l) => JSON.parse(l) as { line: string; template_id: string; template: string });
    expect(rows.map((r) => r.line)).toEqual(['connected to 10.0.0.1 in 5 ms', 'connected to 10.0.0.2 in 7 ms', 'disk full on /dev/sda1', 'connected to host-a in 9 ms']);
    // The first two lines' cluster was generalized by the fourth: all three carry its final template.
    expect(new Set([rows[0]!.template_id, rows[1]!.template_id, rows[3]!.template_id]).size).toBe(1);
    expect(rows[0]!.template).toBe(rows[3]!.template);
    expect(rows[2]!.template_id).not.toBe(rows[0]!.template_id);
  });

  it('detect scores a NAB CSV row by row; a level shift scores high, a bad header is a usage error', async () => {
    const file = path.join(dir, 'series.csv');
    const rows = ['timestamp,value'];
    for (let i = 0; i < 300; i++) rows.push(`${new Date(Date.UTC(2014, 3, 1) + i * 300_000).toISOString().slice(0, 19).replace('T', ' ')},${i < 280 ? 10 + (i % 3) : 60}`);
    await writeFile(file, rows.join('\n'));
    const c = capture();
    expect(await main(['detect', '--in', file], c.io)).toBe(0);
    const out = c.out().trim().split('\n');
    expect(out[0]).toBe('timestamp,value,anomaly_score');
    expect(out).toHaveLength(301);
    const scores = out.slice(1).map((l) => Number(l.split(',')[2]));
    for (const s of scores) expect(s).toBeGreaterThanOrEqual(0);
    expect(Math.max(...scores.slice(0, 280))).toBeLessThan(0.8);
    expect(scores[280]).toBeGreaterThanOrEqual(0.8);
    const bad = path.join(dir, 'bad.csv');
    await writeFile(bad, 'a,b\n1,2\n');
    const d = capture();
    expect(await main(['detect', '--in', bad], d.io)).toBe(2);
    expect(d.out()).toBe('');
  });

  it('a missing input file is a clear error, not a crash', async () => {
    const c = capture();
    expect(await main(['replay', '--in', path.join(dir, 'missing.ndjson'), '--out', path.join(dir, 'o.ndjson')], c.io)).toBe(1);
    expect(c.err()).toMatch(/ENOENT|no such file/);
  });

  // `npm test` builds first; a bare `vitest run` without a build reports this one as skipped.
  it.skipIf(!existsSync('dist/cli/main.js'))('the built bin runs', () => {
    const r = spawnSync(process.execPath, ['bin/nightshift.js', 'help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/nightshift replay --in FILE/);
  });
});
