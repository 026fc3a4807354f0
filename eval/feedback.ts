import type { RootCauseKind } from '../schemas/common.js';
import { brierScore, expectedCalibrationError, reliabilityTable, type Outcome, type ReliabilityBin } from './calibration.js';

/** The fields of a feedback row (mcp/feedback.ts FeedbackRow) that the truth rule reads. */
export interface FeedbackFact {
  readonly feedback_id: string;
  readonly incident_id: string;
  readonly at: number;
  readonly kind: 'ack' | 'resolve' | 'correct_root_cause' | 'comment';
  readonly service: string | null;
  readonly root_kind: RootCauseKind | null;
}

export interface PublishedCause {
  readonly rank: number;
  readonly service: string;
  readonly kind: RootCauseKind;
  readonly confidence: number;
}

export interface FeedbackTruth {
  readonly service: string;
  readonly kind: RootCauseKind;
}

/**
 * The truth rule. Only a `correct_root_cause` row names a cause, so only it is truth: the latest one per incident
 * (by `at`, then feedback_id, so that a tie is decided the same way on every read) wins, as a responder's later
 * correction overrides an earlier one. Confirming the published cause is recording a correction that names it
 * (`POST /v1/feedback` with kind `confirm` does exactly that). `ack`, `resolve` and `comment` say someone worked on
 * the incident, not what caused it: such incidents count as "with feedback" but are not scored, because counting a
 * silent resolve as a confirmation would inflate accuracy with every incident nobody looked into.
 */
export function truthFromFeedback(rows: readonly FeedbackFact[]): Map<string, FeedbackTruth> {
  const latest = new Map<string, FeedbackFact>();
  for (const r of rows) {
    if (r.kind !== 'correct_root_cause' || r.service === null || r.root_kind === null) continue;
    const prev = latest.get(r.incident_id);
    if (!prev || r.at > prev.at || (r.at === prev.at && r.feedback_id > prev.feedback_id)) latest.set(r.incident_id, r);
  }
  return new Map([...latest].map(([id, r]) => [id, { service: r.service!, kind: r.root_kind! }]));
}

export interface FeedbackEvalRow {
  readonly incident_id: string;
  readonly truth: FeedbackTruth;
  readonly top: PublishedCause | null;
  /** 1-based rank of the first published cause on the true service; null when none is. */
  readonly hit_rank: number | null;
}

export interface FeedbackEval {
  readonly incidents_with_feedback: number;
  /** Incidents with a truth (a correct_root_cause row): the denominator of every figure below. */
  readonly judged: number;
  readonly ac1: number | null;
  readonly ac3: number | null;
  /** Top-1 kind equals the true kind (whatever the service). */
  readonly kind_accuracy: number | null;
  readonly reliability: ReliabilityBin[];
  readonly ece: number | null;
  readonly brier: number | null;
  readonly incidents: FeedbackEvalRow[];
}

/**
 * Scores the latest published causes against the truth. A cause "is right" when its service is the true one (as AC@k
 * in eval/metrics.ts); calibration is of the top-1 confidence against "the top-1 is right". An incident with a truth
 * but no published cause is a miss with confidence 0.
 */
export function scoreFeedback(rows: readonly FeedbackFact[], causes: ReadonlyMap<string, readonly PublishedCause[]>): FeedbackEval {
  const withFeedback = new Set(rows.map((r) => r.incident_id));
  const truths = truthFromFeedback(rows);
  const incidents: FeedbackEvalRow[] = [...truths].sort(([a], [b]) => a.localeCompare(b)).map(([incident_id, truth]) => {
    const ranked = [...(causes.get(incident_id) ?? [])].sort((a, b) => a.rank - b.rank);
    const i = ranked.findIndex((c) => c.service === truth.service);
    return { incident_id, truth, top: ranked[0] ?? null, hit_rank: i < 0 ? null : i + 1 };
  });
  const n = incidents.length;
  const frac = (k: number): number | null => (n ? k / n : null);
  const outcomes: Outcome[] = incidents.map((r) => ({ confidence: r.top?.confidence ?? 0, correct: r.hit_rank === 1 }));
  const reliability = reliabilityTable(outcomes);
  return {
    incidents_with_feedback: withFeedback.size,
    judged: n,
    ac1: frac(incidents.filter((r) => r.hit_rank === 1).length),
    ac3: frac(incidents.filter((r) => r.hit_rank !== null && r.hit_rank <= 3).length),
    kind_accuracy: frac(incidents.filter((r) => r.top?.kind === r.truth.kind).length),
    reliability,
    ece: expectedCalibrationError(reliability),
    brier: brierScore(outcomes),
    incidents,
  };
}

const f3 = (x: number | null): string => (x === null ? '-' : x.toFixed(3));

export function formatFeedbackEval(e: FeedbackEval): string {
  const lines = [
    `incidents with feedback: ${e.incidents_with_feedback}, judged (with a correct_root_cause): ${e.judged}`,
    `AC@1 ${f3(e.ac1)}  AC@3 ${f3(e.ac3)}  kind accuracy ${f3(e.kind_accuracy)}`,
    `calibration of the top-1 confidence: ECE ${f3(e.ece)}  Brier ${f3(e.brier)}`,
    '',
    'confidence bin   count  mean conf  accuracy',
    ...e.reliability.map((b) => `[${b.lo.toFixed(1)}, ${b.hi.toFixed(1)}${b.hi === 1 ? ']' : ')'}`.padEnd(17) + String(b.count).padStart(5) + f3(b.mean_confidence).padStart(11) + f3(b.accuracy).padStart(10)),
  ];
  return `${lines.join('\n')}\n`;
}
