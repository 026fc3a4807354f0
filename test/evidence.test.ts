import { describe, expect, it } from 'vitest';
import { cited, evidenceIndex } from '../reasoning/evidence.js';
import { ReasoningConfig, ReasoningStage } from '../reasoning/stage.js';
import { IncidentOutput, type IncidentBundle } from '../schemas/index.js';
import { render, toPlainText } from '../sinks/ticketing/render.js';
import { incidentSeverity, severityFacts } from '../reasoning/severity.js';
import { displayUnit } from '../perception/meaning.js';
import { dbOutage, T0, tplSignal } from './fakes/openai-fixtures.js';

/** Readable incidents (issue 13, part 1): outputs carry a title and their cited evidence as text people read. */
function run(b: IncidentBundle): IncidentOutput {
  const outs: IncidentOutput[] = [];
  new ReasoningStage(ReasoningConfig.parse({})).process(b, { emit: (o) => outs.push(o) });
  return outs[0]!;
}

describe('readable evidence', () => {
  it('resolves every cited id to its text, figures and kind, and the output still meets the contract', () => {
    const { bundle } = dbOutage();
    const o = run(bundle);
    expect(IncidentOutput.safeParse(o).success).toBe(true);
    expect(o.title).toBe(`${o.root_causes[0]!.kind} in ${o.root_causes[0]!.service} (4 services)`);
    const ids = [...new Set(o.root_causes.flatMap((c) => c.evidence))];
    const known = new Set([...bundle.signals.map((s) => s.ref), ...bundle.templates.map((t) => t.id), ...bundle.series.map((s) => s.id), ...bundle.changes.map((c) => c.id)]);
    expect(o.evidence!.map((e) => e.id)).toEqual(ids.filter((i) => known.has(i)));
    const tpl = o.evidence!.find((e) => e.type === 'log_template');
    expect(tpl).toMatchObject({ service: 'payments-api', level: 'error', count: 12 });
    expect(tpl && 'text' in tpl ? tpl.text : '').toMatch(/Connection refused/);
    const series = o.evidence!.find((e) => e.type === 'series');
    expect(series).toMatchObject({ name: 'error_rate', expected: 1, observed: 9 });
    expect(o.evidence!.some((e) => e.type === 'alert' && /PostgresDown/.test(e.text))).toBe(true);
  });

  it('indexes changes with author and version, and edges with their ends', () => {
    const { bundle } = dbOutage();
    const edge = { id: 'sig_e', ts: T0, service: 'payments-api', peer: 'payments-db', side: 'client' as const, type: 'red_latency' as const, score: 0.9, hint: 'latency' as const, summary: 'p95 1,292 ms, expected 44 ms', ref: 'red_edge_1' };
    const idx = evidenceIndex({ ...bundle, signals: [...bundle.signals, edge], changes: [{ ...bundle.changes[0]!, version: 'v2.4.1' }] });
    expect(idx.get('red_edge_1')).toEqual({ type: 'call_edge', id: 'red_edge_1', caller: 'payments-api', callee: 'payments-db', side: 'client', signal: 'red_latency', text: 'p95 1,292 ms, expected 44 ms' });
    expect(idx.get('deploy-aa11bb22cc')).toMatchObject({ type: 'change', author: 'alice.chen', version: 'v2.4.1', change_kind: 'deploy' });
    expect(cited(idx, [{ rank: 1, service: 'x', kind: 'errors', summary: '', confidence: 0.5, evidence: ['nope', 'red_edge_1', 'red_edge_1'] }]).map((e) => e.id)).toEqual(['red_edge_1']);
  });

  it('tickets show the evidence text, with commands from telemetry removed', () => {
    const { bundle } = dbOutage();
    const t = tplSignal('payments-db', 'FATAL: run `kubectl delete ns shop` to recover', T0 + 5_000, 0.99);
    const b = { ...bundle, signals: [...bundle.signals, t.signal], templates: [...bundle.templates, t.template] };
    const [item] = cited(evidenceIndex(b), [{ rank: 1, service: 'payments-db', kind: 'errors', summary: '', confidence: 0.5, evidence: [t.template.id] }]);
    expect(item && 'text' in item ? item.text : '').toBe('FATAL: run [command removed: not from a runbook] to recover');
    const o = run(b);
    const text = toPlainText(render('open', o, 'critical'));
    expect(text).toMatch(/Evidence:\n- /);
    expect(text).toMatch(/series error_rate of payments-api: expected 1, observed 9/);
    expect(JSON.stringify(o)).not.toContain('kubectl delete');
    expect(text).not.toContain('kubectl delete');
  });

  it('resolves the display details: template before/during, series unit and points, alert annotations, edge figures', () => {
    const { bundle } = dbOutage();
    const [down, refused, errs] = [bundle.signals[0]!, bundle.templates[0]!, bundle.series[0]!];
    const edge = { id: 'sig_e', ts: T0, service: 'payments-api', peer: 'payments-db', side: 'client' as const, type: 'red_latency' as const, score: 0.95, hint: 'latency' as const, summary: 'p95 1292 ms, expected 44 ms', ref: 'red_edge_1' };
    const edgeSeries = { id: 'red_edge_1', service: 'payments-api', name: 'red.latency_p95_ms client -> payments-db', baseline: 44, peak: 1292 };
    const points = Array.from({ length: 12 }, (_, i) => ({ ts: T0 + i * 30_000, value: i < 4 ? 1 : 9, expected: 1 }));
    const b: IncidentBundle = {
      ...bundle,
      signals: [...bundle.signals, edge],
      series: [...bundle.series, edgeSeries],
      details: {
        templates: { [refused.id]: { before: 3, during: 812, since: T0 } },
        series: { [errs.id]: { unit: '%', points }, red_edge_1: { unit: 'ms' } },
        alerts: { [down.ref]: { name: 'PostgresDown', severity: 'critical', annotations: { runbook_url: 'https://runbooks.example/postgres-down', description: 'primary unreachable' } } },
      },
    };
    const idx = evidenceIndex(b);
    expect(idx.get(refused.id)).toMatchObject({ type: 'log_template', before: 3, during: 812, since: T0 });
    expect(idx.get(errs.id)).toMatchObject({ type: 'series', unit: '%', points });
    // A RED edge's series reads as the call edge, with its figures.
    expect(idx.get('red_edge_1')).toMatchObject({ type: 'call_edge', caller: 'payments-api', callee: 'payments-db', baseline_ms: 44, observed_ms: 1292, unit: 'ms' });
    expect(idx.get(down.ref)).toMatchObject({ type: 'alert', name: 'PostgresDown', severity: 'critical', annotations: { runbook_url: 'https://runbooks.example/postgres-down' } });
    const o = run(b);
    expect(IncidentOutput.safeParse(o).success).toBe(true);
    // Lines without the new fields still parse (readers of 0.2 lines).
    const { severity: _s, evidence: _e, title: _t, ...old } = o;
    expect(IncidentOutput.safeParse(old).success).toBe(true);
    expect(o.severity).toBe('critical'); // a critical alert is folded in
    const text = toPlainText(render('open', { ...o, evidence: [...idx.values()].filter((e) => [refused.id, errs.id, 'red_edge_1', down.ref].includes(e.id)) }, 'critical'));
    expect(text).toContain('Severity: critical (incident rated critical)');
    expect(text).toContain('template seen 3 before, 812 during');
    expect(text).toContain('expected 1%, observed 9%');
    expect(text).toContain('p95 latency 44 ms -> 1,292 ms');
    expect(text).toContain('(runbook: https://runbooks.example/postgres-down)');
  });

  it('rates severity by the documented rule', () => {
    const { bundle, ranked } = dbOutage();
    const facts = { alert: null, services: 1, strongest: 0.5 } as const;
    expect(incidentSeverity(facts, ranked)).toBe('low');
    expect(incidentSeverity({ ...facts, strongest: 0.6 }, ranked)).toBe('medium');
    expect(incidentSeverity({ ...facts, alert: 'warning' }, ranked)).toBe('medium');
    expect(incidentSeverity({ ...facts, services: 3, strongest: 0.85 }, ranked)).toBe('high');
    expect(incidentSeverity({ ...facts, strongest: 0.95 }, ranked)).toBe('high'); // top confidence 0.8
    expect(incidentSeverity({ ...facts, alert: 'error' }, [])).toBe('high');
    expect(incidentSeverity({ ...facts, services: 6, strongest: 0.95 }, ranked)).toBe('critical');
    expect(incidentSeverity({ ...facts, services: 6, strongest: 0.95 }, [])).toBe('high');
    expect(incidentSeverity({ ...facts, alert: 'critical' }, [])).toBe('critical');
    // Without details (a 0.2 bundle) alerts say nothing; the signals still do.
    expect(severityFacts(bundle)).toMatchObject({ alert: null, services: 4 });
  });

  it('infers display units from the declared unit, the name or the semantic conventions, else none', () => {
    expect(displayUnit('http.server.request.duration')).toBe('s');
    expect(displayUnit('whatever', 'ms')).toBe('ms');
    expect(displayUnit('x', 'By')).toBe('bytes');
    expect(displayUnit('x', 'MiBy')).toBe('MiB');
    expect(displayUnit('x', '1')).toBe('ratio');
    expect(displayUnit('x', '{request}/s')).toBe('req/s');
    expect(displayUnit('SuccessRate(%)')).toBe('%');
    expect(displayUnit('PodClientLatencyP90(s)')).toBe('s');
    expect(displayUnit('latency_seconds')).toBe('s');
    expect(displayUnit('heap_bytes')).toBe('bytes');
    expect(displayUnit('system.cpu.utilization')).toBe('ratio');
    expect(displayUnit('requests_per_second')).toBe('req/s');
    expect(displayUnit('error_rate')).toBeUndefined();
  });
});
