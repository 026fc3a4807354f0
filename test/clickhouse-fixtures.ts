import type { Alert, Event, IncidentBundle, IncidentOutput, LogRecord, RootCause, RootCauseKind, Signal } from '../schemas/index.js';
import { seededRandom } from '../sinks/clickhouse/backoff.js';
import type { ReasoningRunRow } from '../sinks/clickhouse/rows.js';
import type { ClickHouseAnalytics } from '../sinks/clickhouse/sink.js';
import { GUARD_RESULTS } from '../sinks/clickhouse/schema.js';

/**
 * Deterministic analytics fixture: three weeks of incidents with several versions each (some sharing an updated_at),
 * their bundles (signals, templates, first-symptom times), the events behind the per-minute stats, and LLM runs.
 */
export interface AnalyticsFixture {
  readonly events: Event[];
  readonly bundles: IncidentBundle[];
  readonly outputs: IncidentOutput[];
  readonly signals: Signal[];
  readonly runs: ReasoningRunRow[];
}

export const FIXTURE_START = Date.UTC(2024, 0, 1); // a Monday
const SERVICES = ['auth', 'cart', 'checkout', 'db', 'payments', 'search'];
const KINDS: RootCauseKind[] = ['latency', 'errors', 'saturation', 'deploy', 'resource', 'dependency'];
const LEVELS = ['warn', 'error', 'fatal', 'info'];

export function analyticsFixture(seed = 42, incidents = 40): AnalyticsFixture {
  const rnd = seededRandom(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const events: Event[] = [];
  const bundles: IncidentBundle[] = [];
  const outputs: IncidentOutput[] = [];
  const signals: Signal[] = [];
  const runs: ReasoningRunRow[] = [];
  let eventId = 0;
  for (let n = 0; n < incidents; n++) {
    const id = `inc_${String(n).padStart(4, '0')}`;
    const opened = FIXTURE_START + int(0, 20 * 24 * 60) * 60_000 + int(0, 59) * 1000;
    const services = [...new Set([pick(SERVICES), pick(SERVICES), pick(SERVICES)].slice(0, int(1, 3)))].sort();
    const firstSeen: Record<string, number> = {};
    for (const s of services) firstSeen[s] = opened - int(5, 600) * 1000;
    const tplId = `tpl_${n % 12}`;
    const tplService = services[0]!;
    const versions = int(1, 4);
    let updated = opened;
    const incSignals: Signal[] = [];
    for (let v = 0; v < versions; v++) {
      // Every third version repeats the previous updated_at: the writer must still order them.
      if (v > 0 && v % 3 !== 0) updated += int(30, 900) * 1000;
      const last = v === versions - 1;
      const sig: Signal = {
        id: `sig_${n}_${v}`,
        ts: updated - int(0, 60) * 1000,
        service: pick(services),
        type: v === 0 ? 'template_new' : pick(['metric_anomaly', 'red_latency', 'alert', 'template_burst'] as const),
        score: Math.round(rnd() * 100) / 100,
        hint: pick(KINDS),
        summary: `signal ${v} of ${id}`,
        ref: v === 0 ? tplId : `ref_${n}_${v}`,
      };
      incSignals.push(sig);
      signals.push(sig);
      const nCauses = int(1, 3);
      const causes: RootCause[] = [];
      for (let r = 1; r <= nCauses; r++) {
        causes.push({
          rank: r,
          service: pick(SERVICES),
          kind: pick(KINDS),
          summary: `cause ${r} of ${id} v${v}`,
          confidence: [0.5, 0.3, 0.15][r - 1]! - Math.round(rnd() * 10) / 100,
          evidence: [sig.id],
        });
      }
      const counts = { events: int(10, 500), alerts: int(0, 20), signals: incSignals.length };
      const status = last && rnd() < 0.6 ? 'resolved' : 'open';
      bundles.push({
        incident_id: id,
        opened_at: opened,
        updated_at: updated,
        status,
        services,
        counts,
        signals: [...incSignals],
        templates: [{ id: tplId, service: tplService, template: `failed to reach <*> (${n % 12})`, level: LEVELS[n % 4]!, count: 5 + v * 3 + n, first_seen: opened - 30_000 }],
        series: [],
        changes: [],
        edges: [],
        first_seen: firstSeen,
        truncated: { signals: 0, templates: 0 },
      });
      outputs.push({ incident_id: id, opened_at: opened, updated_at: updated, status, services, counts, root_causes: causes, reasoner: 'ranker' });
      runs.push({
        run_id: `run_${n}_${v}`,
        incident_id: id,
        incident_version: v,
        ts: updated,
        model: pick(['gpt-4o-mini', 'llama-3-8b']),
        latency_ms: int(200, 4000),
        tokens_in: int(500, 4000),
        tokens_out: int(50, 400),
        cost_usd: int(1, 500) / 100_000,
        retrieval_hit: rnd() < 0.7 ? 1 : 0,
        guard_result: pick(GUARD_RESULTS),
        fallback_used: rnd() < 0.2 ? 1 : 0,
        agrees_with_ranker: rnd() < 0.1 ? null : rnd() < 0.7 ? 1 : 0,
      });
    }
    // Raw events around the incident: logs, and alerts (duplicates included), for records/alerts per minute.
    for (let k = 0; k < int(20, 60); k++) {
      const ts = opened - int(0, 900) * 1000;
      const service = pick(services);
      if (rnd() < 0.3) {
        const a: Alert = { kind: 'alert', id: `ev${eventId++}`, ts, service, name: 'HighLatency', severity: 'warning', status: 'firing', summary: 's', fingerprint: `fp_${n}`, labels: {}, starts_at: ts };
        events.push(a);
      } else {
        const l: LogRecord = { kind: 'log', id: `ev${eventId++}`, ts, service, level: 'error', message: 'boom' };
        events.push(l);
      }
    }
  }
  events.sort((a, b) => a.ts - b.ts || a.id.localeCompare(b.id));
  bundles.sort((a, b) => a.updated_at - b.updated_at || a.incident_id.localeCompare(b.incident_id));
  // Outputs in stream order: by updated_at, and per incident in version order (a stable sort keeps it).
  const order = new Map(outputs.map((o, i) => [o, i]));
  outputs.sort((a, b) => a.updated_at - b.updated_at || a.incident_id.localeCompare(b.incident_id) || order.get(a)! - order.get(b)!);
  return { events, bundles, outputs, signals, runs };
}

const none = { emit: () => undefined };

/** Feeds a fixture through the store's stages, in pipeline order, and waits until ClickHouse has it all. */
export async function feedFixture(store: ClickHouseAnalytics, fx: AnalyticsFixture): Promise<void> {
  for (const ev of fx.events) await store.eventTap.process(ev, none);
  for (const s of fx.signals) store.onSignal(s);
  for (const b of fx.bundles) await store.bundleTap.process(b, none);
  for (const o of fx.outputs) await store.incidentSink.process(o);
  for (const r of fx.runs) await store.writeReasoningRun(r);
  await store.flush();
}

/** Query results made comparable across engines: 64-bit integers come back as strings from 18.16, numbers from chdb. */
export function normalizeRows(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v])));
}

export function utcMonday(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day)).toISOString().slice(0, 10);
}
