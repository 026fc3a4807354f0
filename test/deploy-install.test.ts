import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../core/metrics.js';

/**
 * The container, without a Docker engine: the Dockerfile's runtime stage is read, and its steps are repeated in a
 * temporary folder (the same files copied, `npm ci --omit=dev`); the production install must then start, answer
 * /healthz, pass the image's own HEALTHCHECK command, expose on /metrics every metric the pipeline dashboard queries,
 * and stop cleanly on SIGTERM.
 *
 * The served command is `nightshift run` with NIGHTSHIFT_OPS_PORT (cluster mode, the same command the Helm chart and
 * the compose file run), against the project's real broker (scripts/kafka.sh).
 */
const ROOT = join(import.meta.dirname, '..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

interface Stage {
  readonly from: string;
  readonly name: string;
  readonly lines: string[];
}

/** The Dockerfile's stages, with continuation lines joined. */
function stages(text: string): Stage[] {
  const joined = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args = Object.fromEntries(joined.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=', 2) as [string, string]));
  const out: Stage[] = [];
  for (const l of joined) {
    const m = /^FROM\s+(\S+)\s+AS\s+(\S+)$/i.exec(l);
    if (m) out.push({ from: m[1]!.replace(/^\$\{(\w+)\}$/, (_, a: string) => args[a] ?? a), name: m[2]!, lines: [] });
    else out.at(-1)?.lines.push(l);
  }
  return out;
}

const [build, runtime] = stages(dockerfile);
/** The runtime stage's `COPY src... dest` steps: [sources, fromBuildStage]. */
const runtimeCopies = runtime!.lines
  .filter((l) => l.startsWith('COPY '))
  .map((l) => {
    const parts = l.split(/\s+/).slice(1);
    const fromBuild = parts[0]!.startsWith('--from=');
    const srcs = parts.slice(fromBuild ? 1 : 0, -1).map((s) => s.replace(/^\/app\//, ''));
    return { srcs, fromBuild };
  });
const healthcheck = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(dockerfile.replace(/\\\n\s*/g, ' '))![1]!) as string[];

describe('Dockerfile', () => {
  it('is multi-stage on a pinned Node 20 slim image: build compiles with every dependency, runtime has production ones only', () => {
    expect(build!.from).toMatch(/^node:20\.\d+-bookworm-slim$/);
    expect(runtime!.from).toBe(build!.from);
    expect(build!.lines).toEqual(expect.arrayContaining(['RUN npm ci --no-audit --no-fund', 'RUN npm run build']));
    expect(runtime!.lines.some((l) => /^RUN npm ci --omit=dev\b/.test(l))).toBe(true);
    expect(runtimeCopies).toEqual([
      { srcs: ['package.json', 'package-lock.json'], fromBuild: false },
      { srcs: ['dist'], fromBuild: true },
      { srcs: ['bin'], fromBuild: false },
      { srcs: ['knowledge'], fromBuild: false },
      { srcs: ['ui/assets'], fromBuild: false },
    ]);
  });

  it('runs as the unprivileged node user, with a health check on /healthz and nightshift as entrypoint', () => {
    expect(runtime!.lines).toContain('USER node');
    expect(runtime!.lines.findIndex((l) => l === 'USER node')).toBeGreaterThan(runtime!.lines.findIndex((l) => l.startsWith('RUN npm ci')));
    expect(healthcheck.slice(0, 2)).toEqual(['node', '-e']);
    expect(healthcheck[2]).toContain("path:'/healthz'");
    expect(runtime!.lines).toContain('ENTRYPOINT ["nightshift"]');
  });

  it('listens on every interface inside the container (the CLI default, loopback, would make published ports dead)', () => {
    const env = runtime!.lines.filter((l) => l.startsWith('ENV ')).join(' ');
    expect(env).toMatch(/\bNIGHTSHIFT_OPS_HOST=0\.0\.0\.0\b/);
    expect(env).toMatch(/\bNIGHTSHIFT_GATEWAY_HOST=0\.0\.0\.0\b/);
  });

  it('.dockerignore keeps installed and built output out of the context, and nothing the build needs', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.git']) expect(ignored).toContain(p);
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'knowledge', ...tsconfig.include.map((i) => i.split('/')[0]!)];
    for (const n of needed) expect(ignored, n).not.toContain(n);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Metric families the pipeline dashboard queries (histogram series mapped to their family). */
function dashboardMetrics(): string[] {
  const d = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'nightshift-pipeline.json'), 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr?: string }> }>;
  };
  const exported = new Set<string>(Object.values(METRIC));
  const out = new Set<string>();
  for (const p of d.panels) {
    for (const t of p.targets ?? []) {
      for (const m of (t.expr ?? '').matchAll(/\bnightshift_[a-zA-Z0-9_:]*/g)) {
        out.add(exported.has(m[0]) ? m[0] : m[0].replace(/_(bucket|sum|count)$/, ''));
      }
    }
  }
  return [...out].sort();
}

/** Topics and consumer groups of this test's own, so the shared broker's other users are never joined or written to. */
const PREFIX = `deploytest-install-${process.pid}`;
function isolation(): Record<string, string> {
  const env: Record<string, string> = { NIGHTSHIFT_KAFKA_GROUP_PREFIX: PREFIX };
  for (const k of ['ALERTS', 'LOGS', 'METRICS', 'TRACES', 'CHANGES']) env[`NIGHTSHIFT_TOPIC_${k}`] = `${PREFIX}.${k.toLowerCase()}`;
  for (const k of ['EVENTS', 'BUNDLES', 'RCA', 'DEADLETTERS', 'CHECKPOINTS']) env[`NIGHTSHIFT_KAFKA_TOPIC_${k}`] = `${PREFIX}.${k.toLowerCase()}`;
  for (const k of ['RAW', 'EVENTS', 'BUNDLES', 'RCA']) env[`NIGHTSHIFT_KAFKA_PARTITIONS_${k}`] = '1';
  return env;
}

async function deleteOwnTopicsAndGroups(brokers: string): Promise<void> {
  const admin = new Kafka({ clientId: 'deploy-install-test', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${PREFIX}.`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(PREFIX));
    if (groups.length > 0) await admin.deleteGroups(groups);
  } finally {
    await admin.disconnect();
  }
}

describe('production install (the runtime stage, without Docker)', () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let stderr = '';
  let opsPort = 0;
  let brokers = '';

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does) first');
    dir = mkdtempSync(join(tmpdir(), 'ns-install-'));
    for (const c of runtimeCopies) for (const s of c.srcs) cpSync(join(ROOT, s), join(dir, s), { recursive: true });
    // As the image does; --prefer-offline only lets npm use its cache first, the installed tree is the same.
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, encoding: 'utf8', timeout: 420_000 });
    if (ci.status !== 0) {
      // npm prints the cause first and its usage text after; keep the cause.
      const cause = ci.stderr.split('\n').filter((l) => !/^npm (warn|error {2,}|error$)/.test(l)).slice(0, 30).join('\n');
      throw new Error(`npm ci --omit=dev failed (the image build would too):\n${cause}`);
    }
    const out = execFileSync('bash', [join(ROOT, 'scripts', 'kafka.sh'), 'up'], { encoding: 'utf8', timeout: 240_000 });
    brokers = out.trim().split('\n').pop()!;
  }, 720_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (brokers) await deleteOwnTopicsAndGroups(brokers).catch(() => undefined);
  });

  it('installs production dependencies only', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const d of Object.keys(pkg.dependencies)) expect(existsSync(join(dir, 'node_modules', d)), d).toBe(true);
    // npm's record of what it installed: nothing the lock file marks as needed only for development.
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(installed.packages).filter(([, p]) => p.dev).map(([k]) => k);
    expect(devOnly).toEqual([]);
    expect(existsSync(join(dir, 'node_modules', 'vitest')), 'vitest').toBe(false);
    expect(existsSync(join(dir, 'node_modules', 'typescript')), 'typescript').toBe(false);
    // node-llama-cpp is opt-in: the image (this install) holds none of its CPU, CUDA or Vulkan builds.
    expect(existsSync(join(dir, 'node_modules', 'node-llama-cpp')), 'node-llama-cpp').toBe(false);
    expect(existsSync(join(dir, 'node_modules', '@node-llama-cpp')), '@node-llama-cpp').toBe(false);
  });

  it('runs the CLI from the install (the compose simulator runs `nightshift simulate` this way)', () => {
    const help = spawnSync('node', ['bin/nightshift.js', 'help'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(help.status, help.stderr).toBe(0);
    const sim = spawnSync('node', ['bin/nightshift.js', 'simulate', '--out', 'w.ndjson', '--hours', '0.2', '--faults', '0', '--services', '10', '--quiet'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(sim.status, sim.stderr).toBe(0);
    expect(readFileSync(join(dir, 'w.ndjson'), 'utf8').split('\n').length).toBeGreaterThan(100);
  });

  it('`nightshift ui` from the install serves the incident page and its assets (shipped, not fetched)', async () => {
    const port = await freePort();
    const ui = spawn('node', ['bin/nightshift.js', 'ui', '--port', String(port)], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, NODE_ENV: 'production', NIGHTSHIFT_CHDB_PATH: join(dir, 'chdb'), NIGHTSHIFT_LOG_LEVEL: 'warn', ...isolation() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    ui.stderr!.setEncoding('utf8');
    ui.stderr!.on('data', (c: string) => (err = (err + c).slice(-4000)));
    try {
      const deadline = Date.now() + 60_000;
      let page = { status: 0, body: '' };
      while (Date.now() < deadline && ui.exitCode === null) {
        page = await httpGet(port, '/').catch(() => ({ status: 0, body: '' }));
        if (page.status === 200) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(page.status, err).toBe(200);
      expect(page.body).toContain('<script src="/assets/app.js"');
      const js = await httpGet(port, '/assets/app.js');
      expect(js.status).toBe(200);
      expect(js.body).toContain('textContent');
      const api = await httpGet(port, '/api/incidents');
      expect(api.status, api.body).toBe(200);
      expect(JSON.parse(api.body)).toEqual({ incidents: [], truncated: false });
    } finally {
      ui.kill('SIGTERM');
      await new Promise((r) => ui.once('exit', r));
    }
  }, 90_000);

  it('`nightshift run` serves /healthz, passes the image HEALTHCHECK and exposes every metric the dashboard queries', async () => {
    opsPort = await freePort();
    child = spawn('node', ['bin/nightshift.js', 'run'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, NODE_ENV: 'production', NIGHTSHIFT_OPS_PORT: String(opsPort), NIGHTSHIFT_KAFKA_BROKERS: brokers, NIGHTSHIFT_ANALYTICS: 'off', ...isolation() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => (stderr = (stderr + c).slice(-8000)));
    const deadline = Date.now() + 90_000;
    let health = { status: 0, body: '' };
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`nightshift run exited with ${child.exitCode} before serving /healthz:\n${stderr}`);
      health = await httpGet(opsPort, '/healthz').catch(() => ({ status: 0, body: '' }));
      if (health.status === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(health.status, `no /healthz 200 within 90 s; stderr:\n${stderr}`).toBe(200);

    const hc = spawnSync(healthcheck[0]!, healthcheck.slice(1), { env: { ...process.env, NIGHTSHIFT_OPS_PORT: String(opsPort) }, timeout: 10_000 });
    expect(hc.status).toBe(0);
    // ... and the same check fails when nothing listens, so it is not a constant 0.
    const closed = await freePort();
    expect(spawnSync(healthcheck[0]!, healthcheck.slice(1), { env: { ...process.env, NIGHTSHIFT_OPS_PORT: String(closed) }, timeout: 10_000 }).status).toBe(1);

    const metrics = await httpGet(opsPort, '/metrics');
    expect(metrics.status).toBe(200);
    const families = new Set([...metrics.body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const wanted = dashboardMetrics();
    expect(wanted.length).toBeGreaterThan(10);
    expect(wanted.filter((m) => !families.has(m))).toEqual([]);
  }, 150_000);

  it('stops cleanly on SIGTERM (what Kubernetes sends), well within the chart\'s grace period', async () => {
    expect(child, 'the previous test started the process').toBeDefined();
    expect(child!.exitCode, `nightshift run already exited; stderr:\n${stderr}`).toBeNull();
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    const t0 = Date.now();
    child!.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 45_000))]);
    expect(code, stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(45_000);
  }, 60_000);
});
