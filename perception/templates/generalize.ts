import { WILDCARD } from './mask.js';

/**
 * Token-level comparison and generalization for the miner. A template token is either a constant, or contains
 * `<*>` (from masking, or learned here). Learned generalization keeps a shared prefix and suffix when they end at
 * punctuation: `MININT-FNANLI5` and `MININT-QDMHSJ2` become `MININT-<*>`, not `<*>`; `(spawning).` and `(building).`
 * become `(<*>).`. This keeps templates equal to what a person would write, which plain Drain does not.
 */

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c > 127;
}

/** A cut point is valid only at punctuation that is not part of a placeholder (`<`, `*`, `>`). */
function isCutChar(c: number): boolean {
  // `_` joins words of one identifier (`Thunderbird_A8`): never a cut point.
  return !isAlnum(c) && c !== 60 && c !== 42 && c !== 62 && c !== 95;
}

/** Does `token` fit the glob `pattern`, where `<*>` stands for zero or more characters? */
export function globMatch(pattern: string, token: string): boolean {
  const parts = pattern.split(WILDCARD);
  if (parts.length === 1) return pattern === token;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (!token.startsWith(first) || !token.endsWith(last)) return false;
  if (first.length + last.length > token.length) return false;
  let pos = first.length;
  const end = token.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const p = parts[i] as string;
    const at = token.indexOf(p, pos);
    if (at < 0 || at + p.length > end) return false;
    pos = at + p.length;
  }
  return pos <= end;
}

function collapse(t: string): string {
  let s = t;
  while (s.includes('<*><*>')) s = s.replaceAll('<*><*>', WILDCARD);
  return s;
}

/** The most specific token covering both `a` (a template token) and `b` (a message token); they differ. */
export function generalizeToken(a: string, b: string): string {
  if (a === WILDCARD) return a;
  if (a.includes(WILDCARD) && globMatch(a, b)) return a;
  const max = Math.min(a.length, b.length);
  let p = 0;
  while (p < max && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  // Cut the prefix back to just after its last punctuation (keep `MININT-`, drop `MININT-F`).
  while (p > 0 && !isCutChar(a.charCodeAt(p - 1))) p--;
  let s = 0;
  while (s < max - p && a.charCodeAt(a.length - 1 - s) === b.charCodeAt(b.length - 1 - s)) s++;
  while (s > 0 && !isCutChar(a.charCodeAt(a.length - s))) s--;
  if (p === 0 && s === 0) return WILDCARD;
  // An empty value is a value only inside a frame on both sides (`()` and `(host)`); otherwise `x` and `LOGIN(x)`
  // would become `<*>x`.
  if ((a.length - p - s < 1 || b.length - p - s < 1) && (p === 0 || s === 0)) return WILDCARD;
  const prefix = a.slice(0, p);
  const suffix = a.slice(a.length - s);
  // A slot framed only by a stray dot or dash is noise, not structure.
  if (!/[A-Za-z0-9()[\]{}'"=:@#]/.test(prefix + suffix)) return WILDCARD;
  return collapse(prefix + WILDCARD + suffix);
}
