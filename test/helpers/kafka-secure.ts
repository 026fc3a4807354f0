import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ROOT } from './kafka.js';

/**
 * A private single-node KRaft Kafka 3.9 with secured listeners, separate from the shared test broker of
 * scripts/kafka.sh (own ports, own data directory under the OS temp dir, stopped by `stop()`):
 *   SASL_SSL        SCRAM-SHA-512 and SCRAM-SHA-256 over TLS (users created at storage format time, --add-scram)
 *   SSL             TLS with client certificates required (mTLS)
 *   SASL_PLAINTEXT  PLAIN without TLS
 *   PLAINTEXT       inter-broker, controller-side only in spirit; the tests use it to check the broker is up
 * Certificates are made here by openssl: a CA, the broker's certificate (127.0.0.1, localhost), a client
 * certificate, and a second CA with its own client certificate that the broker does not trust. PEM throughout: the
 * broker reads them with ssl.keystore.type=PEM / ssl.truststore.type=PEM.
 */
export interface SecureBroker {
  readonly dir: string;
  readonly ports: { readonly plaintext: number; readonly saslSsl: number; readonly ssl: number; readonly saslPlaintext: number };
  /** PEM files: ca.crt (trusted by the broker), client.crt/.key (signed by it), other-ca.crt, other-client.crt/.key. */
  file(name: string): string;
  readonly users: { readonly scram512: Cred; readonly scram256: Cred; readonly plain: Cred };
  stop(): Promise<void>;
}

export interface Cred {
  readonly username: string;
  readonly password: string;
}

const USERS = {
  scram512: { username: 'alice', password: 'alice-secret-512' },
  scram256: { username: 'bob', password: 'bob-secret-256' },
  plain: { username: 'carol', password: 'carol-secret-plain' },
} as const;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function makeCerts(dir: string): void {
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  const ca = (name: string): void => run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '2']);
  const leaf = (name: string, caName: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  ca('ca');
  ca('other-ca');
  leaf('broker', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  // The broker's PEM keystore: its (unencrypted PKCS#8) key and its certificate in one file.
  writeFileSync(join(dir, 'broker-keystore.pem'), readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.crt'), 'utf8'));
}

async function answers(port: number): Promise<boolean> {
  const k = new Kafka({ clientId: 'secure-probe', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 } });
  const a = k.admin();
  try {
    await a.connect();
    await a.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await a.disconnect().catch(() => undefined);
  }
}

export async function startSecureBroker(opts: { readonly startTimeoutMs?: number } = {}): Promise<SecureBroker> {
  const libs = execFileSync('bash', [join(ROOT, 'scripts', 'kafka.sh'), 'fetch'], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop()!;
  const dir = mkdtempSync(join(tmpdir(), 'ns-kafka-secure-'));
  makeCerts(dir);
  const [plaintext, controller, saslSsl, ssl, saslPlaintext] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()] as [number, number, number, number, number];
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const props = `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controller}
listeners=PLAINTEXT://127.0.0.1:${plaintext},CONTROLLER://127.0.0.1:${controller},SASL_SSL://127.0.0.1:${saslSsl},SSL://127.0.0.1:${ssl},SASL_PLAINTEXT://127.0.0.1:${saslPlaintext}
advertised.listeners=PLAINTEXT://127.0.0.1:${plaintext},SASL_SSL://127.0.0.1:${saslSsl},SSL://127.0.0.1:${ssl},SASL_PLAINTEXT://127.0.0.1:${saslPlaintext}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${dir}/data
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=2
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
ssl.keystore.type=PEM
ssl.keystore.location=${dir}/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=${dir}/ca.crt
listener.name.ssl.ssl.client.auth=required
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram}
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram}
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${USERS.plain.username}="${USERS.plain.password}";
`;
  writeFileSync(join(dir, 'server.properties'), props);
  writeFileSync(
    join(dir, 'log4j.properties'),
    `log4j.rootLogger=WARN, file\nlog4j.appender.file=org.apache.log4j.FileAppender\nlog4j.appender.file.File=${dir}/server.log\nlog4j.appender.file.layout=org.apache.log4j.PatternLayout\nlog4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n`,
  );
  const cp = [`${libs}/*`];
  const jvm = ['-Xshare:auto', '-cp', cp.join(':'), `-Dlog4j.configuration=file:${dir}/log4j.properties`];
  const clusterId = randomBytes(16).toString('base64url');
  try {
    execFileSync(
      'java',
      [
        ...jvm,
        'kafka.tools.StorageTool',
        'format',
        // `=`: a base64url id may start with '-', which would read as an option.
        `--cluster-id=${clusterId}`,
        '-c',
        join(dir, 'server.properties'),
        '--add-scram',
        `SCRAM-SHA-512=[name=${USERS.scram512.username},password=${USERS.scram512.password}]`,
        '--add-scram',
        `SCRAM-SHA-256=[name=${USERS.scram256.username},password=${USERS.scram256.password}]`,
      ],
      { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`kafka storage format failed: ${err.stderr || err.stdout || err.message}`);
  }
  const child: ChildProcess = spawn('java', ['-Xmx256m', '-Xms256m', '-XX:+UseG1GC', '-Djava.awt.headless=true', ...jvm, 'kafka.Kafka', join(dir, 'server.properties')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exit;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + (opts.startTimeoutMs ?? 90_000);
  for (;;) {
    if (exited) {
      const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8').slice(-3000) : '';
      await stop();
      throw new Error(`the secure broker exited during start: ${stderr}\n${log}`);
    }
    if (await answers(plaintext)) break;
    if (Date.now() > end) {
      const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8').slice(-3000) : '';
      await stop();
      throw new Error(`the secure broker did not answer within ${opts.startTimeoutMs ?? 90_000} ms: ${stderr}\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { dir, ports: { plaintext, saslSsl, ssl, saslPlaintext }, file: (name) => join(dir, name), users: USERS, stop };
}
