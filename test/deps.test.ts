import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };

/** Every .ts file of the shipped code (tests and build output excluded): what `npm ci --omit=dev` must serve. */
function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (['node_modules', 'dist', 'test', '.git'].includes(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** The package part of a bare import specifier: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

function importedPackages(): Set<string> {
  const found = new Set<string>();
  const re = /(?:from\s+|import\s*\(\s*|import\s+)'([^'.][^']*)'/g;
  for (const f of sources(ROOT)) {
    // Comment lines may quote an import as an example; only code counts.
    const code = readFileSync(f, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l)).join('\n');
    for (const m of code.matchAll(re)) {
      const spec = m[1] as string;
      if (!spec.startsWith('node:')) found.add(packageOf(spec));
    }
  }
  return found;
}

describe('dependencies', () => {
  it('every production dependency is imported by the shipped code (an unused one only costs install size)', () => {
    const used = importedPackages();
    // A control: the scan finds the imports it must, so an empty scan cannot pass this test.
    expect(used.has('zod') && used.has('kafkajs')).toBe(true);
    const unused = Object.keys(pkg.dependencies ?? {}).filter((d) => !used.has(d));
    expect(unused).toEqual([]);
  });

  it('every imported package is a declared dependency (none works only by being hoisted from another)', () => {
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
    expect([...importedPackages()].filter((p) => !declared.has(p))).toEqual([]);
  });

  it('the default install holds no GPU builds and none of the dropped packages', () => {
    const all = { ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.devDependencies };
    for (const gone of ['@tensorflow/tfjs', 'simple-statistics', 'node-llama-cpp']) expect(all[gone], gone).toBeUndefined();
    const heavy = Object.keys(lock.packages).filter((p) => /cuda|vulkan|node-llama-cpp|@tensorflow\//.test(p));
    expect(heavy).toEqual([]);
  });
});
