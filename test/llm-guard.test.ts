import { describe, expect, it } from 'vitest';
import { answerJsonSchema, extractJson, LlmAnswer, parseAnswer, type LooseCause } from '../reasoning/llm/answer.js';
import { guardCauses } from '../reasoning/llm/guard.js';
import { causeSummary, toRootCauses } from '../reasoning/llm/reasoner.js';
import { IncidentOutput } from '../schemas/index.js';
import { dbOutage } from './fakes/openai-fixtures.js';

const { bundle, ranked } = dbOutage();
const KB_IDS = new Set(['RB-PG-OUTAGE', 'RB-EDGE-5XX']);
const down = ranked[0]!.evidence[0]!;
const refused = ranked[0]!.evidence[1]!;

function c(p: Partial<LooseCause>): LooseCause {
  return { service: 'payments-db', kind: 'errors', explanation: 'x', confidence: 0.5, evidence: [down], next_steps: [], ...p };
}

describe('answer schema and parsing', () => {
  it('generates a strict JSON schema from the zod schema', () => {
    const s = answerJsonSchema();
    expect(s.$schema).toBeUndefined();
    expect(s).toMatchObject({ type: 'object', required: ['causes'], additionalProperties: false });
    const cause = (s.properties as { causes: { items: { required: string[]; properties: { kind: { enum: string[] } } } } }).causes.items;
    expect(cause.required).toEqual(['service', 'kind', 'explanation', 'confidence', 'evidence', 'next_steps']);
    expect(cause.properties.kind.enum).toContain('dependency');
    // The schema accepts what it describes.
    expect(LlmAnswer.safeParse({ causes: [{ service: 's', kind: 'errors', explanation: 'e', confidence: 0.5, evidence: ['a'], next_steps: [{ action: 'do', runbook: null }] }] }).success).toBe(true);
  });

  it('extracts JSON from fences and prose, and reports what is wrong otherwise', () => {
    expect(extractJson('Sure! ```json\n{"causes": []}\n``` hope this helps')).toBe('{"causes": []}');
    expect(extractJson('The answer is {"a": {"b": "}"}} and more')).toBe('{"a": {"b": "}"}}');
    expect(parseAnswer('I think payments-db is down.')).toEqual({ ok: false, error: 'no JSON object in the reply' });
    expect(parseAnswer('{"causes": [}')).toMatchObject({ ok: false });
    expect(parseAnswer('{"root_cause": "payments-db"}')).toEqual({ ok: false, error: 'the reply has no "causes" array' });
  });

  it('reads harmless slips leniently and marks broken causes malformed', () => {
    const p = parseAnswer(JSON.stringify({ causes: [{ service: 'a', kind: 'errors', confidence: '0.7', evidence: 'tpl_1', next_steps: ['restart it'] }, { service: 3 }] }));
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.causes[0]).toMatchObject({ confidence: 0.7, evidence: ['tpl_1'], next_steps: [{ action: 'restart it', runbook: null }], explanation: '' });
    expect(p.causes[1]).toHaveProperty('malformed');
  });
});

