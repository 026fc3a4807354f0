/** Shannon entropy of a string, in bits per character. */
export function shannon(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export interface EntropyConfig {
  readonly enabled: boolean;
  /** Shortest token considered (characters). */
  readonly minLength: number;
  /** Least Shannon entropy, bits per character. */
  readonly minBits: number;
}

const HEX = /^(?:[0-9a-f]+|[0-9A-F]+)$/;
const UUIDISH = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

type Cls = 0 | 1 | 2 | 3; // lower, upper, digit, other

function cls(c: number): Cls {
  if (c >= 97 && c <= 122) return 0;
  if (c >= 65 && c <= 90) return 1;
  if (c >= 48 && c <= 57) return 2;
  return 3;
}

/**
 * Does a token look like a random secret (a bare API key, a base64 key, a line of a PEM body)? Hex (trace and
 * span ids, commit hashes, digests) and UUIDs are identifiers people need and are left alone; a key written in hex
 * is caught by the rules that look at its name. Words and identifiers are told apart from random strings by how
 * often the character class changes: `HipsterShopServer2024` changes 6 times in 21 characters, a random base62
 * string about 13 times (0.6 per character).
 */
export function looksRandom(tok: string, cfg: EntropyConfig): boolean {
  const n = tok.length;
  if (n < cfg.minLength || HEX.test(tok) || UUIDISH.test(tok)) return false;
  let seen = 0;
  let switches = 0;
  let digits = 0;
  let prev: Cls | -1 = -1;
  for (let i = 0; i < n; i++) {
    const k = cls(tok.charCodeAt(i));
    if (k === 2) digits++;
    if (k !== 3) seen |= 1 << k;
    if (prev !== -1 && k !== prev) switches++;
    prev = k;
  }
  const classes = (seen & 1) + ((seen >> 1) & 1) + ((seen >> 2) & 1);
  if (classes < 3 || digits < 2 || switches < 0.35 * n) return false;
  // A short token cannot reach the entropy of a long one: log2(n) is its ceiling.
  const need = Math.min(cfg.minBits, Math.log2(n) - 0.6);
  return shannon(tok) >= need;
}
