import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../pipeline/kafka/cluster.js';
import { ALL_STAGES } from '../pipeline/kafka/runner.js';
import { silentLogger } from '../core/log.js';
import { startGateway, type Gateway } from '../pipeline/kafka/gateway.js';
import type { IncidentOutput, TopologyFile } from '../schemas/index.js';
import { MemorySink } from '../sinks/index.js';
import { testCluster, waitFor } from './helpers/kafka.js';

/**
 * A real Alertmanager (Debian's prometheus-alertmanager) with a webhook receiver pointing at the gateway: alerts
 * posted to Alertmanager's API are grouped and sent to the gateway, land in the alerts topic, and the pipeline
 * running on the broker opens an incident from them.
 */
const BIN = process.env.NIGHTSHIFT_ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';
const dir = mkdtempSync(join(tmpdir(), 'nightshift-am-'));
let am: ChildProcess | null = null;
let gw: Gateway | null = null;
let cluster: Cluster | null = null;

afterAll(async () => {
  am?.kill('SIGTERM');
  await gw?.stop();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const TOPOLOGY: TopologyFile = {
  services: [
    { name: 'web-frontend', depends_on: ['checkout-api'] },
    { name: 'checkout-api', depends_on: ['orders-db'] },
    { name: 'orders-db', depends_on: [] },
  ],
} as TopologyFile;

describe('Alertmanager -> gateway -> Kafka -> incident', () => {
  it('alerts a real Alertmanager sends to the webhook reach an incident', async () => {
    if (!existsSync(BIN)) {
      throw new Error(`${BIN} is not installed; this test needs Debian's prometheus-alertmanager: apt-get install -y prometheus-alertmanager (CI does it in .ci/run)`);
    }
    // Three services, three alerts: they correlate only if they meet in one perception instance (see eventKey).
    const tc = testCluster('am', { eventKey: 'component' });
    const sink = new MemorySink<IncidentOutput>();
    cluster = await startCluster({ config: tc.config, kafka: tc.kafka, stages: ALL_STAGES, log: silentLogger(), topology: TOPOLOGY, createSink: () => sink });
    gw = await startGateway({ ingest: tc.config.ingest, kafka: tc.kafka, log: silentLogger(), port: 0, host: '127.0.0.1' });

    const port = await freePort();
    const cfg = join(dir, 'alertmanager.yml');
    writeFileSync(
      cfg,
      [
        'route:',
        '  receiver: nightshift',
        "  group_by: ['alertname', 'service']",
        '  group_wait: 1s',
        '  group_interval: 5s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: nightshift',
        '    webhook_configs:',
        `      - url: http://127.0.0.1:${gw.port}/alertmanager`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    const logs: string[] = [];
    am = spawn(BIN, [`--config.file=${cfg}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    am.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    const base = `http://127.0.0.1:${port}`;
    await waitFor('Alertmanager to be ready', async () => (await fetch(`${base}/-/ready`).catch(() => null))?.status === 200, 30_000, 200);

    const now = new Date().toISOString();
    const alerts = [
      { labels: { alertname: 'HighErrorRate', service: 'checkout-api', severity: 'critical' }, annotations: { summary: '35% of checkouts fail' } },
      { labels: { alertname: 'HighLatency', service: 'web-frontend', severity: 'critical' }, annotations: { summary: 'p95 4.2 s' } },
      { labels: { alertname: 'PostgresConnectionErrors', service: 'orders-db', severity: 'critical' }, annotations: { summary: 'connection refused' } },
    ].map((a) => ({ ...a, startsAt: now }));
    const posted = await fetch(`${base}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
    expect(posted.status, await posted.text()).toBe(200);

    await waitFor('an incident from the alerts', () => sink.items.length > 0, 90_000, 200).catch((e: Error) => {
      throw new Error(`${e.message}; gateway ${JSON.stringify(gw!.handler.counters.snapshot())}; alertmanager log: ${logs.join('').slice(-2000)}`);
    });
    // Alertmanager sent webhooks (one per group) and the gateway accepted them.
    expect(gw.handler.counters.sent).toBeGreaterThanOrEqual(1);
    expect(gw.handler.counters.droppedTotal()).toBe(0);
    const inc = sink.items[0]!;
    expect(inc.status).toBe('open');
    // The three alerts are the incident's evidence: one signal each, one service each.
    expect(inc.counts.signals).toBeGreaterThanOrEqual(2);
    expect(inc.services.length).toBeGreaterThanOrEqual(2);
    for (const svc of inc.services) expect(['checkout-api', 'web-frontend', 'orders-db']).toContain(svc);
    expect(inc.root_causes.length).toBeGreaterThan(0);
  }, 180_000);
});
