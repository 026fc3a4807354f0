import { describe, expect, it } from 'vitest';
import { cited, evidenceIndex } from '../reasoning/evidence.js';
import { ReasoningConfig, ReasoningStage } from '../reasoning/stage.js';
import { IncidentOutput, type IncidentBundle } from '../schemas/index.js';
import { render, toPlainText } from '../sinks/ticketing/render.js';
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
});
