import { GITLEAKS } from './gitleaks-rules.js';
import type { GitleaksAllow, JsPattern } from './gitleaks-types.js';

/**
 * One compiled secret rule. `keywords` gate it (empty: it always runs); `group` is the capture group holding the
 * secret (0: the first group that matched, else the whole match, as gitleaks does).
 */
export interface SecretRule {
  readonly id: string;
  readonly re: RegExp;
  readonly keywords: readonly string[];
  readonly group: number;
  readonly entropy?: number;
  readonly allow: readonly CompiledAllow[];
  /** Gitleaks' generic rules also need a digit in the secret, so that `password=changeme` in docs is not a finding. */
  readonly needsDigit: boolean;
  readonly source: 'nightshift' | 'gitleaks' | 'config';
}

export interface CompiledAllow {
  readonly regexes: readonly RegExp[];
  readonly target: 'secret' | 'match' | 'line';
  readonly stopwords: readonly string[];
}

function compile(p: JsPattern, extra: string): RegExp {
  const flags = new Set([...p.flags, ...extra]);
  return new RegExp(p.source, [...flags].join(''));
}

function compileAllow(a: GitleaksAllow): CompiledAllow {
  const target = a.target === 'match' || a.target === 'line' ? a.target : 'secret';
  return { regexes: (a.regexes ?? []).map((r) => compile(r, '')), target, stopwords: a.stopwords ?? [] };
}

/** Key names that say their value is a credential, in any case, inside longer names (`DB_PASSWORD`, `x-api-key`). */
export const SECRET_NAME =
  '(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|signing[_-]?key|credentials?|creds|auth[_-]?(?:key|token)|session[_-]?(?:id|key|token)|cookie|sas|signature)';
/** A label or annotation key that names a credential: its whole value goes. */
export const SECRET_KEY_RE = new RegExp(`(?<![a-z])${SECRET_NAME}(?![a-z])|${SECRET_NAME}$`, 'i');

/** Literal pieces of SECRET_NAME: a rule that needs a name runs only where one occurs. */
const NAME_WORDS = ['pass', 'pwd', 'secret', 'token', 'key', 'cred', 'cookie', 'sas', 'signature', 'session'];

/**
 * Separator between a name and its value, after an optional suffix that starts with `_`, `.` or `-` (`password_hash`,
 * `token-id`; not `tokens=1200`, a count): `=`, `:`, `=>`, `:=`, URL-encoded `=`, with optional (escaped) quotes. */
const SEP = `(?:[_.-][A-Za-z0-9_-]{0,20})?\\\\?["']?\\s{0,3}(?:=>|:=|[:=]|%3[dDaA])\\s{0,3}`;

/**
 * Ours, for what logs and alerts carry that code scanners tune away: low-entropy passwords (`DB_PASSWORD=hunter2`),
 * credentials in any URL scheme (`redis://:pw@`), auth headers, whole private-key blocks (also cut off before their
 * END line), CLI flags. They run before gitleaks' rules where one of their literal words occurs.
 */
