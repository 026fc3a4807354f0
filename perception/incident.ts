import { stableId } from '../core/hash.js';
import type { RootCauseKind } from '../schemas/common.js';
import type { ChangeEvent } from '../schemas/events.js';
import type { IncidentCounts, IncidentStatus } from '../schemas/incident.js';
import type { Signal } from '../schemas/signal.js';
import { changeHint } from './hints.js';

/** An incident as the correlator keeps it. Bounded: refs and services are capped by the correlator's config. */
export interface Incident {
  /** Order of opening: the tie-breaker when several incidents could take a signal (the earliest wins). */
  readonly seq: number;
  readonly id: string;
  readonly openedAt: number;
  status: IncidentStatus;
  firstSymptom: number;
  lastSymptom: number;
  /** Insertion order; bundles sort them. */
  readonly services: Set<string>;
  /**
   * The services the incident is about: those the opening symptoms are of (a call edge's callee, not its caller).
   * Only symptoms near them keep it alive, so background anomalies elsewhere cannot stretch it into the next fault.
   */
  readonly core: Set<string>;
  /** Every service of the opening symptoms (both ends of call edges). */
  readonly seed: Set<string>;
  /** Last strong symptom near the core: what "still happening" means for resolving. */
  lastStrong: number;
  /**
   * Per evidence family folded in, when it was last seen anomalous (signals and persistence): a family quiet for a
   * while is over. Bounded by `maxRefsPerIncident`.
   */
  readonly familyLast: Map<string, number>;
  /** When a strong symptom last added a new family: when the incident last grew. */
  lastGrowth: number;
  /** Best (highest score, earliest on ties) signal per evidence ref, change signals included. */
  readonly best: Map<string, Signal>;
  readonly changes: Map<string, ChangeEvent>;
  /** First symptom per service; an edge signal is a symptom of its callee (`peer`). */
  readonly firstSeen: Map<string, number>;
  readonly counts: { -readonly [K in keyof IncidentCounts]: IncidentCounts[K] };
  /** Signals folded in whose ref or service could not be kept (caps). */
  capped: number;
  /** Evidence (refs, services, changes) changed since the last emission. */
  dirty: boolean;
  lastEmit: number | undefined;
}

/** The services a signal touches: its own and, for call-edge signals, the callee. */
export function signalServices(s: Signal): string[] {
  return s.peer !== undefined && s.peer !== s.service ? [s.service, s.peer] : [s.service];
}

/** The service a signal is a symptom of. */
export function symptomService(s: Signal): string {
  return s.peer ?? s.service;
}

export function isSymptom(s: Signal): boolean {
  return s.type !== 'change';
}

/** Keeps the better of two signals for one ref: higher score, then earlier, then smaller id (a total order). */
export function better(a: Signal, b: Signal): boolean {
  if (a.score !== b.score) return a.score > b.score;
  if (a.ts !== b.ts) return a.ts < b.ts;
  return a.id < b.id;
}

/**
 * Hints that can open and carry an incident: latency, errors, exhausted resources. Saturation (CPU) is evidence and
 * names the root's kind, but alone it is too common in healthy systems (hourly batch jobs, GC) to open anything: a
 * CPU-starved service shows latency too, at itself or in its calls. Unknown ones (traffic swings) never do.
 */
const STRONG_HINTS: ReadonlySet<RootCauseKind> = new Set<RootCauseKind>(['latency', 'errors', 'resource']);

/** One piece of evidence: quantiles of one metric and one metric across a service's instances share a family. */
export function familyOf(s: Signal): string {
  return s.family ?? s.ref;
}

/** Traffic swings: a request rate (metric or RED) that moved, which healthy systems do all the time. */
export function isWeak(s: Signal): boolean {
  return s.type === 'red_rate' || ((s.type === 'metric_anomaly' || s.type === 'template_burst') && s.hint === 'unknown');
}

/** A strong symptom: what opening an incident needs at least one of. */
export function isStrong(s: Signal, minScore: number): boolean {
  return STRONG_HINTS.has(s.hint) && s.score >= minScore;
}

/** The signal that stands for a change event (its ref is the change's own id). */
export function changeSignalOf(ev: ChangeEvent, score: number): Signal {
  return {
    id: stableId('sig', 'change', ev.id, ev.ts, ev.service),
    ts: ev.ts,
    service: ev.service,
    type: 'change',
    score,
    hint: changeHint(ev.change_kind),
    summary: `${ev.change_kind} on ${ev.service}: ${ev.summary}`.slice(0, 300),
    ref: ev.id,
  };
}
