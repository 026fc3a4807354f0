import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layers, as imports: core/ (what every stage shares) imports no stage and no transport; the stages (ingest,
 * perception, reasoning, sinks) never import the builder or a transport (pipeline/); and no module imports itself
 * through others (an import circle), type-only imports included, since they still tie the modules' meanings.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['core', 'schemas', 'ingest', 'perception', 'reasoning', 'sinks', 'pipeline', 'mcp', 'ui', 'eval', 'sim', 'cli'];
const STAGES = ['ingest', 'perception', 'reasoning', 'sinks'];

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(join(ROOT, p)).isDirectory()) return files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const SPEC = /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Repository-relative .ts files each file imports (relative specifiers only; packages are not layers). */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of SOURCES.flatMap(files)) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    const deps = [...src.matchAll(SPEC)].map((m) => normalize(join(dirname(f), m[1] ?? m[2]!)).replace(/\.js$/, '.ts'));
    g.set(f, [...new Set(deps)]);
  }
  return g;
}

const top = (f: string): string => f.split('/')[0]!;

describe('layering', () => {
  const g = graph();

  it('reads the sources it checks', () => {
    expect(g.size).toBeGreaterThan(150);
    expect(g.get('pipeline/build.ts')).toEqual(expect.arrayContaining(['ingest/stage.ts', 'perception/stage.ts']));
  });

  it('core/ imports nothing above it: no stage, no builder, no transport, no command', () => {
    const bad = [...g].flatMap(([f, deps]) => (top(f) === 'core' ? deps.filter((d) => !['core', 'schemas'].includes(top(d))).map((d) => `${f} -> ${d}`) : []));
    expect(bad).toEqual([]);
  });

  it('no stage folder imports the builder or a transport (pipeline/), the MCP server, the view or the CLI', () => {
    const bad = [...g].flatMap(([f, deps]) => (STAGES.includes(top(f)) ? deps.filter((d) => ['pipeline', 'mcp', 'ui', 'cli', 'eval'].includes(top(d))).map((d) => `${f} -> ${d}`) : []));
    expect(bad).toEqual([]);
  });

  it('has no import circles', () => {
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 1);
      stack.push(f);
      for (const d of g.get(f) ?? []) {
        if (!g.has(d)) continue;
        if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative('.', x)).join(' -> '));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 2);
    };
    for (const f of [...g.keys()].sort()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
