import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import { stableId } from '../../core/hash.js';
import type { Severity } from '../../schemas/common.js';
import { Labels } from '../../schemas/common.js';
import type { Alert } from '../../schemas/events.js';
import { check, requireService, serviceFromLabels, type Collector } from './collect.js';
import { parseTime } from './time.js';

const SEVERITY: Readonly<Record<string, Severity>> = {
  critical: 'critical',
  page: 'critical',
  error: 'error',
  high: 'error',
  warning: 'warning',
  warn: 'warning',
  medium: 'warning',
};

export function mapSeverity(s: string | undefined): Severity {
  return (s && SEVERITY[s.toLowerCase()]) || 'info';
}

/** Fingerprint from the label set, order-independent (keys compared by code unit, not locale). */
export function labelFingerprint(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  for (const k of keys) parts.push(k, labels[k] ?? '');
  return stableId('fp', ...parts);
}

// Alertmanager webhook, version 4. Only what we use is checked; the rest (groupKey, receiver, ...) is ignored.
const AmEnvelope = z.object({
  version: z.literal('4', { error: 'only Alertmanager webhook version "4" is supported' }).optional(),
  alerts: z.array(z.unknown()),
});

const AmAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: Labels,
  annotations: Labels.optional(),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  fingerprint: z.string().optional(),
});

/** Go's zero time.Time, which Alertmanager writes as endsAt when an alert has no end yet. */
function isGoZeroTime(s: string): boolean {
  return s.startsWith('0001-01-01T00:00:00');
}

function alertmanagerAlert(c: Collector, item: unknown): void {
  const id = c.nextId();
  const a = check(AmAlert, item, '');
  const name = a.labels.alertname;
  if (!name) throw new NightshiftError('SCHEMA_MISMATCH', 'labels.alertname: missing or empty');
  const service = requireService(serviceFromLabels(a.labels, c.cfg.serviceLabels), `none of the labels ${c.cfg.serviceLabels.join(', ')}`);
  const startsAt = parseTime(a.startsAt, 'startsAt');
  const endsAt = a.endsAt === undefined || isGoZeroTime(a.endsAt) ? undefined : parseTime(a.endsAt, 'endsAt');
  const ann = a.annotations ?? {};
  const alert: Alert = {
    kind: 'alert',
    id,
    ts: startsAt,
    service,
    name,
    severity: mapSeverity(a.labels.severity),
    status: a.status,
    summary: ann.summary || ann.description || name,
    fingerprint: a.fingerprint || labelFingerprint(a.labels),
    labels: a.labels,
    starts_at: startsAt,
  };
  if (Object.keys(ann).length > 0) alert.annotations = ann;
  // A firing alert's endsAt (when present) is Prometheus' expiry estimate, not an end: only resolved ones get one.
  if (a.status === 'resolved') {
    if (endsAt === undefined) throw new NightshiftError('BAD_TIMESTAMP', 'endsAt: a resolved alert needs an end time');
    alert.ts = endsAt;
    alert.ends_at = endsAt;
  }
  c.emit(alert);
}

const PlainAlert = z.object({
  ts: z.union([z.number(), z.string()]).nullish(),
  service: z.string().nullish(),
  name: z.string().min(1),
  severity: z.string(),
  summary: z.string(),
  labels: Labels.nullish(),
  status: z.enum(['firing', 'resolved']).nullish(),
  fingerprint: z.string().nullish(),
});

function plainAlert(c: Collector, root: Record<string, unknown>): void {
  const id = c.nextId();
  const p = check(PlainAlert, root, '');
  const labels = p.labels ?? {};
  const service = requireService(p.service || serviceFromLabels(labels, c.cfg.serviceLabels), 'no `service` field and none of the service labels');
  const ts = c.time(p.ts, 'ts');
  const status = p.status ?? 'firing';
  const alert: Alert = {
    kind: 'alert',
    id,
    ts,
    service,
    name: p.name,
    severity: mapSeverity(p.severity),
    status,
    summary: p.summary,
    // Name and service join the labels here, so that two label-less alerts of different names do not collide.
    fingerprint: p.fingerprint || labelFingerprint({ ...labels, alertname: p.name, service }),
    labels,
    starts_at: ts,
  };
  if (status === 'resolved') alert.ends_at = ts;
  c.emit(alert);
}

/**
 * Alertmanager webhook (recognised by its `alerts` array) -> one Alert per entry; bad entries are reported
 * one by one and the good ones still emitted. Anything else is a plain alert object.
 */
export function parseAlerts(root: Record<string, unknown>, c: Collector): void {
  if (root.alerts === undefined) {
    plainAlert(c, root);
    return;
  }
  const env = check(AmEnvelope, root, '');
  for (let i = 0; i < env.alerts.length; i++) {
    try {
      alertmanagerAlert(c, env.alerts[i]);
    } catch (e) {
      c.failFrom(e, `alerts[${i}]`);
    }
  }
}
