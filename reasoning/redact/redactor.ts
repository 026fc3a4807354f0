import { SecretScanner } from '../../core/redact/index.js';
import { compileRules, luhn, NEVER_RESTORED, RedactConfig, type RedactRule } from './patterns.js';

const PLACEHOLDER = /<([A-Z][A-Z0-9_]*)_(\d+)>/g;
const HAS_PLACEHOLDER = /<[A-Z][A-Z0-9_]*(?:_\d+)?>|<redacted:[a-z0-9-]+>/;
/** Values beyond the session's memory become this; it is never restored, so nothing sensitive is kept for it. */
export const OVERFLOW_PLACEHOLDER = '<REDACTED>';

export interface RedactionStats {
  /** Replacements made, by rule name. */
  readonly byRule: Readonly<Record<string, number>>;
  readonly distinctValues: number;
  readonly overflowed: number;
}

/**
 * One request's redaction: secrets go first and for good (`<redacted:RULE>`, the same rules as ingest, in case a
 * text came another way or ingest redaction was turned off); then personal data and identifiers get numbered
 * placeholders (`<EMAIL_1>` each time it appears, numbered by first appearance so the same input gives the same
 * request). `restore` puts back only what people need: values of the restorable classes and the incident's own
 * identifiers (service names); never a credential class. The map lives only as long as the session and holds at
 * most `maxValues` values.
 */
export class RedactionSession {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();
  private readonly perClass = new Map<string, number>();
  private readonly hits = new Map<string, number>();
  private overflowed = 0;

  constructor(
    private readonly rules: readonly RedactRule[],
    private readonly maxValues: number,
    readonly enabled: boolean,
    private readonly secrets: SecretScanner | null = null,
    private readonly restorable: ReadonlySet<string> = new Set(),
    private readonly identifiers: ReadonlySet<string> = new Set(),
  ) {}

  private placeholder(cls: string, value: string): string {
    const key = `${cls}\u0000${value}`;
    const known = this.byValue.get(key);
    if (known) return known;
    if (this.byValue.size >= this.maxValues) {
      this.overflowed++;
      return OVERFLOW_PLACEHOLDER;
    }
    const n = (this.perClass.get(cls) ?? 0) + 1;
    this.perClass.set(cls, n);
    const ph = `<${cls}_${n}>`;
    this.byValue.set(key, ph);
    this.byPlaceholder.set(ph, value);
    return ph;
  }

  redact(text: string): string {
    if (!this.enabled || text.length === 0) return text;
    let out = this.secrets ? this.secrets.redact(text) : text;
    for (const rule of this.rules) out = this.apply(rule, out);
    return out;
  }

  private apply(rule: RedactRule, text: string): string {
    const re = new RegExp(rule.re.source, rule.re.flags.includes('d') ? rule.re.flags : `${rule.re.flags}d`);
    let result = '';
    let last = 0;
    // Bounded: each iteration consumes at least one character of the input.
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      const span = m.indices?.[rule.group];
      const value = m[rule.group];
      if (!span || value === undefined || value.length === 0) continue;
      if (HAS_PLACEHOLDER.test(value)) continue;
      if (rule.name === 'card_number' && !luhn(value)) continue;
      result += text.slice(last, span[0]) + this.placeholder(rule.cls, value);
      last = span[1];
      this.hits.set(rule.name, (this.hits.get(rule.name) ?? 0) + 1);
    }
    return last === 0 ? text : result + text.slice(last);
  }

  /** Redacts every string inside a JSON-like value (object keys are left alone: they are the prompt's own fields). */
  redactDeep<T>(value: T): T {
    return this.walk(value, (s) => this.redact(s)) as T;
  }

  restore(text: string): string {
    if (this.byPlaceholder.size === 0) return text;
    return text.replace(PLACEHOLDER, (ph, cls: string) => {
      const v = this.byPlaceholder.get(ph);
      if (v === undefined || NEVER_RESTORED.includes(cls)) return ph;
      return this.restorable.has(cls) || this.identifiers.has(v) ? v : ph;
    });
  }

  restoreDeep<T>(value: T): T {
    return this.walk(value, (s) => this.restore(s)) as T;
  }

  private walk(v: unknown, f: (s: string) => string, depth = 0): unknown {
    // Depth-bounded: model output and prompts are shallow; a deeper value is returned as is rather than recursed.
    if (depth > 32) return v;
    if (typeof v === 'string') return f(v);
    if (Array.isArray(v)) return v.map((x) => this.walk(x, f, depth + 1));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = this.walk(x, f, depth + 1);
      return out;
    }
    return v;
  }

  stats(): RedactionStats {
    const byRule: Record<string, number> = {};
    for (const k of [...this.hits.keys()].sort()) byRule[k] = this.hits.get(k) ?? 0;
    return { byRule, distinctValues: this.byValue.size, overflowed: this.overflowed };
  }
}

/** Compiles the rules once; hands out one session per reasoning run. */
export class Redactor {
  private readonly rules: readonly RedactRule[];
  private readonly secrets: SecretScanner;
  private readonly restorable: ReadonlySet<string>;
  constructor(private readonly cfg: RedactConfig = RedactConfig.parse({})) {
    this.rules = compileRules(cfg);
    this.secrets = new SecretScanner();
    this.restorable = new Set(cfg.restore);
  }
  /** `identifiers`: values people need back in the output when a rule took them (the incident's service names). */
  session(identifiers: Iterable<string> = []): RedactionSession {
    return new RedactionSession(this.rules, this.cfg.maxValues, this.cfg.enabled, this.secrets, this.restorable, new Set(identifiers));
  }
}
