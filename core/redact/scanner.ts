import { z } from 'zod';
import { looksRandom, shannon, type EntropyConfig } from './entropy.js';
import { KeywordIndex } from './keywords.js';
import { builtinRules, GLOBAL_ALLOW, type CompiledAllow, type SecretRule } from './rules.js';

/** A configured extra rule: a regex source; the capture group `group` (0: the whole match) is the secret. */
export const SecretPattern = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and dashes'),
    regex: z.string().min(1).max(2048),
    flags: z.string().regex(/^[imsu]*$/, 'flags may only use i, m, s, u').default(''),
    group: z.number().int().min(0).max(9).default(0),
    /** Lower-case words; when given, the rule runs only on text containing one of them (fast). */
    keywords: z.array(z.string().min(1).max(64)).max(64).default([]),
  })
  .superRefine((p, ctx) => {
    try {
      new RegExp(p.regex, p.flags);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `secret pattern ${p.id}: ${(e as Error).message}`, path: ['regex'] });
    }
  });
export type SecretPattern = z.infer<typeof SecretPattern>;

export const SecretRedactionConfig = z.strictObject({
  /** Off only when no text can leave the trust boundary; the default is on. */
  enabled: z.boolean().default(true),
  /** Rule ids to skip (nightshift's or gitleaks'), for a rule that takes too much in your estate. */
  disable: z.array(z.string().min(1)).max(256).default([]),
  patterns: z.array(SecretPattern).max(64).default([]),
  /** Long random-looking tokens (bare keys, lines of a key's body) go even without a rule that names them. */
  entropy: z
    .strictObject({ enabled: z.boolean().default(true), minLength: z.number().int().min(12).max(256).default(20), minBits: z.number().min(2).max(6).default(4) })
    .default({ enabled: true, minLength: 20, minBits: 4 }),
  /** Base64 tokens are decoded and scanned too (a base64 `password=...`, a Kubernetes Secret's data). */
  decodeBase64: z.boolean().default(true),
});
export type SecretRedactionConfig = z.infer<typeof SecretRedactionConfig>;

export function defaultSecretRedaction(): SecretRedactionConfig {
  return SecretRedactionConfig.parse({});
}

/** What replaces a secret: it names the rule (so people know why text is gone) and is never restored. */
export function secretMark(rule: string): string {
  return `<redacted:${rule}>`;
}
const MARK = /<redacted:[a-z0-9-]+>/;

/** Redactions by rule over every scanner of the process: the `nightshift_secrets_redacted_total` metric. */
const TOTALS = new Map<string, number>();

