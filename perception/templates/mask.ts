/**
 * Token masking, applied before the template tree. Masking is what makes an online miner accurate with ONE config:
 * a value that is obviously variable (a number, an address, an id) must never reach the tree as a constant, or it
 * splits one event type into thousands of clusters.
 *
 * Masking works per whitespace token and keeps the token's punctuation: `uid=1000,` becomes `uid=<*>,` and
 * `mice.c(1766)` becomes `mice.c(<*>)`. Keeping punctuation keeps the template readable and equal to what a human
 * writes as the template (the Loghub convention), which a whole-token `<*>` would not.
 *
 * Placeholders: the generic `<*>` (the default, the Loghub convention) or typed ones (`<NUM>`, `<IP>`, ...: see
 * TYPED_PLACEHOLDER) when a caller wants to see the kind. The miner treats both the same way: a masked segment is
 * compared as its placeholder text.
 *
 * Speed matters (the miner targets far above a million tokens per second): tokens without a digit and without any of
 * `/ @ = :` take a fast path that allocates nothing; regular expressions only run on the rest.
 */

export const WILDCARD = '<*>';

export type MaskKind =
  | 'url'
  | 'email'
  | 'uuid'
  | 'ip'
  | 'host'
  | 'mac'
  | 'path'
  | 'timestamp'
  | 'duration'
  | 'size'
  | 'hex'
  | 'num'
  | 'bool'
  | 'id'
  | 'kv';

export const TYPED_PLACEHOLDER: Readonly<Record<MaskKind, string>> = {
  url: '<URL>',
  email: '<EMAIL>',
  uuid: '<UUID>',
  ip: '<IP>',
  host: '<HOST>',
  mac: '<MAC>',
  path: '<PATH>',
  timestamp: '<TS>',
  duration: '<DURATION>',
  size: '<SIZE>',
  hex: '<HEX>',
  num: '<NUM>',
  bool: '<BOOL>',
  id: '<ID>',
  kv: '<VALUE>',
};

export type PlaceholderStyle = 'generic' | 'typed';

function placeholder(kind: MaskKind, style: PlaceholderStyle): string {
  return style === 'typed' ? TYPED_PLACEHOLDER[kind] : WILDCARD;
}

/** True for the placeholder of any style; used by the miner, which must treat typed placeholders as variables too. */
export function isPlaceholder(token: string): boolean {
  return token === WILDCARD || (token.length > 2 && token.charCodeAt(0) === 60 && /^<[A-Z]+>$/.test(token));
}

