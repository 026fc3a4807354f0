import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import { RootCauseKind } from '../../schemas/common.js';

/**
 * The knowledge base: runbooks, postmortems and past incidents as Markdown with YAML front matter, or JSON
 * (one document or an array). Indexed by services (names or globs such as `*-db`), root-cause kinds, template
 * ids or phrases, and text.
 */
export const KnowledgeDocType = z.enum(['runbook', 'postmortem', 'incident']);
export type KnowledgeDocType = z.infer<typeof KnowledgeDocType>;

export const KnowledgeDocMeta = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'id: letters, digits, dot, dash, underscore; at most 64'),
  type: KnowledgeDocType,
  title: z.string().min(1).max(300),
  /** Service names or globs (`*-db`, `payments-*`). */
  services: z.array(z.string().min(1).max(256)).max(200).default([]),
  kinds: z.array(RootCauseKind).max(7).default([]),
  /** Template ids (`tpl_...`) or phrases that appear in the log lines this document is about. */
  templates: z.array(z.string().min(1).max(500)).max(200).default([]),
  tags: z.array(z.string().min(1).max(64)).max(50).default([]),
});
export type KnowledgeDocMeta = z.infer<typeof KnowledgeDocMeta>;

export interface KnowledgeDoc extends KnowledgeDocMeta {
  readonly body: string;
  /** Path relative to the knowledge folder, for people. */
  readonly source: string;
}

export const KnowledgeConfig = z.strictObject({
  /** The folder; unset means the sample knowledge base shipped in `knowledge/`. */
  dir: z.string().min(1).optional(),
  /** Documents put in the prompt. */
  topK: z.number().int().min(0).max(20).default(3),
  /** Characters of each document's body put in the prompt. */
  snippetChars: z.number().int().min(100).max(20_000).default(900),
  /** Files read at most; more are skipped and reported. */
  maxFiles: z.number().int().min(1).max(100_000).default(5000),
  /** Larger files are skipped and reported. */
  maxFileBytes: z.number().int().min(1024).max(16 * 1_048_576).default(256 * 1024),
  /** Documents below this share of the best score are not retrieved. */
  minRelativeScore: z.number().min(0).max(1).default(0.15),
});
export type KnowledgeConfig = z.infer<typeof KnowledgeConfig>;

export interface KnowledgeBase {
  readonly docs: readonly KnowledgeDoc[];
  readonly byId: ReadonlyMap<string, KnowledgeDoc>;
  /** Files or documents that were skipped, with why. */
  readonly problems: readonly string[];
}

/** The shipped sample: `knowledge/` at the package root, from the sources or from `dist/`. */
export function defaultKnowledgeDir(): string {
  for (const rel of ['../../knowledge', '../../../knowledge']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL('../../knowledge', import.meta.url));
}

const FRONT = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/;

/** Parses one file's text into documents; throws with a message saying what is wrong. */
export function parseKnowledgeFile(text: string, source: string): KnowledgeDoc[] {
  const metas: { meta: unknown; body: string }[] = [];
  if (/\.md$/i.test(source)) {
    const m = FRONT.exec(text);
    if (!m) throw new Error('no YAML front matter (--- ... ---) at the top');
    metas.push({ meta: parseYaml(m[1] ?? ''), body: (m[2] ?? '').trim() });
  } else {
    const v: unknown = JSON.parse(text);
    for (const d of Array.isArray(v) ? v : [v]) {
      const body = typeof d === 'object' && d !== null && typeof (d as { body?: unknown }).body === 'string' ? (d as { body: string }).body : '';
      metas.push({ meta: d, body: body.trim() });
    }
  }
  return metas.map(({ meta, body }, i) => {
    const r = KnowledgeDocMeta.safeParse(meta);
    if (!r.success) {
      const msg = r.error.issues.map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`).join('; ');
      throw new Error(`document ${i + 1}: ${msg}`);
    }
    return { ...r.data, body, source };
  });
}

function listFiles(dir: string, maxFiles: number, problems: string[]): string[] {
  const out: string[] = [];
  // Breadth-first with sorted entries: the same folder gives the same order; depth and count are bounded.
  let level = [dir];
  for (let depth = 0; depth < 4 && level.length > 0; depth++) {
    const next: string[] = [];
    for (const d of level) {
      const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const p = join(d, e.name);
        if (e.isDirectory()) next.push(p);
        else if (e.isFile() && /\.(md|json)$/i.test(e.name) && !/^readme\.md$/i.test(e.name)) {
          if (out.length >= maxFiles) {
            problems.push(`${relative(dir, p)}: skipped, more than ${maxFiles} files`);
            continue;
          }
          out.push(p);
        }
      }
    }
    level = next;
  }
  return out;
}

/**
 * Loads a folder, synchronously: it happens once, when the pipeline is built. Bad files are skipped and listed in
 * `problems`; a configured folder that does not exist is a CONFIG_INVALID error, a missing sample folder an empty base.
 */
export function loadKnowledgeBase(cfg: KnowledgeConfig): KnowledgeBase {
  const dir = cfg.dir ?? defaultKnowledgeDir();
  const problems: string[] = [];
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    if (cfg.dir !== undefined) throw new NightshiftError('CONFIG_INVALID', `knowledge base ${dir} is not a folder`);
    return { docs: [], byId: new Map(), problems: [`sample knowledge base not found at ${dir}`] };
  }
  const docs: KnowledgeDoc[] = [];
  const byId = new Map<string, KnowledgeDoc>();
  for (const file of listFiles(dir, cfg.maxFiles, problems)) {
    const rel = relative(dir, file);
    const size = statSync(file).size;
    if (size > cfg.maxFileBytes) {
      problems.push(`${rel}: skipped, ${size} bytes > ${cfg.maxFileBytes}`);
      continue;
    }
    let parsed: KnowledgeDoc[];
    try {
      parsed = parseKnowledgeFile(readFileSync(file, 'utf8'), rel);
    } catch (e) {
      problems.push(`${rel}: ${(e as Error).message}`);
      continue;
    }
    for (const d of parsed) {
      if (byId.has(d.id)) {
        problems.push(`${rel}: duplicate id ${d.id} (first in ${byId.get(d.id)?.source}), skipped`);
        continue;
      }
      byId.set(d.id, d);
      docs.push(d);
    }
  }
  return { docs, byId, problems };
}

export function knowledgeBaseOf(docs: readonly KnowledgeDoc[]): KnowledgeBase {
  const byId = new Map<string, KnowledgeDoc>();
  const kept: KnowledgeDoc[] = [];
  const problems: string[] = [];
  for (const d of docs) {
    if (byId.has(d.id)) problems.push(`duplicate id ${d.id}`);
    else {
      byId.set(d.id, d);
      kept.push(d);
    }
  }
  return { docs: kept, byId, problems };
}

const globCache = new Map<string, RegExp>();
/** `*` matches any run of characters; everything else is literal. */
export function serviceMatches(pattern: string, service: string): boolean {
  if (!pattern.includes('*')) return pattern === service;
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    // The cache is bounded by the knowledge base's own patterns; a runaway set is simply not cached.
    if (globCache.size < 10_000) globCache.set(pattern, re);
  }
  return re.test(service);
}
