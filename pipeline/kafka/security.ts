import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { NightshiftError } from '../../core/errors.js';
import type { KafkaConfig } from './config.js';

/** What createKafka hands kafkajs: Node tls.connect options and SASL credentials, read from their files. */
export interface KafkaClientSecurity {
  readonly ssl?: ConnectionOptions;
  readonly sasl?: SASLOptions;
}

function invalid(field: string, msg: string, cause?: unknown): NightshiftError {
  return new NightshiftError('CONFIG_INVALID', `kafka.${field}: ${msg}`, cause === undefined ? undefined : { cause });
}

function readSecretFile(field: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw invalid(field, `cannot read ${path}: ${why}`, e);
  }
  return text;
}

/** A password or passphrase file: one value, a trailing newline (echo, editors) dropped. */
function readValueFile(field: string, path: string): string {
  const v = readSecretFile(field, path).replace(/\r?\n$/, '');
  if (v.length === 0) throw invalid(field, `${path} is empty`);
  return v;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** One or more PEM certificates; each must parse. */
function readCerts(field: string, path: string): { pem: string; certs: X509Certificate[] } {
  const pem = readSecretFile(field, path);
  const blocks = pem.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) throw invalid(field, `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const certs = blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw invalid(field, `${path}: certificate ${i + 1} of ${blocks.length} is not readable PEM (${(e as Error).message})`, e);
    }
  });
  return { pem, certs };
}

function readKey(field: string, path: string, passphrase: string | undefined): { pem: string; key: KeyObject } {
  const pem = readSecretFile(field, path);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw invalid(field, `${path} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  try {
    return { pem, key: createPrivateKey(passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase }) };
  } catch (e) {
    const msg = (e as Error).message;
    const encrypted = /passphrase|bad decrypt|ENCRYPTED/i.test(msg) || /ENCRYPTED/.test(pem);
    throw invalid(
      field,
      encrypted
        ? `${path} is an encrypted key that ${passphrase === undefined ? 'needs ssl.keyPassphraseFile (NIGHTSHIFT_KAFKA_SSL_KEY_PASSPHRASE_FILE)' : 'the passphrase does not open'}`
        : `${path} is not a readable PEM private key (${msg})`,
      e,
    );
  }
}

/**
 * Reads the TLS files and the SASL password of `cfg` (at start: createKafka calls it) into kafkajs options. Missing,
 * unreadable or malformed files, a key that does not match its certificate, or an encrypted key without its
 * passphrase throw CONFIG_INVALID naming the field and the path (never a file's content). SASL PLAIN without TLS is
 * allowed but logged as a warning, since the password then crosses the network in clear text.
 */
export function kafkaClientSecurity(cfg: Pick<KafkaConfig, 'ssl' | 'sasl'>, log?: Logger): KafkaClientSecurity {
  let ssl: ConnectionOptions | undefined;
  if (cfg.ssl.enabled) {
    const o: ConnectionOptions = { rejectUnauthorized: cfg.ssl.rejectUnauthorized };
    if (cfg.ssl.caFile) o.ca = readCerts('ssl.caFile', cfg.ssl.caFile).pem;
    if (cfg.ssl.certFile && cfg.ssl.keyFile) {
      const passphrase = cfg.ssl.keyPassphraseFile ? readValueFile('ssl.keyPassphraseFile', cfg.ssl.keyPassphraseFile) : undefined;
      const cert = readCerts('ssl.certFile', cfg.ssl.certFile);
      const key = readKey('ssl.keyFile', cfg.ssl.keyFile, passphrase);
      if (!cert.certs[0]!.checkPrivateKey(key.key)) {
        throw invalid('ssl.keyFile', `${cfg.ssl.keyFile} is not the private key of the certificate in ${cfg.ssl.certFile}`);
      }
      o.cert = cert.pem;
      o.key = key.pem;
      if (passphrase !== undefined) o.passphrase = passphrase;
    }
    if (cfg.ssl.servername) o.servername = cfg.ssl.servername;
    if (!cfg.ssl.rejectUnauthorized) log?.warn({ event: 'kafka_tls_unverified' }, 'Kafka TLS: the brokers\' certificates are NOT verified (kafka.ssl.rejectUnauthorized=false): anyone on the path can impersonate them');
    ssl = o;
  }
  let sasl: SASLOptions | undefined;
  if (cfg.sasl) {
    const s = cfg.sasl;
    const password = s.passwordFile ? readValueFile('sasl.passwordFile', s.passwordFile) : s.password!;
    sasl = { mechanism: s.mechanism, username: s.username, password };
    if (s.mechanism === 'plain' && !ssl) {
      log?.warn(
        { event: 'kafka_sasl_plain_cleartext', username: s.username },
        'Kafka SASL PLAIN without TLS: the password crosses the network in clear text; enable kafka.ssl (NIGHTSHIFT_KAFKA_SSL=true) or use SCRAM',
      );
    }
  }
  return { ...(ssl ? { ssl } : {}), ...(sasl ? { sasl } : {}) };
}