// Whole-core patterns, tried in this order (most specific first). Anchored, no nested quantifiers: linear time.
const RE_URL = /^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i;
const RE_EMAIL = /^[^@\s/]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/i;
const RE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RE_IPV4 = /^\/?(\d{1,3}\.){3}\d{1,3}(:\d{1,5})?$/;
const RE_HOST_PORT = /^[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)*:\d{1,5}$/;
// A numbered host in a domain: first label ends in a digit, at least three labels, a lowercase alphabetic last label
// (`node12.example.com`, `MSRA-SA-39.fareast.corp.microsoft.com`; see isNumberedHost). Two labels are too often a
// file (`hadoop-metrics2.properties`), and a first label without a trailing digit too often a package
// (`log4j.appender.x`).
const RE_HOSTNAME = /^[A-Za-z][A-Za-z0-9-]*\d\.[A-Za-z0-9.-]*\.[a-z]{2,}$/;
// IPv6: hex groups with colons (at least two groups with a digit), optional [..]:port; `::` alone is not an address.
const RE_IPV6 = /^\[?(?=[0-9a-f:]*\d)([0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(\]:\d{1,5})?\]?$/i;
const RE_MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;
const RE_DATE = /^\d{4}[-/]\d{1,2}[-/]\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const RE_TIME = /^\d{1,2}:\d{2}:\d{2}([.,]\d+)?(Z|[+-]\d{2}:?\d{2})?$/;
const RE_DURATION = /^[-+]?\d+(\.\d+)?(ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|hrs|d)$/i;
const RE_SIZE = /^\d+(\.\d+)?([kmgtp]i?b?|b|bytes)$/i;
const RE_HEX0X = /^[-+]?0x[0-9a-f]+$/i;
const RE_HEX = /^[0-9a-f]{6,}$/i;
const RE_NUM = /^[-+]?(\d+(\.\d+)*|\.\d+)([eE][-+]?\d+)?$/;
const RE_VERSION = /^v\d+(\.\d+)+[a-z0-9-]*$/i;
// Protocol versions (`HTTP/1.1`, `SSH-2.0`): one value, not a name plus a number.
const RE_PROTOCOL = /^[A-Z]{2,8}[/-]\d+(\.\d+)*$/;
const RE_BOOL = /^(true|false)$/i;
const RE_BOOL_TOKEN = /^(true|false)([,;.)\]}]*)$/i;
const RE_PATH = /^(~?\/|[a-z]:\\|\.{1,2}\/)[^\s]*$/i;
const RE_ADDRESS_PARTS = /^<[A-Z*]+>([:/]<[A-Z*]+>)+$/;
// A key=value value is masked when it carries a digit or is a boolean; a word value (`mailer=relay`,
// `tty=NODEVssh`) is as often part of the event type as not, so the miner learns it from the data instead.
const RE_KV_VALUE = /[0-9]|^["']?(true|false)["']?$/i;
const RE_KEY = /^[A-Za-z_][\w.\-[\]]*$/;

/**
 * RE_HOSTNAME, and a first label that numbers a host: a dash in it (`node-12`, `MSRA-SA-39`) or at least two trailing
 * digits (`node12`, `web01`). One digit glued to a word is more often a name (`http2.server.requests`,
 * `ec2.instance.id`), so `host8.example.com` stays a constant.
 */
function isNumberedHost(core: string): boolean {
  if (!RE_HOSTNAME.test(core)) return false;
  const dot = core.indexOf('.');
  const before = core.charCodeAt(dot - 2);
  return core.lastIndexOf('-', dot) > 0 || (before >= 48 && before <= 57);
}

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function isHexChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hasHexLetter(s: string): boolean {
  return /[a-f]/i.test(s);
}

/**
 * Classifies a token core (no surrounding brackets or trailing punctuation) that is variable AS A WHOLE.
 * Returns null for constants and for things that are variable only in part (those go to segment masking).
 */
export function classifyCore(core: string): MaskKind | null {
  if (core.length === 0) return null;
  const digits = digitCount(core);
  const c0 = core.charCodeAt(0);
  if (core.includes('://') && RE_URL.test(core)) return 'url';
  if (core.includes('@') && RE_EMAIL.test(core)) return 'email';
  if (digits === 0) {
    if (c0 === 47 /* / */ && core.length > 1 && RE_PATH.test(core)) return 'path';
    if ((c0 === 126 /* ~ */ || c0 === 46 /* . */) && RE_PATH.test(core)) return 'path';
    return null;
  }
  if (digits === core.length) return 'num';
  if (core.length === 36 && RE_UUID.test(core)) return 'uuid';
  const hasColon = core.includes(':');
  // Each regex below runs only when the first character allows a match (same results, far fewer regex calls: a
  // token like `blk_-7724` used to run a dozen patterns).
  const digitLead = c0 >= 48 && c0 <= 57;
  if ((digitLead || c0 === 47) && core.includes('.') && RE_IPV4.test(core)) return 'ip';
  if (core.length === 17 && RE_MAC.test(core)) return 'mac';
  if (hasColon) {
    if (digitLead && RE_TIME.test(core)) return 'timestamp';
    if (RE_IPV6.test(core)) return 'ip';
    // `orders-db:5432`, `node12.example.com:8080`: a host and its port are one address, whatever the host's name
    // (kept as a constant, every host of a fleet made a template of its own).
    if (!digitLead && RE_HOST_PORT.test(core)) return 'ip';
  }
  // Hosts of a fleet (`node-12.example.com`, `web01.prod.example.net`): one value, not a name plus a number (segment
  // masking kept `web01.example.com` whole as a constant and cut `node-12.example.com` to `node-<*>`).
  if (!digitLead && core.includes('.') && isNumberedHost(core)) return 'host';
  if (digitLead && core.length >= 8 && RE_DATE.test(core)) return 'timestamp';
  const signLead = c0 === 43 || c0 === 45;
  if ((digitLead || signLead || c0 === 46) && RE_NUM.test(core)) return 'num';
  if (digitLead || signLead) {
    if (RE_HEX0X.test(core)) return 'hex';
    if (RE_DURATION.test(core)) return 'duration';
    if (RE_SIZE.test(core)) return 'size';
  }
  if (core.length >= 6 && isHexChar(c0) && RE_HEX.test(core) && hasHexLetter(core)) return 'hex';
  if ((c0 === 118 || c0 === 86) /* v V */ && RE_VERSION.test(core)) return 'num';
  if (c0 >= 65 && c0 <= 90 && RE_PROTOCOL.test(core)) return 'num';
  if ((c0 === 47 || c0 === 126 || c0 === 46 || core.charCodeAt(1) === 58) && RE_PATH.test(core)) return 'path';
  return null;
}

/**
 * An identifier-like segment that carries an instance value: `blk_-77247`, `job_1445_0020`, `jA9J1UvC004306`,
 * `dquot_6.5.1`. Short names with a digit (`sda1`, `eth0`, `u0`, `L2`, `e820`) stay constants: they name a thing,
 * they do not count it.
 */
function isIdSegment(seg: string, digits: number): boolean {
  if (digits === 0) return false;
  if (digits >= 4) return true;
  if (seg.length > 2 && digits * 2 > seg.length) return true;
  // A digit right after `_` or `-`: a counter or version glued to a name.
  return /[_-][-+]?\d/.test(seg);
}

const LEADING = '([{<"\'';
const TRAILING = ')]}>"\',;.:!?';

/** Delimiters for segment masking; `.`, `_` and `-` are word characters so that `blk_-7724` stays one segment. */
function isSegmentDelimiter(c: number): boolean {
  // : , ; ( ) [ ] { } < > " ' @ # | / =
  return (
    c === 58 || c === 44 || c === 59 || c === 40 || c === 41 || c === 91 || c === 93 || c === 123 || c === 125 ||
    c === 60 || c === 62 || c === 34 || c === 39 || c === 64 || c === 35 || c === 124 || c === 47 || c === 61
  );
}

const RE_NAME_DASH_VALUE = /^([A-Za-z]+-)[-+]?\d/;
const RE_NAME_DOT_VALUE = /^([A-Za-z]+\.)\d+$/;

/** `wholeKnownNull`: the segment is the whole core, which classifyCore already rejected. */
function maskSegment(seg: string, style: PlaceholderStyle, wholeKnownNull: boolean): string {
  const digits = digitCount(seg);
  if (digits === 0) return seg.length <= 5 && RE_BOOL.test(seg) ? placeholder('bool', style) : seg;
  const kind = wholeKnownNull ? null : classifyCore(seg);
  if (kind !== null) return placeholder(kind, style);
  // `CentOS-4`, `jetty-6.1.26`, `node-12`, `core.2275`: a name, a dash or dot, then a value: keep the name.
  const c0 = seg.charCodeAt(0) | 32;
  const m = c0 >= 97 && c0 <= 122 ? (RE_NAME_DASH_VALUE.exec(seg) ?? RE_NAME_DOT_VALUE.exec(seg)) : null;
  if (m !== null && m[1] !== undefined) return m[1] + placeholder('id', style);
  if (isIdSegment(seg, digits)) return placeholder('id', style);
  return seg;
}

/** `coreKnownNull`: classifyCore(core) is already known to be null (saves classifying a one-segment core twice). */
function maskSegments(core: string, style: PlaceholderStyle, coreKnownNull = false): string {
  let out = '';
  let start = 0;
  for (let i = 0; i <= core.length; i++) {
    if (i === core.length || isSegmentDelimiter(core.charCodeAt(i))) {
      if (i > start) out += maskSegment(core.slice(start, i), style, coreKnownNull && start === 0 && i === core.length);
      if (i < core.length) out += core[i];
      start = i + 1;
    }
  }
  return out;
}

/**
 * `a=1,b=true;c=x`: values with a digit and booleans are masked (see RE_KV_VALUE); brackets-only values
 * (`pci_stats=[]`) are structure. Other pieces get segment masking.
 */
function maskPairs(core: string, style: PlaceholderStyle): string {
  let out = '';
  let start = 0;
  for (let i = 0; i <= core.length; i++) {
    const c = i < core.length ? core.charCodeAt(i) : 44;
    if (c !== 44 /* , */ && c !== 59 /* ; */ && c !== 38 /* & */) continue;
    const piece = core.slice(start, i);
    const eq = piece.indexOf('=');
    const key = eq > 0 ? piece.slice(0, eq) : '';
    const value = eq > 0 ? piece.slice(eq + 1) : '';
    if (eq > 0 && RE_KEY.test(key) && RE_KV_VALUE.test(value)) {
      // Keep a value's quotes: `tag="View` -> `tag="<*>`.
      let q = 0;
      while (q < value.length && (value[q] === '"' || value[q] === "'")) q++;
      out += maskSegments(key, style) + '=' + value.slice(0, q) + placeholder('kv', style);
    } else {
      out += maskSegments(piece, style);
    }
    if (i < core.length) out += core[i];
    start = i + 1;
  }
  return out;
}

const SHAPE_PLAIN = 0;
const SHAPE_DIGITS = 1;
const SHAPE_OTHER = 2;
/** Holds a long run of digits: an id or a counter that will not come back, so caching it only churns the cache. */
const SHAPE_VALUE = 3;
const UNCACHED_DIGITS = 6;

/**
 * SHAPE_PLAIN when maskPlain applies (see needsSlowPath), SHAPE_DIGITS for a bare unsigned integer, SHAPE_VALUE for
 * other tokens with at least UNCACHED_DIGITS digits (the `/ @ = :` check comes first, so those can be SHAPE_OTHER).
 */
function tokenShape(token: string): number {
  let digits = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 47 || c === 64 || c === 61 || c === 58) return SHAPE_OTHER;
  }
  if (digits > 0) return digits === token.length ? SHAPE_DIGITS : digits >= UNCACHED_DIGITS ? SHAPE_VALUE : SHAPE_OTHER;
  // The rest of needsSlowPath, without scanning the characters again.
  return token.length > 5 && (token.includes('rue') || token.includes('alse')) ? SHAPE_OTHER : SHAPE_PLAIN;
}

