import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Partitioners } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '../pipeline/kafka/client.js';
import { kafkaConfig, type KafkaConfig } from '../pipeline/kafka/config.js';
import { describeKafkaFailure, kafkaClientSecurity } from '../pipeline/kafka/security.js';
import { NightshiftError } from '../core/errors.js';
import { REDACTED_LOG_PATHS } from '../core/log.js';
import { ROOT, uniquePrefix } from './helpers/kafka.js';
import { startSecureBroker, type SecureBroker } from './helpers/kafka-secure.js';
import { ensureBuilt } from './helpers/kafka-child.js';

/**
 * Issue 11 part 5, security of the Kafka client: TLS (with and without client certificates) and SASL (PLAIN,
 * SCRAM-SHA-256, SCRAM-SHA-512) from the config file and the environment, through createKafka, against a private
 * broker with SASL_SSL (SCRAM), SSL (client certificates required) and SASL_PLAINTEXT (PLAIN) listeners and
 * certificates made by openssl here (test/helpers/kafka-secure.ts). Right credentials round-trip a record; a wrong
 * password, a missing client certificate and an untrusted CA fail with one line saying what to check.
 */

let B: SecureBroker;
let scratch = '';

/**
 * A logger whose lines the test reads (to find warnings, and to prove no secret is ever written). Without the
 * production logger's redaction, at debug level: what it never shows, nightshift and kafkajs never logged.
 */
function captureLog(redact?: readonly string[]): { log: Logger; text: () => string } {
  let text = '';
  const sink = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  return { log: pino({ level: 'debug', ...(redact ? { redact: { paths: [...redact], censor: '<redacted>' } } : {}) }, sink), text: () => text };
}

