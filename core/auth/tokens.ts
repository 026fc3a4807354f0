import { createHash, timingSafeEqual } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { NightshiftError } from '../errors.js';

/**
 * Bearer tokens, each with a name that audit lines and metrics carry instead of the token. Two sources:
 *   a file:       a YAML (or JSON) map of name -> token, e.g. `alertmanager: 6f1c...` one per line;
 *   a directory:  one file per token, the file name is the name and the content the token (a mounted Kubernetes
 *                 Secret looks like this; its `..data` bookkeeping entries, and any other dot-file, are skipped).
 * A name is 1 to 63 characters of [A-Za-z0-9._-] (it becomes a metric label); a token is 16 to 4096 printable ASCII
 * characters without spaces (what an Authorization header can carry). An empty set is an error: a file emptied by
 * mistake must not turn authentication off.
 */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const MIN_TOKEN_LENGTH = 16;
const MAX_TOKEN_LENGTH = 4096;
const TOKEN_RE = /^[\x21-\x7e]+$/;

interface Entry {
  readonly name: string;
  readonly digest: Buffer;
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export class TokenSet {
  private readonly entries: readonly Entry[];

  constructor(tokens: ReadonlyMap<string, string>) {
    this.entries = [...tokens].map(([name, token]) => ({ name, digest: digest(token) }));
  }

  get size(): number {
    return this.entries.length;
  }

  names(): string[] {
    return this.entries.map((e) => e.name).sort();
  }

  /**
   * The name of the token presented, or null. Digests have one length, so timingSafeEqual applies; every entry is
   * compared, so the time says nothing about which one (or whether any) matched.
   */
  match(presented: string): string | null {
    const d = digest(presented);
    let found: string | null = null;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && found === null) found = e.name;
    return found;
  }
}

function invalid(source: string, why: string): NightshiftError {
  return new NightshiftError('CONFIG_INVALID', `tokens ${source}: ${why}`);
}

/** Checks names and tokens; messages name the entry, never show the token. */
export function validateTokens(pairs: ReadonlyArray<readonly [string, unknown]>, source: string): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const [name, raw] of pairs) {
    if (!NAME_RE.test(name)) throw invalid(source, `name ${JSON.stringify(name)} must be 1 to 63 characters of letters, digits, '.', '_' or '-'`);
    if (typeof raw !== 'string') throw invalid(source, `the token of ${name} must be a string (quote it if YAML reads it as a number)`);
    const token = raw.trim();
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
      throw invalid(source, `the token of ${name} has ${token.length} characters; use ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`);
    }
    if (!TOKEN_RE.test(token)) throw invalid(source, `the token of ${name} may hold only printable ASCII without spaces`);
    if (out.has(name)) throw invalid(source, `name ${name} appears twice`);
    const other = seen.get(token);
    // Two names for one token would make the audit trail guess who wrote.
    if (other !== undefined) throw invalid(source, `${name} and ${other} have the same token`);
    seen.set(token, name);
    out.set(name, token);
  }
  if (out.size === 0) throw invalid(source, 'no tokens; give at least one (an empty set would let nobody in, or everybody if ignored)');
  return out;
}

export function parseTokenFile(text: string, source: string): Map<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw invalid(source, `does not parse as YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return validateTokens([], source);
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalid(source, 'must be a map of name: token');
  return validateTokens(Object.entries(doc as Record<string, unknown>), source);
}

async function readDir(path: string): Promise<Map<string, string>> {
  const pairs: Array<[string, string]> = [];
  for (const name of (await readdir(path)).sort()) {
    if (name.startsWith('.')) continue;
    const file = join(path, name);
    // stat follows the Secret's symlinks to the current ..data; anything that is not a file is not a token.
    if (!(await stat(file)).isFile()) continue;
    pairs.push([name, await readFile(file, 'utf8')]);
  }
  return validateTokens(pairs, path);
}

/** Reads a token file or directory; a missing path or bad content is CONFIG_INVALID. */
export async function readTokens(path: string): Promise<Map<string, string>> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw invalid(path, `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (isDir) return readDir(path);
  return parseTokenFile(await readFile(path, 'utf8'), path);
}

/** A cheap fingerprint of what was read, so a poll that finds the same tokens changes nothing. */
export function fingerprint(tokens: ReadonlyMap<string, string>): string {
  const h = createHash('sha256');
  for (const [n, t] of [...tokens].sort(([a], [b]) => (a < b ? -1 : 1))) h.update(`${n}\0${t}\0`);
  return h.digest('hex');
}