function needsSlowPath(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    // digit, '/', '@', '=', ':'
    if ((c >= 48 && c <= 57) || c === 47 || c === 64 || c === 61 || c === 58) return true;
  }
  // A boolean glued to punctuation (`setLightsOn(true)`); bare `true` is handled by the caller.
  return token.length > 5 && (token.includes('rue') || token.includes('alse'));
}

/**
 * Masks one whitespace token, keeping its surrounding punctuation. Returns the token itself when nothing is variable.
 * `kind` (when given an object) receives the kind when the whole core was masked, for multi-token timestamp folding.
 */
export function maskToken(token: string, style: PlaceholderStyle = 'generic', out?: { kind: MaskKind | null }): string {
  if (out !== undefined) out.kind = null;
  if (!needsSlowPath(token)) return maskPlain(token, style, out);
  return maskSlow(token, style, out);
}

/** A token without digits or `/ @ = :`: only a boolean (`down true canceled false`) is a value here. */
function maskPlain(token: string, style: PlaceholderStyle, out?: { kind: MaskKind | null }): string {
  // The first-letter test skips the regex for almost every word.
  const c0 = token.charCodeAt(0) | 32;
  if (token.length >= 4 && token.length <= 8 && (c0 === 116 /* t */ || c0 === 102) /* f */) {
    const m = RE_BOOL_TOKEN.exec(token);
    if (m !== null) {
      if (out !== undefined) out.kind = 'bool';
      return placeholder('bool', style) + (m[2] ?? '');
    }
  }
  return token;
}

