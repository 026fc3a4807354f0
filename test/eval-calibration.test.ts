import { describe, expect, it } from 'vitest';
import { binIndex, brierScore, expectedCalibrationError, reliabilityTable } from '../eval/calibration.js';
import { formatFeedbackEval, scoreFeedback, truthFromFeedback, type FeedbackFact, type PublishedCause } from '../eval/feedback.js';

describe('calibration math (hand-computed)', () => {
  it('bins by equal width, with 1.0 in the last bin and 0.1 in the second', () => {
    expect(binIndex(0)).toBe(0);
    expect(binIndex(0.1)).toBe(1);
    expect(binIndex(0.95)).toBe(9);
    expect(binIndex(1)).toBe(9);
    expect(binIndex(1.7)).toBe(9);
    expect(binIndex(-0.2)).toBe(0);
  });

  it('reliability table, ECE and Brier of four outcomes', () => {
    // 0.9 right, 0.8 wrong (bin 8 and 9), 0.25 right and 0.35 wrong (bins 2 and 3).
    const o = [
      { confidence: 0.9, correct: true },
      { confidence: 0.8, correct: false },
      { confidence: 0.25, correct: true },
      { confidence: 0.35, correct: false },
    ];
    const t = reliabilityTable(o);
    expect(t).toHaveLength(10);
    expect(t.map((b) => b.count)).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 1, 1]);
    expect(t[2]).toMatchObject({ count: 1, mean_confidence: 0.25, accuracy: 1 });
    expect(t[0]).toMatchObject({ count: 0, mean_confidence: null, accuracy: null });
    // ECE = 1/4 (|1 − .25| + |0 − .35| + |0 − .8| + |1 − .9|) = 1/4 (.75 + .35 + .8 + .1) = 0.5
    expect(expectedCalibrationError(t)).toBeCloseTo(0.5, 12);
    // Brier = 1/4 (.01 + .64 + .5625 + .1225) = 0.33375
    expect(brierScore(o)).toBeCloseTo(0.33375, 12);
  });

  it('averages within a bin before taking the gap', () => {
    // Both in bin 7: mean conf 0.75, accuracy 0.5, so ECE 0.25 (not the mean per-outcome gap, 0.5).
    const t = reliabilityTable([
      { confidence: 0.7, correct: true },
      { confidence: 0.8 - 1e-9, correct: false },
    ]);
    expect(t[7]!.count).toBe(2);
    expect(expectedCalibrationError(t)).toBeCloseTo(0.25, 6);
  });

  it('is null, not 0, without outcomes', () => {
    expect(expectedCalibrationError(reliabilityTable([]))).toBeNull();
    expect(brierScore([])).toBeNull();
  });
});

const fb = (incident_id: string, at: number, kind: FeedbackFact['kind'], service: string | null = null, root_kind: FeedbackFact['root_kind'] = null): FeedbackFact => ({
  feedback_id: `${incident_id}-${at}`,
  incident_id,
  at,
  kind,
  service,
  root_kind,
});

describe('feedback truth rule and scoring', () => {
  it('takes the latest correct_root_cause per incident and ignores ack, resolve and comment', () => {
    const t = truthFromFeedback([fb('a', 1, 'correct_root_cause', 'db', 'latency'), fb('a', 5, 'correct_root_cause', 'cache', 'errors'), fb('a', 9, 'resolve'), fb('b', 2, 'ack'), fb('c', 3, 'comment')]);
    expect([...t]).toEqual([['a', { service: 'cache', kind: 'errors' }]]);
  });

  it('scores AC@1, AC@3, kind accuracy and calibration of the top-1', () => {
    const causes = new Map<string, PublishedCause[]>([
      ['a', [{ rank: 1, service: 'db', kind: 'latency', confidence: 0.9 }, { rank: 2, service: 'api', kind: 'errors', confidence: 0.5 }]],
      // Rank order comes from `rank`, not the array order.
      ['b', [{ rank: 2, service: 'cache', kind: 'saturation', confidence: 0.3 }, { rank: 1, service: 'web', kind: 'saturation', confidence: 0.6 }]],
    ]);
    const rows = [
      fb('a', 1, 'correct_root_cause', 'db', 'errors'), // top-1 right, kind wrong
      fb('b', 1, 'correct_root_cause', 'cache', 'saturation'), // found at rank 2, kind right
      fb('c', 1, 'correct_root_cause', 'x', 'resource'), // nothing published: a miss at confidence 0
      fb('d', 1, 'resolve'), // feedback, not judged
    ];
    const e = scoreFeedback(rows, causes);
    expect(e.incidents_with_feedback).toBe(4);
    expect(e.judged).toBe(3);
    expect(e.ac1).toBeCloseTo(1 / 3, 12);
    expect(e.ac3).toBeCloseTo(2 / 3, 12);
    expect(e.kind_accuracy).toBeCloseTo(1 / 3, 12);
    expect(e.incidents.map((r) => r.hit_rank)).toEqual([1, 2, null]);
    // Outcomes (0.9, 1), (0.6, 0), (0, 0): ECE = 1/3 (.1 + .6 + 0); Brier = 1/3 (.01 + .36 + 0).
    expect(e.ece).toBeCloseTo(0.7 / 3, 12);
    expect(e.brier).toBeCloseTo(0.37 / 3, 12);
    const text = formatFeedbackEval(e);
    expect(text).toMatch(/AC@1 0\.333 {2}AC@3 0\.667/);
    expect(text).toMatch(/\[0\.9, 1\.0\]\s+1\s+0\.900\s+1\.000/);
  });
});