const NIGHTSHIFT: readonly { id: string; source: string; flags: string; group: number; keywords: readonly string[] }[] = [
  {
    id: 'private-key-block',
    source: '-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\\s\\S]{0,16384}?(?:-----END[ A-Z0-9_-]{0,100}-----|$)',
    flags: 'i',
    group: 0,
    keywords: ['-----begin'],
  },
  { id: 'url-credentials', source: '\\b[a-z][a-z0-9+.-]{1,20}://[^\\s:/@"\'<>]{0,128}:([^\\s@/"\'<>]{1,256})@', flags: 'i', group: 1, keywords: ['://'] },
  // Wider than gitleaks' (base32 only), so test and documentation keys go too.
  { id: 'aws-access-key-id', source: '\\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\\b', flags: '', group: 0, keywords: ['akia', 'asia', 'abia', 'acca', 'a3t'] },
  // sk-/pk-/rk- keys of many vendors (OpenAI, Stripe, Anthropic and their look-alikes).
  { id: 'prefixed-api-key', source: '\\b(?:sk|pk|rk)[-_](?:live[-_]|test[-_]|proj-|ant-)?[A-Za-z0-9_-]{16,}', flags: '', group: 0, keywords: ['sk-', 'sk_', 'pk-', 'pk_', 'rk-', 'rk_'] },
  { id: 'auth-header', source: '\\b(?:bearer|basic|digest)\\s+([A-Za-z0-9._~+/=-]{8,})', flags: 'i', group: 1, keywords: ['bearer', 'basic', 'digest'] },
  // Quoted values may hold spaces (`"password": "correct horse"`); unquoted ones end at a delimiter.
  { id: 'credential-assignment', source: `(?<![a-z])${SECRET_NAME}${SEP}\\\\?"([^"\\\\\\r\\n]{1,512})\\\\?"`, flags: 'i', group: 1, keywords: NAME_WORDS },
  { id: 'credential-assignment', source: `(?<![a-z])${SECRET_NAME}${SEP}'([^'\\r\\n]{1,512})'`, flags: 'i', group: 1, keywords: NAME_WORDS },
  { id: 'credential-assignment', source: `(?<![a-z])${SECRET_NAME}${SEP}(?:%22)?([^\\s"'<>,;&}\\]\\\\%]{1,512})`, flags: 'i', group: 1, keywords: NAME_WORDS },
  // The case-insensitive rules above need a non-letter before the name; these take names glued to a prefix by case:
  // environment style (PGPASSWORD, MYSQL_PWD) and camelCase (dbPassword, clientSecret).
  { id: 'credential-assignment', source: '\\b[A-Z][A-Z0-9_]{0,40}(?:PASSWORD|PASSWD|PASSPHRASE|PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)(?:_[A-Z0-9_]{0,20})?\\s{0,2}[:=]\\s{0,2}["\']?([^\\s"\',;&}]{1,512})', flags: '', group: 1, keywords: NAME_WORDS },
  { id: 'credential-assignment', source: '\\b[a-z][a-z0-9]{0,40}(?:Password|Passwd|Passphrase|Pwd|Secret|Token|ApiKey|AccessKey|PrivateKey|Credentials?)(?:[A-Z][A-Za-z0-9]{0,20})?["\']?\\s{0,2}[:=]\\s{0,2}["\']?([^\\s"\',;&}]{1,512})', flags: '', group: 1, keywords: NAME_WORDS },
  { id: 'credential-flag', source: `--[a-z-]{0,30}${SECRET_NAME}[a-z-]{0,10}\\s+([^\\s"'-][^\\s"']{0,511})`, flags: 'i', group: 1, keywords: NAME_WORDS },
];

let cachedBuiltin: SecretRule[] | undefined;

/** Our rules, then gitleaks', compiled once per process. */
export function builtinRules(): readonly SecretRule[] {
  if (cachedBuiltin) return cachedBuiltin;
  const ours: SecretRule[] = NIGHTSHIFT.map((r) => ({
    id: r.id,
    re: compile(r, 'gd'),
    keywords: r.keywords,
    group: r.group,
    allow: [],
    needsDigit: false,
    source: 'nightshift',
  }));
  const theirs: SecretRule[] = GITLEAKS.rules.map((r) => {
    const entropy = r.entropy;
    return {
      id: r.id,
      re: compile(r, 'gd'),
      keywords: r.keywords,
      group: r.secretGroup ?? 0,
      ...(entropy !== undefined ? { entropy } : {}),
      allow: (r.allow ?? []).map(compileAllow),
      needsDigit: r.id.startsWith('generic'),
      source: 'gitleaks',
    };
  });
  cachedBuiltin = [...ours, ...theirs];
  return cachedBuiltin;
}

/** Gitleaks' global allowlist (placeholders such as `${VAR}`, `true`, `null`), applied to every gitleaks secret. */
export const GLOBAL_ALLOW: CompiledAllow = compileAllow({ regexes: GITLEAKS.global.regexes, target: 'secret', stopwords: GITLEAKS.global.stopwords });

export const GITLEAKS_VERSION = GITLEAKS.version;
