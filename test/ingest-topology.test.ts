import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { loadTopologyFile, parseTopology, unknownDependencies } from '../ingest/index.js';

const YAML_TEXT = `# CMDB export
services:
  - name: frontend
    owner: team-web
    tier: "1"
    tags: [edge, public]
    depends_on: [checkout, catalog]
  - name: checkout
    depends_on:
      - payments
      - stripe-api   # external, not in the CMDB
  - name: catalog
  - name: payments
`;

function fails(f: () => unknown, code: string): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NightshiftError);
    expect((e as NightshiftError).code).toBe(code);
    return (e as Error).message;
  }
  throw new Error(`expected ${code}`);
}

describe('parseTopology', () => {
  it('reads YAML and the same content as JSON identically', () => {
    const y = parseTopology(YAML_TEXT, 'cmdb.yaml');
    expect(y.services.map((s) => s.name)).toEqual(['frontend', 'checkout', 'catalog', 'payments']);
    expect(y.services[0]).toEqual({ name: 'frontend', owner: 'team-web', tier: '1', tags: ['edge', 'public'], depends_on: ['checkout', 'catalog'] });
    expect(parseTopology(JSON.stringify(y), 'cmdb.json')).toEqual(y);
    expect(parseTopology(JSON.stringify(y), 'cmdb')).toEqual(y); // no extension: sniffed
    expect(parseTopology(YAML_TEXT, 'cmdb.txt')).toEqual(y);
  });

  it('allows dependencies outside the file, and reports them', () => {
    expect(unknownDependencies(parseTopology(YAML_TEXT, 'cmdb.yml'))).toEqual([['checkout', 'stripe-api']]);
  });

  it('rejects bad shapes with the path', () => {
    expect(fails(() => parseTopology('services:\n  - name: a\n    depends_on: b\n', 't.yaml'), 'SCHEMA_MISMATCH')).toMatch(/^t\.yaml: services\[0\]\.depends_on: /);
    expect(fails(() => parseTopology('{"services": [{"owner": "x"}]}', 't.json'), 'SCHEMA_MISMATCH')).toMatch(/services\[0\]\.name/);
    expect(fails(() => parseTopology('[]', 't.json'), 'SCHEMA_MISMATCH')).toMatch(/\(root\)/);
    expect(fails(() => parseTopology('', 't.yaml'), 'SCHEMA_MISMATCH')).toMatch(/empty/);
    expect(fails(() => parseTopology('services:\n  - name: a\n  - name: a\n', 't.yaml'), 'SCHEMA_MISMATCH')).toMatch(/listed twice/);
    expect(fails(() => parseTopology('services:\n  - name: a\n    depends_on: [a]\n', 't.yaml'), 'SCHEMA_MISMATCH')).toMatch(/depends on itself/);
  });

  it('rejects syntax errors with a location', () => {
    expect(fails(() => parseTopology('{"services": [', 't.json'), 'INVALID_JSON')).toMatch(/^t\.json: invalid JSON/);
    expect(fails(() => parseTopology('services:\n  - name: a\n   bad: [unclosed\n', 't.yaml'), 'INVALID_JSON')).toMatch(/invalid YAML at line \d+/);
    expect(fails(() => parseTopology('services: []\nservices: []\n', 't.yaml'), 'INVALID_JSON')).toMatch(/invalid YAML/);
  });
});

describe('loadTopologyFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ns-topo-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file, and reports a missing one as IO_ERROR', async () => {
    const p = join(dir, 'cmdb.yaml');
    await writeFile(p, YAML_TEXT);
    expect((await loadTopologyFile(p)).services).toHaveLength(4);
    await expect(loadTopologyFile(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'IO_ERROR' });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"services": 3}');
    await expect(loadTopologyFile(bad)).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH', message: expect.stringContaining('bad.json') });
  });
});
