import { describe, expect, it } from 'vitest';
import { luhn, OVERFLOW_PLACEHOLDER, RedactConfig, Redactor } from '../reasoning/redact/index.js';

const session = (cfg: Partial<RedactConfig> = {}) => new Redactor(RedactConfig.parse(cfg)).session();

describe('redaction', () => {
  // Credentials go for good (the shared secret rules, core/redact), whatever the model repeats.
  it.each([
    ['password in a URL', 'connecting to postgres://app_user:S3cr3t!pw@payments-db:5432/pay', 'S3cr3t!pw', 'postgres://app_user:<redacted:url-credentials>@payments-db'],
    ['bearer token', 'Authorization: Bearer abcDEF1234567890xyz', 'abcDEF1234567890xyz', 'Bearer <redacted:'],
    ['JWT', 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U rejected', 'eyJhbGciOiJIUzI1NiJ9', '<redacted:'],
    ['AWS key', 'using AKIAIOSFODNN7EXAMPLE for s3', 'AKIAIOSFODNN7EXAMPLE', '<redacted:aws-access'],
    ['OpenAI-style key', 'OPENAI key sk-proj-abcdefghijklmnop1234567890', 'sk-proj-abcdefghijklmnop1234567890', '<redacted:'],
    ['GitHub token', 'clone with ghp_R7tq0VbX2mKc9LwZp4sNd8YhJ3fGa6Ue1Qo5', 'ghp_R7tq0VbX2mKc9LwZp4sNd8YhJ3fGa6Ue1Qo5', '<redacted:'],
    ['key=value secret', 'login failed password=hunter22 user=bob', 'hunter22', 'password=<redacted:credential-assignment>'],
    ['JSON secret', '{"api_key": "zz-9f8e7d6c5b4a"}', 'zz-9f8e7d6c5b4a', '"api_key": "<redacted:credential-assignment>"'],
    ['private key', 'key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- loaded', 'MIIEow', 'key <redacted:private-key-block> loaded'],
  ])('removes a %s for good', (_name, text, secret, expected) => {
    const s = session({ restore: ['EMAIL', 'IP'] });
    const out = s.redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(expected);
    expect(s.restore(out)).not.toContain(secret);
  });

  // Personal data and addresses get numbered placeholders, restored only for the configured classes.
  it.each([
    ['email', 'reset mail sent to jane.doe@example.com', 'jane.doe@example.com', '<EMAIL_1>', true],
    ['IPv4', 'client: 203.0.113.42, server: shop', '203.0.113.42', 'client: <IP_1>,', true],
    ['IPv6', 'peer 2001:db8:85a3::8a2e:370:7334 closed', '2001:db8:85a3::8a2e:370:7334', 'peer <IP_1> closed', true],
    ['card number', 'charge card 4111 1111 1111 1111 declined', '4111 1111 1111 1111', '<CARD_1>', false],
  ])('replaces a %s', (_name, text, secret, expected, restorable) => {
    const s = session({ restore: ['EMAIL', 'IP'] });
    const out = s.redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(expected);
    expect(s.restore(out)).toBe(restorable ? text : out);
    // Not configured: nothing comes back.
    const d = session();
    expect(d.restore(d.redact(text))).not.toContain(secret);
  });

  it('restores a service name that a rule took, since people need it', () => {
    const s = new Redactor(RedactConfig.parse({})).session(['10.0.0.7']);
    const out = s.redact('calls to 10.0.0.7 and 10.0.0.8 failed');
    expect(out).toBe('calls to <IP_1> and <IP_2> failed');
    expect(s.restore(out)).toBe('calls to 10.0.0.7 and <IP_2> failed');
  });

  it('leaves ordinary operational text alone', () => {
    const text = [
      'sig_2dee33dd257fa62d tpl_129e75dacfb9ed3d series_0c0bf5bd4ec7309e deploy-4f3a2b1c9d',
      'thread pool exhausted: 200/200 workers busy at 10:42:07, order 1772523923233 failed',
      'token validation failed for session; tokens=1200 latency_p95_ms = 1427, expected 122',
      'std::vector allocation; version v1.2.3 on payments-db:5432',
    ].join('\n');
    expect(session().redact(text)).toBe(text);
  });

  it('gives a value the same placeholder every time and different values different ones', () => {
    const s = session();
    const out = s.redact('a@x.io wrote to b@x.io, then a@x.io again from 10.0.0.1 and 10.0.0.2');
    expect(out).toBe('<EMAIL_1> wrote to <EMAIL_2>, then <EMAIL_1> again from <IP_1> and <IP_2>');
    // Deterministic across sessions: numbering follows first appearance.
    expect(session().redact('a@x.io wrote to b@x.io, then a@x.io again from 10.0.0.1 and 10.0.0.2')).toBe(out);
  });

  it('redacts deep values, leaves keys, restores what the model repeats', () => {
    const s = session({ restore: ['EMAIL', 'IP'] });
    const v = s.redactDeep({ summary: 'user bob@corp.example failed', list: ['from 192.168.1.20'], n: 3 });
    expect(v).toEqual({ summary: 'user <EMAIL_1> failed', list: ['from <IP_1>'], n: 3 });
    expect(s.restoreDeep({ explanation: 'The login of <EMAIL_1> from <IP_1> failed; <EMAIL_9> is unknown' })).toEqual({
      explanation: 'The login of bob@corp.example from 192.168.1.20 failed; <EMAIL_9> is unknown',
    });
  });

  it('does not redact its own placeholders again', () => {
    const s = session();
    const once = s.redact('password=hunter22');
    expect(s.redact(once)).toBe(once);
  });

  it('applies configured patterns and can disable builtins', () => {
    const s = session({ patterns: [{ name: 'customer', regex: 'CUST-[0-9]{6}', cls: 'CUSTOMER' } as never], disable: ['ipv4'] });
    expect(s.redact('order for CUST-123456 from 10.1.2.3')).toBe('order for <CUSTOMER_1> from 10.1.2.3');
  });

  it('rejects an invalid configured regex with a clear message', () => {
    const r = RedactConfig.safeParse({ patterns: [{ name: 'bad', regex: '([a-z' }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/pattern bad/);
  });

  it('is bounded: beyond maxValues, values become a plain placeholder that is never restored', () => {
    const s = session({ maxValues: 2, restore: ['EMAIL'] });
    const out = s.redact('u1@a.io u2@a.io u3@a.io u4@a.io');
    expect(out).toBe(`<EMAIL_1> <EMAIL_2> ${OVERFLOW_PLACEHOLDER} ${OVERFLOW_PLACEHOLDER}`);
    expect(out).not.toMatch(/u3@|u4@/);
    expect(s.stats()).toMatchObject({ distinctValues: 2, overflowed: 2 });
    expect(s.restore(out)).toBe(`u1@a.io u2@a.io ${OVERFLOW_PLACEHOLDER} ${OVERFLOW_PLACEHOLDER}`);
  });

  it('checks card numbers with Luhn', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
    expect(session().redact('order 4111111111111112 shipped')).toBe('order 4111111111111112 shipped');
  });

  it('can be switched off (a model inside the trust boundary)', () => {
    expect(session({ enabled: false }).redact('mail a@b.io')).toBe('mail a@b.io');
  });
});