function maskSlow(token: string, style: PlaceholderStyle, out?: { kind: MaskKind | null }): string {
  let a = 0;
  let b = token.length;
  while (a < b && LEADING.includes(token[a] as string)) a++;
  while (b > a && TRAILING.includes(token[b - 1] as string)) b--;
  if (a >= b) return token;
  const lead = token.slice(0, a);
  const trail = token.slice(b);
  const core = token.slice(a, b);
  const whole = classifyCore(core);
  if (whole !== null) {
    if (out !== undefined) out.kind = whole;
    // `[2001:db8::1]:8080`: the bracket belongs to the address.
    const l = whole === 'ip' && core.includes(']') && lead.endsWith('[') ? lead.slice(0, -1) : lead;
    return l + placeholder(whole, style) + trail;
  }
  if (core.indexOf('=') > 0) return lead + maskPairs(core, style) + trail;
  const masked = maskSegments(core, style, true);
  // `host-12:9000`, `name/10.0.0.1:9000`: an address made of several masked parts is one value.
  if (RE_ADDRESS_PARTS.test(masked)) return lead + placeholder('ip', style) + trail;
  return lead + masked + trail;
}

interface CachedMask {
  readonly masked: string;
  readonly kind: MaskKind | null;
}

/**
 * A bounded memo of maskToken for one placeholder style (masking is pure, so a cache cannot change results).
 * Bound: `max` entries; when full it is cleared, which is cheaper than LRU bookkeeping and refills quickly.
 */
export class MaskCache {
  private readonly map = new Map<string, CachedMask>();
  constructor(private readonly max: number) {}
  get(token: string): CachedMask | undefined {
    return this.map.get(token);
  }
  set(token: string, value: CachedMask): void {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(token, value);
  }
  get size(): number {
    return this.map.size;
  }
}

