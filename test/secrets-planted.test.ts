import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEmbedded } from '../pipeline/build.js';
import { defaultConfig, type NightshiftConfig } from '../pipeline/config.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import type { RawRecord } from '../core/raw.js';
import { LlmConfig, type ActiveLlmConfig } from '../reasoning/llm/config.js';
import { simulate, type SimulationResult } from '../sim/index.js';
import { createAnalyticsSink } from '../sinks/clickhouse/analytics.js';
import { createChdbClickHouse } from '../sinks/clickhouse/client.js';
import { NdjsonSink } from '../sinks/index.js';
import { createTicketingSink } from '../sinks/ticketing/index.js';
import { allConfig, startFakes, type Fakes } from './fakes/all.js';
import { FakeOpenAi, groundedAnswer, promptDoc, type ChatBody } from './fakes/openai.js';
import { secretForms, type SecretForm } from './secret-forms.js';

/**
 * Issue 12's planted-secret test: every secret form (test/secret-forms.ts: keys, passwords, tokens, connection
 * strings, key files, and their split and encoded variants) in every channel (raw, JSON and OTLP logs; plain alerts;
 * Alertmanager labels and annotations; change summaries and authors; span names; metric labels; and bad records that
 * become dead letters), through the real embedded pipeline with the LLM (a fake speaking OpenAI's wire format, whose
 * "model" repeats everything it was given), ClickHouse (chdb), the four ticketing fakes and the NDJSON output.
 * None of the secrets may appear in anything that leaves the process. The same run with redaction off must leak:
 * that is what shows the check can fail.
 */

type Channel = (svc: string, text: string, ts: number, n: number) => RawRecord;

const attr = (key: string, v: string) => ({ key, value: { stringValue: v } });
const resource = (svc: string) => ({ attributes: [attr('service.name', svc)] });