/** What the connection uses, for a start-up log line: no secrets, no file contents. */
export function describeKafkaSecurity(cfg: Pick<KafkaConfig, 'ssl' | 'sasl'>): string {
  const tls = cfg.ssl.enabled ? `TLS${cfg.ssl.certFile ? ' with a client certificate' : ''}${cfg.ssl.rejectUnauthorized ? '' : ' (unverified)'}` : 'plaintext';
  return cfg.sasl ? `SASL ${cfg.sasl.mechanism.toUpperCase()} as ${cfg.sasl.username} over ${tls}` : tls;
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT_LOCALLY)|CERT_|HOSTNAME_MISMATCH)/;
const TLS_TEXT = /certificate|self[- ]signed|alert|handshake|ssl|tls|wrong version number|packet length too long/i;

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

function causes(err: unknown): Error[] {
  const out: Error[] = [];
  let e: unknown = err;
  while (e instanceof Error && out.length < 10) {
    out.push(e);
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return out;
}

/**
 * One line for a kafkajs failure that ended a command: an authentication failure (wrong SASL credentials or
 * mechanism), a TLS failure (untrusted or mismatched broker certificate, a client certificate the broker wants but
 * did not get, a TLS client on a plaintext listener), or the brokers being unreachable. `null` if not a kafkajs error.
 */
export function describeKafkaFailure(err: unknown): string | null {
  const chain = causes(err);
  if (!chain.some((e) => e.name.startsWith('KafkaJS'))) return null;
  const top = chain[0]!;
  const auth = chain.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || /SASL .*authentication failed|Authentication failed/i.test(e.message));
  if (auth) {
    return oneLine(`Kafka authentication failed (${auth.name}: ${auth.message}); check NIGHTSHIFT_KAFKA_SASL_MECHANISM, NIGHTSHIFT_KAFKA_SASL_USERNAME and the password (NIGHTSHIFT_KAFKA_SASL_PASSWORD_FILE)`);
  }
  const tls = chain.find((e) => TLS_CODES.test(String((e as NodeJS.ErrnoException).code ?? '')) || (e.name === 'KafkaJSConnectionError' && TLS_TEXT.test(e.message)));
  if (tls) {
    const code = String((tls as NodeJS.ErrnoException).code ?? '');
    // OpenSSL's text is "<hex>:error:<hex>:SSL routines:<function>:<reason>:<file>:<line>:..."; its reason is the readable part.
    const reason = /SSL routines:[^:]*:([^:]+)/.exec(tls.message)?.[1] ?? tls.message.replace(/^Connection error: /, '');
    const hint = /CERTIFICATE_REQUIRED|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNKNOWN_CA|bad certificate|certificate required|certificate unknown|unknown ca/i.test(code + reason)
      ? 'the broker refused the client certificate, or none was sent: check NIGHTSHIFT_KAFKA_SSL_CERT_FILE and NIGHTSHIFT_KAFKA_SSL_KEY_FILE and that the brokers trust their CA'
      : /ALTNAME|HOSTNAME/i.test(code)
        ? "the brokers' certificate is not for the host name connected to: check kafka.brokers or NIGHTSHIFT_KAFKA_SSL_SERVERNAME"
        : /SELF_SIGNED|UNABLE_TO|CERT_|verify/i.test(code + reason)
          ? "the brokers' certificate is not signed by a CA nightshift trusts (or has expired): check NIGHTSHIFT_KAFKA_SSL_CA_FILE"
          : "the listener may not speak TLS (compare the port with its protocol: SSL or SASL_SSL), else check NIGHTSHIFT_KAFKA_SSL_CA_FILE and the client certificate (NIGHTSHIFT_KAFKA_SSL_CERT_FILE, NIGHTSHIFT_KAFKA_SSL_KEY_FILE)";
    return oneLine(`TLS with the Kafka brokers failed (${reason.trim()}${code ? ` [${code}]` : ''}): ${hint}`);
  }
  const why = chain[1]?.message ?? top.message;
  return oneLine(`the Kafka brokers cannot be used (${top.name}: ${why}); check --brokers / NIGHTSHIFT_KAFKA_BROKERS, that the brokers are up, and the listener's security (NIGHTSHIFT_KAFKA_SSL, NIGHTSHIFT_KAFKA_SASL_*)`);
}
