/**
 * Secret forms planted by test/secrets-planted.test.ts: what services really print (keys, passwords, tokens,
 * connection strings, whole key files), each with a fresh random value, plus split and encoded variants. `secrets`
 * are the parts that must never appear anywhere nightshift writes; `parts` > 1 means the text arrives as that many
 * separate records (a key file logged line by line).
 */
export interface SecretForm {
  readonly name: string;
  readonly parts: readonly string[];
  readonly secrets: readonly string[];
}

/** Deterministic random text, so a failure names the same value on every run. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    // mulberry32
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  str(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = `${ALNUM}+/`;
const HEX = '0123456789abcdef';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export function secretForms(seed = 12): SecretForm[] {
  const r = new Rng(seed);
  const pw = (): string => `${r.str(1, UPPER)}${r.str(6, LOWER)}${r.str(3, DIGITS)}!`; // what people choose: low entropy
  const body = (): string => r.str(64, B64);
  const one = (name: string, text: string, ...secrets: string[]): SecretForm => ({ name, parts: [text], secrets });
  const pem = (label: string): SecretForm => {
    const a = body();
    const b = body();
    return one(`pem ${label}`, `loaded key -----BEGIN ${label}-----\n${a}\n${b}\n-----END ${label}----- ok`, a.slice(0, 24), b.slice(0, 24));
  };
  const forms: SecretForm[] = [
    pem('RSA PRIVATE KEY'),
    pem('EC PRIVATE KEY'),
    pem('OPENSSH PRIVATE KEY'),
    pem('PRIVATE KEY'),
    pem('ENCRYPTED PRIVATE KEY'),
    pem('PGP PRIVATE KEY BLOCK'),
  ];
  {
    const a = body();
    // A service-account JSON logged as one line: the key's newlines are `\n` escapes.
    forms.push(one('pem in JSON (escaped newlines)', `{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\n${a}\\n-----END PRIVATE KEY-----\\n"}`, a.slice(0, 24)));
  }
  {
    const a = body();
    // Cut before its END line, as a 300-character summary would have cut it.
    forms.push(one('pem without its END line', `key -----BEGIN RSA PRIVATE KEY-----\n${a}`, a.slice(0, 24)));
  }
  const awsId = `AKIA${r.str(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
  forms.push(one('aws access key id', `using ${awsId} for s3`, awsId));
  for (const form of ['aws_secret_access_key=%s', 'AWS_SECRET_ACCESS_KEY=%s', 'signing request with %s']) {
    const v = r.str(40, B64);
    forms.push(one(`aws secret key (${form.split(/[=%]/)[0]})`, form.replace('%s', v), v));
  }
  for (const form of ['DB_PASSWORD=%s', 'password=%s connecting', '{"password": "%s"}', "passphrase='%s'", 'login with --db-password %s', 'PGPASSWORD=%s psql', 'user=admin pwd:%s']) {
    const v = pw();
    forms.push(one(`password (${form.slice(0, 14)})`, form.replace('%s', v), v));
  }
  for (const scheme of ['postgres://app:%s@db.internal:5432/shop', 'redis://:%s@cache:6379/0', 'mongodb+srv://svc:%s@cluster0.example.net/db', 'amqp://guest:%s@rabbit:5672']) {
    const v = pw();
    forms.push(one(`url credentials (${scheme.split(':')[0]})`, `connecting to ${scheme.replace('%s', v)}`, v));
  }
  {
    const v = `T${r.str(8, UPPER + DIGITS)}/B${r.str(8, UPPER + DIGITS)}/${r.str(24, ALNUM)}`;
    forms.push(one('slack webhook url', `posting to https://hooks.slack.com/services/${v}`, v.slice(-24)));
  }
  const tokens: Array<[string, string]> = [
    ['slack bot token', `xoxb-${r.str(12, DIGITS)}-${r.str(13, DIGITS)}-${r.str(24, ALNUM)}`],
    ['github pat', `ghp_${r.str(36, ALNUM)}`],
    ['github fine-grained pat', `github_pat_${r.str(22, ALNUM)}_${r.str(59, ALNUM)}`],
    ['gitlab pat', `glpat-${r.str(20, ALNUM)}`],
    ['stripe live key', `sk_live_${r.str(24, ALNUM)}`],
    ['openai project key', `sk-proj-${r.str(48, ALNUM)}`],
    ['google api key', `AIza${r.str(35, ALNUM)}`],
    ['npm token', `npm_${r.str(36, ALNUM)}`],
    ['sendgrid key', `SG.${r.str(22, ALNUM)}.${r.str(43, ALNUM)}`],
    ['jwt', `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${b64(`{"sub":"${r.str(10, DIGITS)}","role":"admin"}`).replace(/=+$/, '')}.${r.str(43, ALNUM)}`],
  ];
  for (const [name, v] of tokens) forms.push(one(name, `token ${v} accepted`, v));
  {
    const v = r.str(32, ALNUM);
    forms.push(one('bearer header', `Authorization: Bearer ${v}`, v));
    const u = pw();
    const basic = b64(`svc-user:${u}`);
    forms.push(one('basic auth header', `Authorization: Basic ${basic}`, basic, u));
  }
  {
    const v = r.str(32, HEX);
    forms.push(one('api_key hex', `api_key=${v}`, v));
    const c = r.str(40, ALNUM + '-_');
    forms.push(one('client_secret', `oauth client_secret=${c}`, c));
    const k = r.str(32, ALNUM);
    forms.push(one('x-api-key header', `X-Api-Key: ${k}`, k));
    const az = r.str(86, B64) + '==';
    forms.push(one('azure connection string', `DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=${az};EndpointSuffix=core.windows.net`, az.slice(0, 40)));
  }
  // Encoded variants.
  {
    const v = pw();
    forms.push(one('kubernetes secret (base64 data)', `kind: Secret\ndata:\n  db-password: ${b64(v)}\n`, b64(v), v));
    const w = pw();
    forms.push(one('base64 of password=', `blob ${b64(`password=${w}`)}`, b64(`password=${w}`), w));
    const x = pw();
    forms.push(one('url-encoded password', `GET /login?user=bob&password%3D${encodeURIComponent(x)}%26next=/`, x.replace('!', '')));
  }
  // Split variants: one secret over several records.
  {
    const a = body();
    const b = body();
    forms.push({ name: 'pem split over records', parts: ['-----BEGIN RSA PRIVATE KEY-----', a, b, '-----END RSA PRIVATE KEY-----'], secrets: [a.slice(0, 24), b.slice(0, 24)] });
    const s = r.str(40, B64);
    forms.push({ name: 'name and value in two records', parts: ['AWS secret access key follows:', s], secrets: [s] });
  }
  return forms;
}