const CHANNELS: Readonly<Record<string, Channel>> = {
  raw_log: (svc, text, ts) => ({ topic: 'logs', key: svc, payload: `ERROR ${text}`, ts, source: {} }),
  json_log: (svc, text, ts) => ({ topic: 'logs', key: svc, payload: JSON.stringify({ ts, service: svc, level: 'error', message: `request failed: ${text}` }), ts, source: {} }),
  otlp_log: (svc, text, ts) => ({
    topic: 'logs',
    key: svc,
    payload: JSON.stringify({ resourceLogs: [{ resource: resource(svc), scopeLogs: [{ logRecords: [{ timeUnixNano: String(ts * 1e6), severityNumber: 17, body: { stringValue: text } }] }] }] }),
    ts,
    source: {},
  }),
  plain_alert: (svc, text, ts, n) => ({
    topic: 'alerts',
    key: svc,
    payload: JSON.stringify({ ts: new Date(ts).toISOString(), service: svc, name: `LeakyAlert${n % 3}`, severity: 'critical', summary: `failed: ${text}`, labels: { service: svc, detail: text } }),
    ts,
    source: {},
  }),
  alertmanager: (svc, text, ts, n) => ({
    topic: 'alerts',
    key: svc,
    payload: JSON.stringify({
      version: '4',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: `LeakyRule${n % 3}`, service: svc, severity: 'critical', detail: text, db_password: 'Hunter2024pw' },
          annotations: { summary: `failing: ${text}`, description: text, runbook_url: 'https://runbooks.example/leak' },
          startsAt: new Date(ts).toISOString(),
        },
      ],
    }),
    ts,
    source: {},
  }),
  change: (svc, text, ts, n) => ({
    topic: 'changes',
    key: svc,
    payload: JSON.stringify({ ts: new Date(ts).toISOString(), service: svc, kind: 'config', id: `cfg-leak-${n}`, summary: `rotated: ${text}`, author: text.slice(0, 120) }),
    ts,
    source: {},
  }),
  span: (svc, text, ts) => ({
    topic: 'traces',
    key: svc,
    payload: JSON.stringify({
      resourceSpans: [
        {
          resource: resource(svc),
          scopeSpans: [{ spans: [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', name: `GET ${text}`, kind: 2, startTimeUnixNano: String(ts * 1e6), endTimeUnixNano: String((ts + 5) * 1e6), status: { code: 2 } }] }],
        },
      ],
    }),
    ts,
    source: {},
  }),
  metric_label: (svc, text, ts) => ({
    topic: 'metrics',
    key: svc,
    payload: JSON.stringify({
      resourceMetrics: [
        { resource: resource(svc), scopeMetrics: [{ metrics: [{ name: 'leaky_errors_total', gauge: { dataPoints: [{ timeUnixNano: String(ts * 1e6), asDouble: 1, attributes: [attr('detail', text), attr('api_key', 'Hunter2024pw')] }] } }] }] },
      ],
    }),
    ts,
    source: {},
  }),
  // Bad records: they become dead letters, whose copies people read.
  dead_letter_json: (svc, text, ts) => ({ topic: 'logs', key: svc, payload: `{"service":"${svc}","message":${JSON.stringify(text)}`, ts, source: {} }),
  dead_letter_change: (svc, text, ts) => ({ topic: 'changes', key: svc, payload: JSON.stringify({ ts, service: svc, kind: 'bogus', id: 'x', summary: text }), ts, source: {} }),
};

/** A fake model that repeats everything it was shown: every quoted text and every placeholder, in its explanation. */
function echoingAnswer(b: ChatBody): string {
  const a = JSON.parse(groundedAnswer(b)) as { causes: { explanation: string; next_steps: { action: string; runbook: string | null }[] }[] };
  const user = b.messages[1]?.content ?? '';
  const quoted = [...user.matchAll(/«([^»]{0,300})»/g)].map((m) => m[1]).join(' | ');
  const placeholders = [...new Set(user.match(/<[A-Z][A-Z0-9_]*_\d+>|<redacted:[a-z0-9-]+>/g) ?? [])].join(' ');
  for (const c of a.causes) {
    c.explanation = `${c.explanation} Seen: ${placeholders} ${quoted}`.slice(0, 1400);
    c.next_steps.push({ action: `Rotate ${placeholders}`.slice(0, 300), runbook: null });
  }
  promptDoc(b); // the request is a well-formed prompt
  return JSON.stringify(a);
}

interface Leaks {
  readonly where: Record<string, string[]>;
  readonly total: number;
  readonly planted: number;
  readonly deadLetters: number;
}

let fakes: Fakes;
const llm = new FakeOpenAi((b) => ({ kind: 'content', content: echoingAnswer(b) }));
let baseUrl = '';
let sim: SimulationResult;
let world: RawRecord[] = [];
const dir = mkdtempSync(join(tmpdir(), 'ns-planted-'));

beforeAll(async () => {
  fakes = await startFakes();
  baseUrl = await llm.start();
  const s = simulate({ seed: 7, services: 10, hours: 2, faults: 1 });
  world = [...s.records].map((r) => ({ topic: r.topic, key: r.key ?? null, payload: r.payload, ...(r.ts !== undefined ? { ts: r.ts } : {}), source: {} }));
  sim = s.result();
});
afterAll(async () => {
  await fakes.close();
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The world with every form planted in every channel on the faulty service during its fault. */
function planted(forms: readonly SecretForm[]): { records: RawRecord[]; plantings: number } {
  const f = sim.faults[0]!;
  const extra: RawRecord[] = [];
  let n = 0;
  for (const form of forms) {
    for (const [, ch] of Object.entries(CHANNELS)) {
      const ts = f.start + 60_000 + (n % 600) * 500;
      form.parts.forEach((p, i) => extra.push(ch(f.service, p, ts + i, n)));
      n++;
    }
  }
  const records = [...world, ...extra].sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  return { records, plantings: n };
}

async function* source(records: readonly RawRecord[]): AsyncGenerator<RawRecord> {
  let line = 0;
  for (const r of records) yield { ...r, source: { line: ++line } };
}

async function runPlanted(name: string, cfg: NightshiftConfig, llmRedact: boolean): Promise<Leaks> {
  const forms = secretForms();
  const { records, plantings } = planted(forms);
  llm.requests.length = 0;
  for (const h of [fakes.sn.http, fakes.jira.http, fakes.pd.http, fakes.hook.http]) h.requests.length = 0;
  const deadLetters = new MemoryDeadLetters(100_000);
  const deps = { log: silentLogger(), deadLetters };
  const chdbPath = join(dir, `${name}-chdb`);
  const analytics = await createAnalyticsSink({ NIGHTSHIFT_CHDB_PATH: chdbPath }, deps);
  const llmCfg: ActiveLlmConfig = { ...LlmConfig.parse({ baseUrl, mode: 'inline', timeoutMs: 5000, maxRetries: 1, redact: { enabled: llmRedact } }), model: 'fake-gpt' };
  const outPath = join(dir, `${name}.ndjson`);
  const tickets = createTicketingSink(allConfig(fakes), deps);
  const p = buildEmbedded(cfg, { ...deps, topology: sim.topology, analytics, llm: llmCfg }, [new NdjsonSink({ path: outPath }), tickets]);
  await p.run(source(records));
  await analytics.close();

  const ch = await createChdbClickHouse(chdbPath);
  let tables = '';
  try {
    const names = await ch.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = 'nightshift'`);
    for (const t of names) tables += JSON.stringify(await ch.query(`SELECT * FROM nightshift.\`${t.name}\``));
  } finally {
    await ch.close();
  }
  const outputs: Record<string, string> = {
    llm_requests: llm.requests.map((r) => `${r.raw}\n${JSON.stringify(JSON.parse(r.raw))}`).join('\n'),
    servicenow: fakes.sn.http.requests.map((r) => r.body).join('\n'),
    jira: fakes.jira.http.requests.map((r) => r.body).join('\n'),
    pagerduty: fakes.pd.http.requests.map((r) => r.body).join('\n'),
    webhook: fakes.hook.http.requests.map((r) => r.body).join('\n'),
    clickhouse: tables,
    ndjson_outputs: readFileSync(outPath, 'utf8'),
    dead_letters: JSON.stringify(deadLetters.items),
  };
  // The pipeline really saw and used the planted records: tickets were filed, the model was asked, rows were written.
  for (const k of ['llm_requests', 'jira', 'webhook', 'clickhouse', 'ndjson_outputs', 'dead_letters']) expect(outputs[k]!.length, k).toBeGreaterThan(100);
  const where: Record<string, string[]> = {};
  let total = 0;
  for (const form of forms) {
    for (const secret of [...form.secrets, 'Hunter2024pw']) {
      for (const [k, text] of Object.entries(outputs)) {
        if (!text.includes(secret) && !text.includes(JSON.stringify(secret).slice(1, -1))) continue;
        (where[k] ??= []).push(form.name);
        total++;
      }
    }
  }
  return { where, total, planted: plantings, deadLetters: deadLetters.count };
}

describe('planted secrets', () => {
  it('none of the forms reaches the LLM, a ticket, ClickHouse, the outputs or a dead letter, in any channel', async () => {
    const r = await runPlanted('on', defaultConfig(), true);
    expect(r.planted).toBeGreaterThanOrEqual(35 * Object.keys(CHANNELS).length);
    expect(r.deadLetters).toBeGreaterThanOrEqual(2 * secretForms().length);
    expect(r.where).toEqual({});
    expect(r.total).toBe(0);
  }, 240_000);

  it('the check can fail: with redaction off, the same run leaks into every sink', async () => {
    const cfg = defaultConfig();
    const off: NightshiftConfig = { ...cfg, ingest: { ...cfg.ingest, redact: { ...cfg.ingest.redact, enabled: false } } };
    const r = await runPlanted('off', off, false);
    expect(r.total).toBeGreaterThan(50);
    for (const k of ['llm_requests', 'clickhouse', 'ndjson_outputs', 'dead_letters']) expect(Object.keys(r.where), k).toContain(k);
  }, 240_000);
});
