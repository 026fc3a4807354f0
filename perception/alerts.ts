import { stableId } from '../core/hash.js';
import type { Severity } from '../schemas/common.js';
import type { Alert } from '../schemas/events.js';
import { MAX_ANNOTATIONS, MAX_ANNOTATION_CHARS } from '../schemas/incident.js';
import type { Signal } from '../schemas/signal.js';
import type { AlertsConfig } from './config.js';
import { alertHint } from './hints.js';
import { LruMap, makeSignal, type KeepAlive } from './util.js';

interface FingerprintState {
  firing: boolean;
  /** Start times of recent occurrences (firing after not firing), oldest first, at most flapMax + 1. */
  readonly occurrences: number[];
}

export interface AlertStats {
  notifications: number;
  /** Firing notifications of an already firing fingerprint (Alertmanager re-sends). */
  duplicates: number;
  resolved: number;
  occurrences: number;
  /** Occurrences suppressed because the fingerprint flaps. */
  flapping: number;
  /** Occurrences of info alerts (never a signal). */
  info: number;
  signalled: number;
  fingerprints: number;
  evicted: number;
}

/**
 * The evidence ref of an alert: its group, (service, alertname), like Alertmanager's usual `group_by`. Not the
 * fingerprint: a per-instance rule firing on four pods is one piece of evidence, not four (which would let one noisy
 * rule reach the incident-opening threshold alone).
 */
export function alertRef(service: string, alertname: string): string {
  return stableId('alertgrp', service, alertname);
}

/**
 * Alert deduplication by fingerprint (dedup and flapping are per fingerprint; the ref is the group). A signal is emitted once per occurrence (first firing, or firing again after a
 * resolve), so a long-running alert yields one signal however often it is re-sent; an occurrence beyond `flapMax`
 * within `flapWindowMs` is flapping noise and suppressed. Fingerprints are LRU-bounded; an evicted one that fires
 * again counts as a new occurrence.
 */
export class AlertPerception {
  private readonly states: LruMap<string, FingerprintState>;
  /** Per alert group (ref): the rule's name, strongest severity signalled and latest annotations (bounded like fingerprints). */
  private readonly groups: LruMap<string, AlertGroupInfo>;
  private readonly st = { notifications: 0, duplicates: 0, resolved: 0, occurrences: 0, flapping: 0, info: 0, signalled: 0 };

  constructor(
    private readonly cfg: AlertsConfig,
    private readonly keepAlive?: KeepAlive,
  ) {
    this.states = new LruMap(cfg.maxFingerprints);
    this.groups = new LruMap(cfg.maxFingerprints);
  }

  /** What a person reads about an alert group: name, severity, annotations (runbook first, each value cut). */
  groupInfo(ref: string): AlertGroupInfo | undefined {
    return this.groups.peek(ref);
  }

  observe(a: Alert): Signal[] {
    this.st.notifications++;
    let s = this.states.get(a.fingerprint);
    if (!s) {
      s = { firing: false, occurrences: [] };
      this.states.set(a.fingerprint, s);
    }
    if (a.status === 'resolved') {
      this.st.resolved++;
      s.firing = false;
      return [];
    }
    if (s.firing) {
      this.st.duplicates++;
      // A re-sent critical/error alert says its symptom persists; a lingering warning is not enough.
      if (a.severity === 'critical' || a.severity === 'error') this.keepAlive?.(a.service, a.ts);
      return [];
    }
    s.firing = true;
    this.st.occurrences++;
    const occ = s.occurrences;
    while (occ.length > 0 && (occ[0] ?? 0) <= a.ts - this.cfg.flapWindowMs) occ.shift();
    occ.push(a.ts);
    if (occ.length > this.cfg.flapMax + 1) occ.shift();
    if (occ.length > this.cfg.flapMax) {
      this.st.flapping++;
      return [];
    }
    const score = a.severity === 'critical' ? this.cfg.scoreCritical : a.severity === 'error' ? this.cfg.scoreError : a.severity === 'warning' ? this.cfg.scoreWarning : 0;
    if (score <= 0) {
      this.st.info++;
      return [];
    }
    this.st.signalled++;
    // Annotations are evidence text: the runbook link first (a 300-character summary must not cut it), then the
    // summary and a description that says more than the summary.
    const ann = a.annotations ?? {};
    const runbook = ann.runbook_url ?? ann.runbook;
    const desc = ann.description && ann.description !== a.summary ? ` (${ann.description})` : '';
    const text = `${runbook ? ` [runbook ${runbook}]` : ''}${a.summary.length > 0 || desc ? `: ${a.summary}${desc}` : ''}`;
    const ref = alertRef(a.service, a.name);
    const prevGroup = this.groups.peek(ref);
    const severity = prevGroup && SEVERITY_RANK[prevGroup.severity] > SEVERITY_RANK[a.severity] ? prevGroup.severity : a.severity;
    const annotations = boundedAnnotations(ann);
    this.groups.set(ref, { name: a.name, severity, ...(annotations ? { annotations } : {}) });
    return [
      makeSignal({
        type: 'alert',
        ts: a.ts,
        service: a.service,
        score,
        hint: alertHint(a.name),
        summary: `${a.severity} alert ${a.name} on ${a.service}${text}`,
        ref,
      }),
    ];
  }

  stats(): AlertStats {
    return { ...this.st, fingerprints: this.states.size, evicted: this.states.evictions };
  }
}

export interface AlertGroupInfo {
  readonly name: string;
  readonly severity: Severity;
  readonly annotations?: Readonly<Record<string, string>>;
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2, critical: 3 };

/**
 * Annotations as evidence: runbook links first, then the rest by key, at most MAX_ANNOTATIONS, each value cut to
 * MAX_ANNOTATION_CHARS (values were redacted at ingest). Undefined when there are none.
 */
export function boundedAnnotations(ann: Readonly<Record<string, string>>): Record<string, string> | undefined {
  const keys = Object.keys(ann).sort((a, b) => Number(/runbook/i.test(b)) - Number(/runbook/i.test(a)) || (a < b ? -1 : a > b ? 1 : 0));
  if (keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of keys.slice(0, MAX_ANNOTATIONS)) {
    const v = ann[k] ?? '';
    out[k.slice(0, 64)] = v.length <= MAX_ANNOTATION_CHARS ? v : `${v.slice(0, MAX_ANNOTATION_CHARS - 1)}…`;
  }
  return out;
}