describe('grounding guard', () => {
  it('accepts grounded causes', () => {
    const g = guardCauses([c({ evidence: [down, refused] }), c({ service: 'payments-api', evidence: [refused], confidence: 0.3 })], bundle, KB_IDS);
    expect(g.accepted.map((x) => x.service)).toEqual(['payments-db', 'payments-api']);
    expect(g.rejected).toEqual([]);
    expect(g.evidenceProposed).toBe(3);
  });

  it('accepts signal ids, template, series and change ids as evidence', () => {
    const ids = [bundle.signals[0]!.id, bundle.templates[0]!.id, bundle.series[0]!.id, bundle.changes[0]!.id];
    const g = guardCauses([c({ evidence: ids })], bundle, KB_IDS);
    expect(g.accepted).toHaveLength(1);
  });

  it('rejects a cause citing one invented id, a service not in the incident, no evidence, a bad kind', () => {
    const g = guardCauses(
      [
        c({ evidence: [down, 'tpl_doesnotexist'] }),
        c({ service: 'billing-api' }),
        c({ service: 'payments-api', evidence: [] }),
      ],
      bundle,
      KB_IDS,
    );
    expect(g.accepted).toEqual([]);
    expect(g.rejected.map((r) => r.reason)).toEqual(['unknown_evidence', 'unknown_service', 'no_evidence']);
    expect(g.rejected[0]?.detail).toContain('tpl_doesnotexist');
    expect(g.evidenceRejected).toBe(1);
    expect(guardCauses([c({ service: 'api-gateway', kind: 'cosmic-rays' })], bundle, KB_IDS).rejected.map((r) => r.reason)).toEqual(['bad_kind']);
  });

  it('keeps the first cause of a service, reads at most 3, and counts malformed ones', () => {
    const g = guardCauses(
      [{ malformed: 'service: expected string' }, c({}), c({ confidence: 0.9 }), c({ service: 'payments-api', evidence: [refused] }), c({ service: 'api-gateway', evidence: [refused] })],
      bundle,
      KB_IDS,
    );
    expect(g.rejected.map((r) => r.reason)).toEqual(['malformed', 'duplicate_service', 'over_limit', 'over_limit']);
    expect(g.accepted.map((x) => x.service)).toEqual(['payments-db']);
  });

  it('clips confidences to [0, 1], renormalizes a sum above 1, and orders by confidence', () => {
    const g = guardCauses([c({ confidence: 1.7 }), c({ service: 'payments-api', evidence: [refused], confidence: -0.2 }), c({ service: 'api-gateway', evidence: [refused], confidence: 0.6 })], bundle, KB_IDS);
    expect(g.confidenceClipped).toBe(true);
    expect(g.renormalized).toBe(true);
    expect(g.accepted.map((x) => [x.service, x.confidence])).toEqual([
      ['payments-db', 0.625],
      ['api-gateway', 0.375],
      ['payments-api', 0],
    ]);
    const g2 = guardCauses([c({ confidence: Number.NaN })], bundle, KB_IDS);
    expect(g2.accepted[0]?.confidence).toBe(0);
    const g3 = guardCauses([c({ confidence: 0.4 }), c({ service: 'payments-api', evidence: [refused], confidence: 0.3 })], bundle, KB_IDS);
    expect(g3.renormalized).toBe(false);
    expect(g3.accepted.map((x) => x.confidence)).toEqual([0.4, 0.3]);
  });

  it('keeps the sum at most 1 after flooring', () => {
    const g = guardCauses([c({ confidence: 1 }), c({ service: 'payments-api', evidence: [refused], confidence: 1 }), c({ service: 'api-gateway', evidence: [refused], confidence: 1 })], bundle, KB_IDS);
    expect(g.accepted.reduce((a, x) => a + x.confidence, 0)).toBeLessThanOrEqual(1);
  });

  it('drops runbook references that are not in the knowledge base, keeps the step, bounds the steps', () => {
    const steps = [{ action: 'Fail over', runbook: 'RB-PG-OUTAGE' }, { action: 'Pray', runbook: 'RB-MADE-UP' }, { action: '  ', runbook: null }, ...Array.from({ length: 6 }, (_, i) => ({ action: `s${i}`, runbook: null }))];
    const g = guardCauses([c({ next_steps: steps })], bundle, KB_IDS);
    expect(g.runbooksRejected).toBe(1);
    expect(g.accepted[0]?.next_steps.slice(0, 2)).toEqual([
      { action: 'Fail over', runbook: 'RB-PG-OUTAGE', source: 'runbook' },
      { action: 'Pray', runbook: null, source: 'model' },
    ]);
    expect(g.accepted[0]?.next_steps).toHaveLength(5);
  });

  it('publishes a valid output: LLM causes first, ranker fill-ins marked, confidences within the contract', () => {
    const g = guardCauses([c({ explanation: 'payments-db stopped.', confidence: 0.9, next_steps: [{ action: 'Fail over', runbook: 'RB-PG-OUTAGE' }] })], bundle, KB_IDS);
    const rc = toRootCauses(g.accepted, ranked, true);
    expect(rc.map((x) => [x.rank, x.service])).toEqual([
      [1, 'payments-db'],
      [2, 'payments-api'],
      [3, 'api-gateway'],
    ]);
    expect(rc[0]?.summary).toBe('payments-db stopped. Next steps: 1. Fail over [RB-PG-OUTAGE]');
    expect(rc[1]?.summary).toMatch(/^\[ranker\] /);
    expect(rc[1]?.confidence).toBeLessThanOrEqual(0.1);
    const out = { incident_id: 'i', opened_at: 1, updated_at: 2, status: 'open' as const, services: bundle.services, counts: bundle.counts, root_causes: rc, reasoner: 'llm:m' };
    expect(IncidentOutput.safeParse(out).success).toBe(true);
    expect(toRootCauses(g.accepted, ranked, false)).toHaveLength(1);
    expect(causeSummary({ explanation: 'e', next_steps: [] })).toBe('e');
  });
});