export function redactionTotals(): Record<string, number> {
  return Object.fromEntries([...TOTALS.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

interface Span {
  start: number;
  end: number;
  rule: string;
}

/** Token characters: letters, digits, `+`, `/`, `_`, `-` (base64, base64url and most key alphabets). */
const TOKEN_CHARS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') TOKEN_CHARS[c.charCodeAt(0)] = 1;
const isTokenChar = (c: number): boolean => c < 128 && TOKEN_CHARS[c] === 1;
const PLAIN_SEGMENT = /^(?:[a-z]{3,}|[0-9]{2,}|[A-Z][a-z]{2,})$/;
const B64 = /^[A-Za-z0-9+/]{16,}={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]{16,}={0,2}$/;
/** A field longer than this is scanned in pieces (with an overlap), so one line cannot cost more than linear time. */
const WINDOW = 65_536;
/**
 * Texts up to this length that were found clean are remembered (CLEAN_MEMO_MAX of them): label values, span names and
 * hosts repeat on nearly every record (`prod-eu-1`, pod names), and scanning them again was most of the scanner's
 * time in bench:replay. Scanning is a pure function of the text, so the memo cannot change a result; only clean texts
 * are kept, so the redaction counts of texts with findings are still counted on every occurrence. When full it is
 * cleared (cheaper than LRU bookkeeping, and it refills within a few records).
 */
export const CLEAN_MEMO_MAX_CHARS = 128;
export const CLEAN_MEMO_MAX = 8_192;

/**
 * Finds secrets in text and replaces them with `<redacted:RULE>`. Deterministic and stateless per call; counts
 * what it redacted by rule. The rule set: nightshift's log-oriented rules, then gitleaks' (core/redact/gitleaks-rules.ts,
 * generated from its maintained config), then configured ones; plus the entropy check and one level of base64
 * decoding. Overlapping findings merge into one mark.
 */
export class SecretScanner {
  private readonly always: SecretRule[] = [];
  private readonly gated: SecretRule[] = [];
  private readonly gate: KeywordIndex;
  /** Keyword id -> indexes into `gated`. */
  private readonly byKeyword: number[][] = [];
  readonly counts = new Map<string, number>();
  private readonly entropy: EntropyConfig;
  /** Scratch reused per call (single-threaded; `find` does not re-enter itself except on decoded text, see hasSecret). */
  private readonly hits = new Set<number>();
  private ruleMarks: Uint8Array = new Uint8Array(0);
  private readonly clean = new Set<string>();
  /** Clean texts remembered now (at most CLEAN_MEMO_MAX; the memo is emptied when full). */
  get memoSize(): number {
    return this.clean.size;
  }

  constructor(private readonly cfg: SecretRedactionConfig = defaultSecretRedaction()) {
    const off = new Set(cfg.disable);
    const extra: SecretRule[] = cfg.patterns.map((p) => ({
      id: p.id,
      re: new RegExp(p.regex, `${p.flags}gd`),
      keywords: p.keywords.map((k) => k.toLowerCase()),
      group: p.group,
      allow: [],
      needsDigit: false,
      source: 'config',
    }));
    const keywords: string[] = [];
    const kwId = new Map<string, number>();
    for (const r of [...builtinRules(), ...extra]) {
      if (off.has(r.id)) continue;
      if (r.keywords.length === 0) {
        this.always.push(r);
        continue;
      }
      const idx = this.gated.push(r) - 1;
      for (const k of r.keywords) {
        let id = kwId.get(k);
        if (id === undefined) {
          id = keywords.push(k) - 1;
          kwId.set(k, id);
          this.byKeyword.push([]);
        }
        this.byKeyword[id]!.push(idx);
      }
    }
    this.gate = new KeywordIndex(keywords);
    this.ruleMarks = new Uint8Array(this.gated.length);
    this.entropy = cfg.entropy;
  }

  /** Counts one redaction (also for callers that redact whole values by their key, such as labels). */
  count(rule: string): void {
    this.counts.set(rule, (this.counts.get(rule) ?? 0) + 1);
    TOTALS.set(rule, (TOTALS.get(rule) ?? 0) + 1);
  }

  get enabled(): boolean {
    return this.cfg.enabled;
  }

  /** The text with every secret found replaced; the same string when nothing was found (no copy). */
  redact(text: string): string {
    if (!this.cfg.enabled || text.length < 6) return text;
    if (text.length <= CLEAN_MEMO_MAX_CHARS) {
      if (this.clean.has(text)) return text;
      const out = this.redactWindow(text, true);
      // Equal only when nothing was found: a finding is replaced by a mark, and a mark is never a finding (MARK).
      if (out === text) {
        if (this.clean.size >= CLEAN_MEMO_MAX) this.clean.clear();
        this.clean.add(text);
      }
      return out;
    }
    if (text.length <= WINDOW) return this.redactWindow(text, true);
    let out = '';
    for (let i = 0; i < text.length; i += WINDOW) out += this.redactWindow(text.slice(i, i + WINDOW), true);
    return out;
  }

  /** True when `text` holds something the rules call a secret (used on decoded base64). */
  private hasSecret(text: string): boolean {
    return this.find(text, false).length > 0;
  }

  private redactWindow(text: string, decode: boolean): string {
    const spans = this.find(text, decode);
    if (spans.length === 0) return text;
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    let out = '';
    let last = 0;
    let cur: Span | undefined;
    const flush = (s: Span): void => {
      out += text.slice(last, s.start) + secretMark(s.rule);
      last = s.end;
      this.count(s.rule);
    };
    for (const s of spans) {
      if (cur && s.start < cur.end) cur.end = Math.max(cur.end, s.end);
      else {
        if (cur) flush(cur);
        cur = { ...s };
      }
    }
    if (cur) flush(cur);
    return out + text.slice(last);
  }

  private find(text: string, decode: boolean): Span[] {
    const spans: Span[] = [];
    for (const r of this.always) this.apply(r, text, spans);
    const hits = this.gate.find(text, this.hits);
    if (hits.size > 0) {
      // In rule order, each rule once, whatever number of its keywords occurred.
      const run = this.ruleMarks;
      for (const k of hits) for (const i of this.byKeyword[k]!) run[i] = 1;
      hits.clear();
      for (let i = 0; i < run.length; i++) {
        if (run[i] === 0) continue;
        run[i] = 0;
        this.apply(this.gated[i]!, text, spans);
      }
    }
    if (this.entropy.enabled || (decode && this.cfg.decodeBase64)) this.tokens(text, decode, spans);
    return spans;
  }

  private tokens(text: string, decode: boolean, spans: Span[]): void {
    // One pass over char codes: a regex for runs of 12+ token characters retries at every position of a shorter run.
    const n = text.length;
    let i = 0;
    while (i < n) {
      while (i < n && !isTokenChar(text.charCodeAt(i))) i++;
      const start = i;
      while (i < n && isTokenChar(text.charCodeAt(i))) i++;
      let end = i;
      // `=` only as padding: inside a token it is an assignment (`userId=<uuid>`), whose value is judged alone.
      if (end - start >= 12) for (let pad = 0; pad < 2 && text.charCodeAt(end) === 61; pad++) end++;
      if (end - start < 12) continue;
      i = end;
      const tok = text.slice(start, end);
      if (this.entropy.enabled && this.randomToken(tok)) {
        spans.push({ start, end, rule: 'high-entropy-token' });
        continue;
      }
      if (decode && this.cfg.decodeBase64 && (B64.test(tok) || B64URL.test(tok))) {
        const plain = Buffer.from(tok, B64.test(tok) ? 'base64' : 'base64url').toString('latin1');
        if (printable(plain) && this.hasSecret(plain)) spans.push({ start, end, rule: 'encoded-secret' });
      }
    }
  }

  /**
   * A token with `/` is a path (`9000/pjhe/logs/2kSOSP`, `/api/v1/products/OLJCESPC7Z`) when one of its segments
   * is a plain word or number, or it starts with `/` or has more than two, and is then judged segment by segment; otherwise (a base64 key, whose segments are
   * all mixed) as a whole.
   */
  private randomToken(tok: string): boolean {
    if (!tok.includes('/')) return looksRandom(tok, this.entropy);
    const segs = tok.split('/');
    if (tok.startsWith('/') || segs.length > 3 || segs.some((seg) => PLAIN_SEGMENT.test(seg))) return segs.some((seg) => looksRandom(seg, this.entropy));
    return looksRandom(tok, this.entropy);
  }

  private apply(r: SecretRule, text: string, spans: Span[]): void {
    const re = r.re;
    re.lastIndex = 0;
    // Bounded: each iteration consumes at least one character.
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      let g = r.group;
      if (g === 0) for (let i = 1; i < m.length; i++) if (m[i]) { g = i; break; }
      const secret = m[g];
      const at = m.indices?.[g];
      if (secret === undefined || at === undefined || secret.length === 0 || MARK.test(secret)) continue;
      if (r.entropy !== undefined && shannon(secret) < r.entropy) continue;
      if (r.needsDigit && !/\d/.test(secret)) continue;
      if (r.source === 'gitleaks' && (allowed(GLOBAL_ALLOW, secret, m[0], text) || r.allow.some((a) => allowed(a, secret, m[0], text)))) continue;
      spans.push({ start: at[0], end: at[1], rule: r.id });
    }
  }
}

function allowed(a: CompiledAllow, secret: string, match: string, line: string): boolean {
  const target = a.target === 'match' ? match : a.target === 'line' ? line : secret;
  for (const re of a.regexes) {
    re.lastIndex = 0;
    if (re.test(target)) return true;
  }
  if (a.stopwords.length > 0) {
    const s = secret.toLowerCase();
    for (const w of a.stopwords) if (s.includes(w)) return true;
  }
  return false;
}

/** Decoded bytes that read as text (a decoded secret), not as binary (a random key that happens to be base64). */
function printable(s: string): boolean {
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13) ok++;
  }
  return ok >= 0.95 * s.length;
}