/** Creates a topic, produces one record (acks=-1) and consumes it back, every client made by createKafka. */
async function roundTrip(cfg: KafkaConfig, log: Logger): Promise<string> {
  const kafka = createKafka(cfg, log, '-security-test');
  const topic = uniquePrefix('sec');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic, partitions: 1 }]);
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const value = `hello over ${topic}`;
  await producer.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no record back from ${topic} within 30 s`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve(message.value!.toString());
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Connecting must fail: returns the error and how long it took. */
async function connectFails(cfg: KafkaConfig, log: Logger): Promise<{ err: Error; ms: number }> {
  const admin = createKafka(cfg, log).admin();
  const t0 = Date.now();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (e) {
    return { err: e as Error, ms: Date.now() - t0 };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  throw new Error('connected, but it should have been refused');
}

const broker = (port: number): Record<string, string> => ({ NIGHTSHIFT_KAFKA_BROKERS: `127.0.0.1:${port}` });

beforeAll(async () => {
  B = await startSecureBroker({ startTimeoutMs: 120_000 });
  scratch = mkdtempSync(join(tmpdir(), 'ns-kafka-sec-'));
}, 240_000);

afterAll(async () => {
  await B?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('kafka security configuration', () => {
  it('the environment sets TLS and SASL (a Kubernetes Secret through envFrom or mounted files); it wins over the file', () => {
    const k = kafkaConfig(
      { ssl: { enabled: false }, sasl: { mechanism: 'plain', username: 'from-file', passwordFile: '/x' } },
      {
        NIGHTSHIFT_KAFKA_SSL: 'true',
        NIGHTSHIFT_KAFKA_SSL_CA_FILE: '/s/ca.crt',
        NIGHTSHIFT_KAFKA_SSL_CERT_FILE: '/s/tls.crt',
        NIGHTSHIFT_KAFKA_SSL_KEY_FILE: '/s/tls.key',
        NIGHTSHIFT_KAFKA_SSL_SERVERNAME: 'kafka.example.com',
        NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        NIGHTSHIFT_KAFKA_SASL_USERNAME: 'nightshift',
        NIGHTSHIFT_KAFKA_SASL_PASSWORD: 'pw',
      },
    );
    expect(k.ssl).toEqual({ enabled: true, caFile: '/s/ca.crt', certFile: '/s/tls.crt', keyFile: '/s/tls.key', servername: 'kafka.example.com', rejectUnauthorized: true });
    // The password from the environment replaces the file's passwordFile instead of clashing with it.
    expect(k.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'nightshift', password: 'pw' });
    expect(kafkaConfig({}, {}).ssl).toEqual({ enabled: false, rejectUnauthorized: true });
    expect(kafkaConfig({}, {}).sasl).toBeUndefined();
  });

  it('refuses broken settings with CONFIG_INVALID naming the field, never the password', () => {
    const bad = (section: unknown, env: Record<string, string>, msg: RegExp): void => {
      let err: unknown;
      try {
        kafkaConfig(section, env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(NightshiftError);
      expect((err as NightshiftError).code).toBe('CONFIG_INVALID');
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain('hunter2-secret');
    };
    bad({}, { NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'scram-sha-512', NIGHTSHIFT_KAFKA_SASL_PASSWORD: 'hunter2-secret' }, /kafka\.sasl\.username: is required/);
    bad({}, { NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'gssapi', NIGHTSHIFT_KAFKA_SASL_USERNAME: 'a', NIGHTSHIFT_KAFKA_SASL_PASSWORD: 'hunter2-secret' }, /kafka\.sasl\.mechanism: must be one of plain, scram-sha-256, scram-sha-512, got "gssapi"/);
    bad({}, { NIGHTSHIFT_KAFKA_SASL_USERNAME: 'a', NIGHTSHIFT_KAFKA_SASL_PASSWORD: 'hunter2-secret' }, /kafka\.sasl\.mechanism: is required/);
    bad({}, { NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'plain', NIGHTSHIFT_KAFKA_SASL_USERNAME: 'a' }, /kafka\.sasl: needs exactly one of password and passwordFile/);
    bad({}, { NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'plain', NIGHTSHIFT_KAFKA_SASL_USERNAME: 'a', NIGHTSHIFT_KAFKA_SASL_PASSWORD: 'hunter2-secret', NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE: '/p' }, /not both/);
    bad({ ssl: { caFile: '/ca.crt' } }, {}, /kafka\.ssl: caFile set but TLS is off/);
    bad({}, { NIGHTSHIFT_KAFKA_SSL: 'true', NIGHTSHIFT_KAFKA_SSL_CERT_FILE: '/c' }, /needs both certFile and keyFile/);
    bad({}, { NIGHTSHIFT_KAFKA_SSL: 'maybe' }, /NIGHTSHIFT_KAFKA_SSL must be true or false/);
    bad({ ssl: { enabled: true, ca_file: '/x' } }, {}, /kafka\.ssl: Unrecognized key: "ca_file"/);
  });

  it('the production logger redacts password and passphrase fields wherever an object puts them', () => {
    const { log, text } = captureLog(REDACTED_LOG_PATHS);
    log.info({ password: 'hunter2-secret', sasl: { mechanism: 'plain', username: 'u', password: 'hunter2-secret' }, kafka: { ssl: { passphrase: 'hunter2-secret' } } }, 'x');
    expect(text()).not.toContain('hunter2-secret');
    expect(JSON.parse(text()).sasl).toEqual({ mechanism: 'plain', username: 'u', password: '<redacted>' });
  });

  it('files are read at start: missing, not PEM, a key that does not match its certificate, an encrypted key without passphrase', () => {
    const garbage = join(scratch, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    const broken = join(scratch, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const locked = join(scratch, 'locked.key');
    spawnSync('openssl', ['pkey', '-in', B.file('client.key'), '-aes256', '-passout', 'pass:hunter2-secret', '-out', locked], { timeout: 10_000 });
    const pass = join(scratch, 'pass');
    writeFileSync(pass, 'hunter2-secret\n');
    const ssl = (s: Record<string, unknown>): KafkaConfig => kafkaConfig({ ssl: { enabled: true, ...s } }, {});
    const fails = (cfg: KafkaConfig, msg: RegExp): void => {
      expect(() => kafkaClientSecurity(cfg)).toThrow(msg);
      try {
        kafkaClientSecurity(cfg);
      } catch (e) {
        expect((e as NightshiftError).code).toBe('CONFIG_INVALID');
        expect((e as Error).message).not.toContain('hunter2-secret');
      }
    };
    fails(ssl({ caFile: join(scratch, 'nope.crt') }), /kafka\.ssl\.caFile: cannot read .*nope\.crt: no such file/);
    fails(ssl({ caFile: garbage }), /kafka\.ssl\.caFile: .*garbage\.pem holds no PEM certificate/);
    fails(ssl({ caFile: broken }), /kafka\.ssl\.caFile: .*broken\.pem: certificate 1 of 1 is not readable PEM/);
    fails(ssl({ certFile: B.file('client.crt'), keyFile: B.file('broker.key') }), /kafka\.ssl\.keyFile: .*broker\.key is not the private key of the certificate in .*client\.crt/);
    fails(ssl({ certFile: B.file('client.crt'), keyFile: locked }), /kafka\.ssl\.keyFile: .*locked\.key is an encrypted key that needs ssl\.keyPassphraseFile/);
    fails(ssl({ certFile: B.file('client.crt'), keyFile: garbage }), /holds no PEM private key/);
    fails(kafkaConfig({ sasl: { mechanism: 'plain', username: 'a', passwordFile: join(scratch, 'none') } }, {}), /kafka\.sasl\.passwordFile: cannot read .*none: no such file/);
    const unreadable = join(scratch, 'unreadable');
    writeFileSync(unreadable, 'x');
    chmodSync(unreadable, 0o000);
    if (process.getuid?.() !== 0) fails(kafkaConfig({ sasl: { mechanism: 'plain', username: 'a', passwordFile: unreadable } }, {}), /permission denied/);
    // With its passphrase file the encrypted key opens; the passphrase loses its trailing newline.
    const ok = kafkaClientSecurity(ssl({ caFile: B.file('ca.crt'), certFile: B.file('client.crt'), keyFile: locked, keyPassphraseFile: pass }));
    expect(ok.ssl?.passphrase).toBe('hunter2-secret');
    expect(ok.ssl?.rejectUnauthorized).toBe(true);
    expect(String(ok.ssl?.ca)).toContain('BEGIN CERTIFICATE');
  });
});

describe('kafka security against a broker with SASL_SSL, SSL (mTLS) and SASL_PLAINTEXT listeners', () => {
  it('SCRAM-SHA-512 over TLS, password from a file (as a mounted Secret): a record round-trips', async () => {
    const pw = join(scratch, 'scram512-password');
    writeFileSync(pw, `${B.users.scram512.password}\n`);
    const { log, text } = captureLog();
    const cfg = kafkaConfig(
      {},
      {
        ...broker(B.ports.saslSsl),
        NIGHTSHIFT_KAFKA_SSL: 'true',
        NIGHTSHIFT_KAFKA_SSL_CA_FILE: B.file('ca.crt'),
        NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        NIGHTSHIFT_KAFKA_SASL_USERNAME: B.users.scram512.username,
        NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE: pw,
      },
    );
    expect(await roundTrip(cfg, log)).toMatch(/^hello over /);
    expect(text()).not.toContain(B.users.scram512.password);
  }, 60_000);

  it('SCRAM-SHA-256 over TLS from the config file section (camelCase fields, inline password)', async () => {
    const { log, text } = captureLog();
    const cfg = kafkaConfig(
      { ssl: { enabled: true, caFile: B.file('ca.crt'), servername: 'localhost' }, sasl: { mechanism: 'scram-sha-256', ...B.users.scram256 } },
      broker(B.ports.saslSsl),
    );
    expect(await roundTrip(cfg, log)).toMatch(/^hello over /);
    expect(text()).not.toContain(B.users.scram256.password);
  }, 60_000);

  it('mTLS: a client certificate signed by the CA the broker trusts round-trips', async () => {
    const { log } = captureLog();
    const cfg = kafkaConfig(
      {},
      { ...broker(B.ports.ssl), NIGHTSHIFT_KAFKA_SSL: 'true', NIGHTSHIFT_KAFKA_SSL_CA_FILE: B.file('ca.crt'), NIGHTSHIFT_KAFKA_SSL_CERT_FILE: B.file('client.crt'), NIGHTSHIFT_KAFKA_SSL_KEY_FILE: B.file('client.key') },
    );
    expect(await roundTrip(cfg, log)).toMatch(/^hello over /);
  }, 60_000);

  it('SASL PLAIN without TLS works and logs a warning that the password crosses the network in clear text', async () => {
    const { log, text } = captureLog();
    const cfg = kafkaConfig({}, { ...broker(B.ports.saslPlaintext), NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'plain', NIGHTSHIFT_KAFKA_SASL_USERNAME: B.users.plain.username, NIGHTSHIFT_KAFKA_SASL_PASSWORD: B.users.plain.password });
    expect(await roundTrip(cfg, log)).toMatch(/^hello over /);
    const warn = text().split('\n').filter((l) => l.includes('kafka_sasl_plain_cleartext'));
    expect(warn.length).toBeGreaterThan(0);
    expect(JSON.parse(warn[0]!).level).toBe(40);
    expect(text()).not.toContain(B.users.plain.password);
  }, 60_000);

  it('refused: a wrong password (fast, one line naming the credentials), no client certificate on the mTLS listener, an untrusted CA', async () => {
    const { log, text } = captureLog();
    const tlsEnv = { NIGHTSHIFT_KAFKA_SSL: 'true', NIGHTSHIFT_KAFKA_SSL_CA_FILE: B.file('ca.crt') };
    const [wrong, wrongUser, noCert, otherCa, foreignCert, tlsToPlain, plainToTls] = await Promise.all([
      connectFails(kafkaConfig({}, { ...broker(B.ports.saslSsl), ...tlsEnv, NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'scram-sha-512', NIGHTSHIFT_KAFKA_SASL_USERNAME: 'alice', NIGHTSHIFT_KAFKA_SASL_PASSWORD: 'hunter2-secret' }), log),
      connectFails(kafkaConfig({}, { ...broker(B.ports.saslPlaintext), NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'plain', NIGHTSHIFT_KAFKA_SASL_USERNAME: 'mallory', NIGHTSHIFT_KAFKA_SASL_PASSWORD: 'hunter2-secret' }), log),
      connectFails(kafkaConfig({}, { ...broker(B.ports.ssl), ...tlsEnv }), log),
      connectFails(kafkaConfig({}, { ...broker(B.ports.saslSsl), NIGHTSHIFT_KAFKA_SSL: 'true', NIGHTSHIFT_KAFKA_SSL_CA_FILE: B.file('other-ca.crt'), NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'scram-sha-512', ...env512() }), log),
      connectFails(kafkaConfig({}, { ...broker(B.ports.ssl), ...tlsEnv, NIGHTSHIFT_KAFKA_SSL_CERT_FILE: B.file('other-client.crt'), NIGHTSHIFT_KAFKA_SSL_KEY_FILE: B.file('other-client.key') }), log),
      // The wrong protocol for the port, either way round.
      connectFails(kafkaConfig({}, { ...broker(B.ports.plaintext), ...tlsEnv }), log),
      connectFails(kafkaConfig({}, broker(B.ports.ssl)), log),
    ]);
    expect(describeKafkaFailure(tlsToPlain.err)).toMatch(/^TLS with the Kafka brokers failed \(.*\): the listener may not speak TLS/);
    expect(describeKafkaFailure(plainToTls.err)).toMatch(/^the Kafka brokers cannot be used \(.*Closed connection\); .*the listener's security \(NIGHTSHIFT_KAFKA_SSL, NIGHTSHIFT_KAFKA_SASL_\*\)/);
    for (const f of [wrong, wrongUser]) {
      expect(f.err.name).toBe('KafkaJSSASLAuthenticationError');
      // Not retried: a wrong password does not become right.
      expect(f.ms).toBeLessThan(10_000);
      const line = describeKafkaFailure(f.err)!;
      expect(line).toMatch(/^Kafka authentication failed \(KafkaJSSASLAuthenticationError: SASL (SCRAM SHA512|PLAIN) authentication failed: .*\); check NIGHTSHIFT_KAFKA_SASL_MECHANISM, NIGHTSHIFT_KAFKA_SASL_USERNAME and the password/);
      expect(line).not.toContain('\n');
      expect(line).not.toContain('hunter2-secret');
    }
    for (const f of [noCert, foreignCert]) {
      expect(describeKafkaFailure(f.err)).toMatch(/^TLS with the Kafka brokers failed \(.*(bad certificate|certificate required|certificate unknown|unknown ca).*\): the broker refused the client certificate, or none was sent/);
    }
    expect(describeKafkaFailure(otherCa.err)).toMatch(/^TLS with the Kafka brokers failed \(.*\[(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\]\): the brokers' certificate is not signed by a CA nightshift trusts/);
    for (const f of [noCert, otherCa, foreignCert, tlsToPlain, plainToTls]) expect(describeKafkaFailure(f.err)).not.toContain('\n');
    expect(text()).not.toContain('hunter2-secret');
    expect(text()).not.toContain(B.users.scram512.password);
  }, 90_000);

  it('rejectUnauthorized=false accepts the untrusted broker certificate (and says so in a warning)', async () => {
    const { log, text } = captureLog();
    const cfg = kafkaConfig({}, { ...broker(B.ports.saslSsl), NIGHTSHIFT_KAFKA_SSL: 'true', NIGHTSHIFT_KAFKA_SSL_REJECT_UNAUTHORIZED: 'false', NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'scram-sha-512', ...env512() });
    expect(await roundTrip(cfg, log)).toMatch(/^hello over /);
    expect(text()).toContain('kafka_tls_unverified');
  }, 60_000);

  it('`nightshift gateway` over SASL_SSL configured by environment variables only; a wrong password is one line, exit 1', async () => {
    ensureBuilt();
    const topics = uniquePrefix('secgw');
    const env = {
      ...process.env,
      ...broker(B.ports.saslSsl),
      NIGHTSHIFT_KAFKA_SSL: 'true',
      NIGHTSHIFT_KAFKA_SSL_CA_FILE: B.file('ca.crt'),
      NIGHTSHIFT_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      NIGHTSHIFT_KAFKA_PARTITIONS_RAW: '1',
      NIGHTSHIFT_GATEWAY_PORT: '0',
      NIGHTSHIFT_OPS_PORT: '0',
      NIGHTSHIFT_LOG_LEVEL: 'info',
      ...Object.fromEntries(['alerts', 'logs', 'metrics', 'traces', 'changes'].map((k) => [`NIGHTSHIFT_TOPIC_${k.toUpperCase()}`, `${topics}.${k}`])),
      ...env512(),
    };
    const bin = join(ROOT, 'bin', 'nightshift.js');
    // Wrong password: refused at start, one line, no stack, no password.
    const bad = spawnSync(process.execPath, [bin, 'gateway'], { encoding: 'utf8', env: { ...env, NIGHTSHIFT_KAFKA_SASL_PASSWORD: 'hunter2-secret' }, timeout: 60_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^nightshift gateway: Kafka authentication failed \(KafkaJSSASLAuthenticationError: .*\); check NIGHTSHIFT_KAFKA_SASL_MECHANISM/m);
    expect(bad.stderr).not.toMatch(/\n\s+at [\w.<>]+ \(/);
    expect(bad.stderr + bad.stdout).not.toContain('hunter2-secret');
    // Right password: the gateway starts, takes a change event and the broker has it.
    const child = spawn(process.execPath, [bin, 'gateway'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      const end = Date.now() + 60_000;
      let port = 0;
      while (!port) {
        const m = /nightshift gateway: \w+ on [^\s:]+:(\d+)/.exec(err);
        if (m) port = Number(m[1]);
        else if (Date.now() > end || child.exitCode !== null) throw new Error(`the gateway did not start: ${err}`);
        else await new Promise((r) => setTimeout(r, 200));
      }
      const change = { ts: 1_772_000_000_000, service: 'payments-api', kind: 'deploy', id: 'd-1', summary: 'v2', author: 'ci' };
      const res = await fetch(`http://127.0.0.1:${port}/v1/changes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(change) });
      expect(res.status, await res.text()).toBe(200);
      const { log } = captureLog();
      const kafka = createKafka(kafkaConfig({}, env), log);
      const consumer = kafka.consumer({ groupId: `${topics}-reader`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: `${topics}.changes`, fromBeginning: true });
      const got = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no change record within 30 s')), 30_000);
        void consumer.run({ eachMessage: async ({ message }) => (clearTimeout(t), resolve(message.value!.toString())) });
      });
      await consumer.disconnect();
      expect(JSON.parse(got)).toEqual(change);
      expect(err).toContain(`-> 127.0.0.1:${B.ports.saslSsl} (SASL SCRAM-SHA-512 as alice over TLS)`);
      expect(err).not.toContain(B.users.scram512.password);
    } finally {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    }
  }, 240_000);
});

function env512(): Record<string, string> {
  return { NIGHTSHIFT_KAFKA_SASL_USERNAME: B.users.scram512.username, NIGHTSHIFT_KAFKA_SASL_PASSWORD: B.users.scram512.password };
}
