#!/usr/bin/env node
// Turns the "local" Kubernetes JSON schemas shipped in the PyPI package kubernetes-validate (one file per kind, with
// $refs into a shared /api/_definitions.json) into the "standalone" layout kubeconform reads from a folder: one
// self-contained file per kind, the definitions it reaches copied into its own $defs.
//
// Why: kubeconform normally downloads these schemas from GitHub, which CI cannot reach; PyPI it can.
//
// Usage: node deploy/tools/k8s-schemas.mjs <dir of vX.Y.Z-local-strict> <out dir>
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  process.stderr.write('usage: k8s-schemas.mjs <local-strict schema dir> <out dir>\n');
  process.exit(2);
}

const DEFS_PREFIX = '/api/_definitions.json#/$defs/';
const defs = JSON.parse(readFileSync(join(src, '_definitions.json'), 'utf8')).$defs;
if (!defs || typeof defs !== 'object') throw new Error(`${src}/_definitions.json has no $defs`);

/** Rewrites every $ref to a local one and collects the definition names it points to. */
function localize(node, found) {
  if (Array.isArray(node)) return node.map((n) => localize(n, found));
  if (node === null || typeof node !== 'object') return node;
  const outNode = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') {
      let name;
      if (v.startsWith(DEFS_PREFIX)) name = v.slice(DEFS_PREFIX.length);
      else if (v.startsWith('#/$defs/')) name = v.slice('#/$defs/'.length);
      else throw new Error(`unexpected $ref ${v}`);
      found.add(name);
      outNode[k] = `#/$defs/${name}`;
    } else if (k === '$id') {
      // An http $id would make the local refs resolve against the web; the standalone file is its own base.
      continue;
    } else {
      outNode[k] = localize(v, found);
    }
  }
  return outNode;
}

mkdirSync(out, { recursive: true });
const localizedDefs = new Map();
function defFor(name) {
  let d = localizedDefs.get(name);
  if (!d) {
    if (!(name in defs)) throw new Error(`missing definition ${name}`);
    const refs = new Set();
    d = { schema: localize(defs[name], refs), refs };
    localizedDefs.set(name, d);
  }
  return d;
}

let files = 0;
for (const file of readdirSync(src).sort()) {
  if (!file.endsWith('.json') || file === '_definitions.json' || file === 'all.json') continue;
  const refs = new Set();
  const schema = localize(JSON.parse(readFileSync(join(src, file), 'utf8')), refs);
  // Transitive closure over the definitions, bounded by the number of definitions (each is visited once).
  const reached = new Set();
  const todo = [...refs];
  while (todo.length > 0) {
    const name = todo.pop();
    if (reached.has(name)) continue;
    reached.add(name);
    for (const r of defFor(name).refs) if (!reached.has(r)) todo.push(r);
  }
  if (reached.size > 0) {
    schema.$defs = {};
    for (const name of [...reached].sort()) schema.$defs[name] = defFor(name).schema;
  }
  writeFileSync(join(out, file), JSON.stringify(schema));
  files++;
}
process.stdout.write(`k8s-schemas: ${files} standalone schemas in ${out}\n`);