const WEEKDAYS = new Set(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const MONTHS = new Set(['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']);

function isWord(set: ReadonlySet<string>, t: string | undefined): boolean {
  return t !== undefined && t.length >= 3 && t.length <= 10 && set.has(t.slice(0, 3).toLowerCase());
}

function isDayOrYear(t: string | undefined): boolean {
  return t !== undefined && /^\d{1,4},?$/.test(t);
}

/**
 * Masks a token list in place-order and folds multi-token timestamps (`2017-05-16 05:00:00`,
 * `Sat Jun 18 02:23:10 2005`, `Jun 18 02:23:10`) into ONE placeholder: a date is one value, and splitting it would
 * make the template depend on the date format.
 */
export function maskTokens(
  tokens: readonly string[],
  style: PlaceholderStyle = 'generic',
  cache?: MaskCache,
): string[] {
  const out: string[] = [];
  const info: { kind: MaskKind | null } = { kind: null };
  let prevTimestamp = false; // the last emitted token is a whole-token date placeholder
  for (let i = 0; i < tokens.length; i++) {
    const raw = tokens[i] as string;
    let masked: string;
    const shape = tokenShape(raw);
    if (shape === SHAPE_PLAIN) {
      // Most tokens are plain words: masking them costs one character scan, cheaper than a cache lookup (which
      // hashes the string), and keeping them out of the cache keeps it for the tokens that need regexes.
      info.kind = null;
      masked = maskPlain(raw, style, info);
    } else if (shape === SHAPE_DIGITS) {
      // The most common value, and nearly always unique: no cache churn (what maskToken returns for it).
      info.kind = 'num';
      masked = placeholder('num', style);
    } else if (shape === SHAPE_VALUE) {
      masked = maskToken(raw, style, info);
    } else {
      const hit = cache?.get(raw);
      if (hit !== undefined) {
        masked = hit.masked;
        info.kind = hit.kind;
      } else {
        masked = maskToken(raw, style, info);
        cache?.set(raw, { masked, kind: info.kind });
      }
    }
    if (info.kind === 'timestamp') {
      const isTime = raw.includes(':');
      if (isTime && prevTimestamp) continue; // `<date> <time>`: already one placeholder
      if (isTime) {
        // Fold a preceding `[Weekday] Month Day` into this time.
        let j = out.length;
        if (j >= 2 && isWord(MONTHS, tokens[i - 2]) && isDayOrYear(tokens[i - 1])) {
          j -= 2;
          if (j >= 1 && isWord(WEEKDAYS, tokens[i - 3])) j -= 1;
        }
        out.length = j;
        out.push(masked);
        // and a following year.
        if (i + 1 < tokens.length && /^\d{4}$/.test(tokens[i + 1] as string)) i++;
      } else {
        out.push(masked);
      }
      prevTimestamp = true;
      continue;
    }
    prevTimestamp = false;
    out.push(masked);
  }
  return out;
}

/** Splits on runs of whitespace; at most `maxTokens` tokens, the rest is returned as `overflow: true`. */
export function tokenize(message: string, maxTokens: number): { tokens: string[]; overflow: boolean } {
  // The engine's regex split beats a char-code loop here (0.27 vs 0.45 us a Loghub line): the loop's slices and
  // pushes cost more than the scan. The limit bounds the work to what is kept: only a leading piece can be empty
  // before it, so maxTokens + 2 pieces hold the first maxTokens tokens and tell whether there are more.
  const parts = message.split(WHITESPACE_RUN, maxTokens + 2);
  const lo = parts.length > 0 && parts[0] === '' ? 1 : 0;
  // An empty last piece is trailing whitespace (a piece cut by the limit is a token, never empty).
  const hi = parts.length > lo && parts[parts.length - 1] === '' ? parts.length - 1 : parts.length;
  const count = hi - lo;
  if (count > maxTokens) return { tokens: parts.slice(lo, lo + maxTokens), overflow: true };
  return { tokens: lo === 0 && hi === parts.length ? parts : parts.slice(lo, hi), overflow: false };
}

/** The whitespace `tokenize` splits on: space, tab, LF, CR, VT, FF (not Unicode spaces, which stay inside tokens). */
const WHITESPACE_RUN = /[ \t\n\r\v\f]+/;

/** Convenience for display and tests: masks a whole message and joins with single spaces. */
export function maskMessage(message: string, style: PlaceholderStyle = 'typed', maxTokens = 512): string {
  return maskTokens(tokenize(message, maxTokens).tokens, style).join(' ');
}
