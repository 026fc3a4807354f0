import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli/io.js';
import { main } from '../cli/main.js';
import { NightshiftError } from '../core/errors.js';
import type { McpContext } from '../mcp/context.js';
import { NdjsonFeedbackStore } from '../mcp/feedback.js';
import { startMcpHttpServer } from '../mcp/listen.js';
import { knowledgeBaseOf } from '../reasoning/rag/kb.js';
import { NdjsonTableStore } from '../sinks/clickhouse/ndjson-store.js';

/** The feedback API and store on the NDJSON fallback (no queries: no incident check, no confirm), and CLI usage. */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function post(port: number, host: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: '/v1/feedback', method: 'POST', headers: { host, 'content-type': 'application/json' } }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

describe('feedback on the NDJSON store', () => {
  it('records over HTTP without tokens from an IP Host only, refuses confirm, and all() collapses retried rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-feedback-ndjson-'));
    dirs.push(dir);
    let clock = 1000;
    const store = new NdjsonTableStore(dir);
    const feedback = new NdjsonFeedbackStore(store, dir, () => (clock += 1000));
    const ctx: McpContext = {
      description: 'ndjson',
      reader: null,
      feedback,
      kb: knowledgeBaseOf([]),
      runSaved: () => Promise.reject(new NightshiftError('CONFIG_INVALID', 'no queries')),
      close: () => store.close(),
    };
    const srv = await startMcpHttpServer({ ctx, port: 0, host: '127.0.0.1' });
    try {
      const fix = JSON.stringify({ kind: 'correct_root_cause', incident_id: 'inc_a', service: 'db', root_kind: 'saturation' });
      expect((await post(srv.port, 'evil.example', fix)).status).toBe(403);
      const ok = await post(srv.port, `127.0.0.1:${srv.port}`, fix);
      expect(ok.status).toBe(201);
      expect(JSON.parse(ok.body)).toMatchObject({ recorded: { kind: 'correct_root_cause', service: 'db', actor: 'anonymous', source: 'http-api' } });
      const confirm = await post(srv.port, `127.0.0.1:${srv.port}`, JSON.stringify({ kind: 'confirm', incident_id: 'inc_a' }));
      expect(confirm.status).toBe(503);
      expect(JSON.parse(confirm.body)).toMatchObject({ error: { code: 'CONFIG_INVALID' } });
      expect((await post(srv.port, `127.0.0.1:${srv.port}`, JSON.stringify({ kind: 'resolve', incident_id: 'inc_b' }))).status).toBe(201);
    } finally {
      await srv.close();
    }
    const file = join(dir, 'feedback.ndjson');
    const first = readFileSync(file, 'utf8').split('\n')[0]!;
    // A retried append (same feedback_id) and a torn last line.
    appendFileSync(file, `${first}\n{"feedback_id":"tor`);
    const all = await feedback.all(100);
    expect(all.map((r) => [r.incident_id, r.kind])).toEqual([
      ['inc_a', 'correct_root_cause'],
      ['inc_b', 'resolve'],
    ]);
    expect(await feedback.all(1)).toHaveLength(1);
    await store.close();
  });
});

describe('nightshift eval --feedback usage', () => {
  it('refuses the simulated-eval options with exit 2', async () => {
    const se = new PassThrough();
    let err = '';
    se.on('data', (d: Buffer) => (err += d.toString()));
    const io: CliIo = { stdout: new PassThrough(), stderr: se, tty: false };
    expect(await main(['eval', '--feedback', '--replay', 'x.ndjson'], io)).toBe(2);
    expect(err).toMatch(/--replay does not apply to eval --feedback/);
  });
});
