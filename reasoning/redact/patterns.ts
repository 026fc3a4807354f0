import { z } from 'zod';

/**
 * What is secret or personal in operational text. Each rule names the placeholder class it produces
 * (`<EMAIL_1>`, `<SECRET_2>`, ...). Rules run in this order, so a URL password is taken before the generic
 * key=value rule sees it, and tokens before the IP rule can split them.
 * `group` is the capture group that holds the sensitive part (0 = the whole match): the rest of the match
 * (`password=`, `Bearer `, `https://user:`) stays readable, which keeps the text useful to a model.
 */
export interface RedactRule {
  readonly name: string;
  readonly cls: string;
  readonly re: RegExp;
  readonly group: number;
}

export const BUILTIN_RULES: readonly RedactRule[] = [
  { name: 'private_key', cls: 'SECRET', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]{0,8192}?-----END [A-Z ]*PRIVATE KEY-----/g, group: 0 },
  // scheme://user:password@host: only the password goes; the user name is often a service account worth seeing.
  { name: 'url_password', cls: 'PASSWORD', re: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@"'<>]{1,128}:([^\s@/"'<>]{1,256})@/gi, group: 1 },
  { name: 'jwt', cls: 'TOKEN', re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, group: 0 },
  { name: 'bearer', cls: 'TOKEN', re: /\b(?:bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})/gi, group: 1 },
  { name: 'aws_access_key', cls: 'KEY', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, group: 0 },
  { name: 'github_token', cls: 'TOKEN', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b/g, group: 0 },
  { name: 'slack_token', cls: 'TOKEN', re: /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g, group: 0 },
  { name: 'api_key', cls: 'KEY', re: /\b(?:sk|pk|rk)[-_](?:live_|test_|proj-)?[A-Za-z0-9_-]{16,}\b/g, group: 0 },
  { name: 'google_api_key', cls: 'KEY', re: /\bAIza[0-9A-Za-z_-]{35}\b/g, group: 0 },
  // key=value and "key": "value" forms of the usual secret names; the value is what goes.
  {
    name: 'secret_assignment',
    cls: 'SECRET',
    re: /\b(?:password|passwd|pwd|secret|client_secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|token|session[_-]?id|credentials?)["']?\s*[:=]\s*["']?([^\s"',;&}]{3,256})/gi,
    group: 1,
  },
  { name: 'email', cls: 'EMAIL', re: /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b/g, group: 0 },
  { name: 'ipv4', cls: 'IP', re: /\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b/g, group: 0 },
  // Full (8 groups) or compressed (with `::`) IPv6 only, so that times like 10:42:07 are not taken.
  {
    name: 'ipv6',
    cls: 'IP',
    re: /(?<![\w:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?|::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})(?![\w:])/gi,
    group: 0,
  },
  // 13-19 digit card numbers (with spaces or dashes); the Luhn check below keeps order ids out.
  { name: 'card_number', cls: 'CARD', re: /\b(?:\d[ -]?){12,18}\d\b/g, group: 0 },
];

export const BUILTIN_RULE_NAMES = BUILTIN_RULES.map((r) => r.name);

/** Luhn checksum: a 13-19 digit run is a card number only when it passes. */
export function luhn(digits: string): boolean {
  const d = digits.replace(/\D/g, '');
  if (d.length < 13 || d.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

const FLAGS = /^[imsu]*$/;

/** Classes of the builtin credential rules: what they hide must never reach a ticket, whatever the config says. */
export const NEVER_RESTORED: readonly string[] = ['SECRET', 'PASSWORD', 'TOKEN', 'KEY', 'CARD'];

/** A configured pattern: a regex source; the whole match (or `group`) is replaced by `<CLASS_n>`. */
export const RedactPattern = z
  .strictObject({
    name: z.string().min(1).max(64),
    regex: z.string().min(1).max(1024),
    flags: z.string().regex(FLAGS, 'flags may only use i, m, s, u').default(''),
    /** Placeholder class, upper case: `<CUSTOMER_1>`. */
    cls: z.string().regex(/^[A-Z][A-Z0-9_]{0,31}$/).default('REDACTED'),
    group: z.number().int().min(0).max(9).default(0),
  })
  .superRefine((p, ctx) => {
    try {
      new RegExp(p.regex, p.flags);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `pattern ${p.name}: ${(e as Error).message}`, path: ['regex'] });
    }
  });
export type RedactPattern = z.infer<typeof RedactPattern>;

export const RedactConfig = z.strictObject({
  /** Off only for a model inside the trust boundary (a local model); the default is on. */
  enabled: z.boolean().default(true),
  /** Builtin rules to skip, by name (e.g. `ipv4` when addresses are not personal data in your estate). */
  disable: z.array(z.enum(BUILTIN_RULE_NAMES as [string, ...string[]])).default([]),
  /** Extra patterns, applied after the builtins. */
  patterns: z.array(RedactPattern).max(64).default([]),
  /**
   * Placeholder classes restored in published output when the model repeats them (e.g. `IP` where addresses are
   * host names people need). Default none. Credential classes can never be restored.
   */
  restore: z
    .array(z.string().regex(/^[A-Z][A-Z0-9_]{0,31}$/))
    .max(32)
    .default([])
    .refine((l) => !l.some((c) => NEVER_RESTORED.includes(c)), { message: `${NEVER_RESTORED.join(', ')} are credentials and are never restored` }),
  /** Distinct values remembered per request; beyond it values become a plain `<REDACTED>` that is never restored. */
  maxValues: z.number().int().min(1).max(100_000).default(5000),
});
export type RedactConfig = z.infer<typeof RedactConfig>;

export function compileRules(cfg: RedactConfig): RedactRule[] {
  const off = new Set(cfg.disable);
  const rules = BUILTIN_RULES.filter((r) => !off.has(r.name));
  for (const p of cfg.patterns) {
    const flags = p.flags.includes('g') ? p.flags : `${p.flags}g`;
    rules.push({ name: p.name, cls: p.cls, re: new RegExp(p.regex, flags), group: p.group });
  }
  return rules;
}
