import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { NightshiftError } from '../core/errors.js';
import { TopologyFile, type Edge } from '../schemas/topology.js';
import { joinPath } from './formats/collect.js';

/** A CMDB file is small; anything bigger is a wrong path (a log file?) and is refused before reading it. */
export const MAX_TOPOLOGY_BYTES = 16 * 1024 * 1024;

function syntax(fileName: string, detail: string): NightshiftError {
  // There is no separate YAML code: INVALID_JSON means "the text does not parse", whichever the syntax.
  return new NightshiftError('INVALID_JSON', `${fileName}: ${detail}`);
}

function parseText(text: string, fileName: string): unknown {
  const ext = extname(fileName).toLowerCase();
  const asJson = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && text.trimStart().startsWith('{'));
  if (asJson) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw syntax(fileName, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  try {
    // uniqueKeys (the default) rejects a service map with a key written twice; maxAliasCount bounds alias bombs.
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      throw syntax(fileName, `invalid YAML${where}: ${e.message.split('\n')[0] ?? ''}`);
    }
    throw syntax(fileName, `invalid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The CMDB file (`{services: [{name, owner?, tier?, tags?, depends_on?}]}`), YAML or JSON by extension
 * (unknown extensions: JSON if it starts with `{`, else YAML). Rejected with SCHEMA_MISMATCH: wrong shapes,
 * a service listed twice, a service depending on itself. Allowed: a dependency on a service the file does not
 * list (an external API or a team's service outside the CMDB); see `unknownDependencies` to report them.
 */
export function parseTopology(text: string, fileName: string): TopologyFile {
  const raw = parseText(text, fileName);
  if (raw === null || raw === undefined) throw new NightshiftError('SCHEMA_MISMATCH', `${fileName}: empty file, expected {services: [...]}`);
  const r = TopologyFile.safeParse(raw);
  if (!r.success) {
    const shown = r.error.issues.slice(0, 5).map((i) => `${joinPath('', i.path) || '(root)'}: ${i.message}`);
    if (r.error.issues.length > 5) shown.push(`and ${r.error.issues.length - 5} more issues`);
    throw new NightshiftError('SCHEMA_MISMATCH', `${fileName}: ${shown.join('; ')}`);
  }
  const seen = new Set<string>();
  const problems: string[] = [];
  r.data.services.forEach((s, i) => {
    if (seen.has(s.name)) problems.push(`services[${i}]: service ${JSON.stringify(s.name)} is listed twice`);
    seen.add(s.name);
    if (s.depends_on?.includes(s.name)) problems.push(`services[${i}].depends_on: ${JSON.stringify(s.name)} depends on itself`);
  });
  if (problems.length > 0) throw new NightshiftError('SCHEMA_MISMATCH', `${fileName}: ${problems.slice(0, 5).join('; ')}`);
  return r.data;
}

/** Dependencies on services the file does not list, as [from, to] edges, in file order: for a warning, not an error. */
export function unknownDependencies(t: TopologyFile): Edge[] {
  const known = new Set(t.services.map((s) => s.name));
  const out: Edge[] = [];
  for (const s of t.services) for (const d of s.depends_on ?? []) if (!known.has(d)) out.push([s.name, d]);
  return out;
}

export async function loadTopologyFile(path: string): Promise<TopologyFile> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > MAX_TOPOLOGY_BYTES) {
      throw new NightshiftError('RECORD_TOO_LARGE', `${path}: ${st.size} bytes, a topology file may have at most ${MAX_TOPOLOGY_BYTES}`);
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof NightshiftError) throw e;
    throw new NightshiftError('IO_ERROR', `cannot read topology file ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return parseTopology(text, path);
}
