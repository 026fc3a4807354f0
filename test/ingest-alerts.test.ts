import { describe, expect, it } from 'vitest';
import { IngestConfig } from '../ingest/index.js';
import { labelFingerprint, mapSeverity } from '../ingest/formats/alerts.js';
import type { Alert } from '../schemas/events.js';
import { T0, alertmanagerWebhook, codes, only, parse } from './ingest-fixtures.js';

describe('Alertmanager webhook v4', () => {
  it('turns each entry of alerts[] into an Alert', () => {
    const r = parse('alerts', alertmanagerWebhook());
    expect(r.errors).toEqual([]);
    const [firing, resolved] = r.events as Alert[];
    expect(firing).toEqual({
      kind: 'alert',
      id: 'alerts-L7#0',
      ts: T0 + 123,
      service: 'checkout',
      name: 'HighErrorRate',
      severity: 'critical',
      status: 'firing',
      summary: 'checkout is failing requests',
      fingerprint: 'c2ba45e9a6b1f7d1',
      labels: {
        alertname: 'HighErrorRate',
        instance: '10.0.3.7:8080',
        job: 'kubernetes-pods',
        namespace: 'prod',
        service: 'checkout',
        severity: 'page',
      },
      // Annotations are kept as evidence text (the runbook link above all).
      annotations: {
        description: '5xx ratio is 12% over the last 5m',
        runbook_url: 'https://runbooks.example.com/HighErrorRate',
        summary: 'checkout is failing requests',
      },
      starts_at: T0 + 123,
    });
    // the Go zero endsAt of a firing alert means "no end", not year 1
    expect(firing!.ends_at).toBeUndefined();
    // resolved: event time is the end; +01:00 converted; no summary annotation -> description
    expect(resolved).toMatchObject({
      id: 'alerts-L7#1',
      status: 'resolved',
      service: 'payments', // no `service` label: `job` is the last configured service label
      severity: 'warning',
      summary: 'payments 5xx ratio back to normal',
      starts_at: T0 - 10 * 60_000,
      ts: T0 + 5 * 60_000 + 30_500 - 3_600_000,
      ends_at: T0 + 5 * 60_000 + 30_500 - 3_600_000,
    });
  });

  it('falls back to the alert name as summary and computes an order-independent fingerprint', () => {
    const a = (labels: Record<string, string>) =>
      only(parse('alerts', { version: '4', alerts: [{ status: 'firing', labels, startsAt: '2024-03-01T10:00:00Z' }] }), 'alert');
    const one = a({ alertname: 'DiskFull', service: 'db', device: 'sda' });
    const two = a({ device: 'sda', service: 'db', alertname: 'DiskFull' });
    const other = a({ alertname: 'DiskFull', service: 'db', device: 'sdb' });
    expect(one.summary).toBe('DiskFull');
    expect(one.severity).toBe('info');
    expect(one.fingerprint).toBe(two.fingerprint);
    expect(one.fingerprint).not.toBe(other.fingerprint);
    expect(one.fingerprint).toBe(labelFingerprint({ service: 'db', alertname: 'DiskFull', device: 'sda' }));
  });

  it('maps severities', () => {
    const cases: Array<[string | undefined, string]> = [
      ['critical', 'critical'],
      ['page', 'critical'],
      ['PAGE', 'critical'],
      ['error', 'error'],
      ['high', 'error'],
      ['warning', 'warning'],
      ['warn', 'warning'],
      ['medium', 'warning'],
      ['low', 'info'],
      ['none', 'info'],
      [undefined, 'info'],
    ];
    for (const [input, out] of cases) expect([input, mapSeverity(input)]).toEqual([input, out]);
  });

  it('finds the service by the configured labels, first present wins', () => {
    const body = (labels: Record<string, string>) => ({ version: '4', alerts: [{ status: 'firing', labels, startsAt: '2024-03-01T10:00:00Z' }] });
    expect(only(parse('alerts', body({ alertname: 'A', job: 'j', app: 'a' })), 'alert').service).toBe('a');
    expect(only(parse('alerts', body({ alertname: 'A', job: 'j', service_name: 'sn' })), 'alert').service).toBe('sn');
    const custom = IngestConfig.parse({ serviceLabels: ['team_service'] });
    expect(only(parse('alerts', body({ alertname: 'A', team_service: 'ts', service: 's' }), {}, custom), 'alert').service).toBe('ts');
    const r = parse('alerts', body({ alertname: 'A', instance: 'x' }));
    expect(codes(r)).toEqual(['MISSING_SERVICE']);
    expect(r.errors[0]!.message).toMatch(/alerts\[0\].*service, service_name, app, job/);
  });

  it('emits the good entries of a partly bad webhook and names each bad one', () => {
    const body = alertmanagerWebhook();
    const alerts = body.alerts as Record<string, unknown>[];
    body.alerts = [
      alerts[0],
      { ...alerts[0], labels: { alertname: 'X', service: 's', severity: 3 } },
      { ...alerts[1], endsAt: '0001-01-01T00:00:00Z' },
      { ...alerts[0], labels: { alertname: 'Y' } },
      alerts[1],
    ];
    const r = parse('alerts', body);
    expect(r.events.map((e) => e.id)).toEqual(['alerts-L7#0', 'alerts-L7#4']);
    expect(r.badEntries).toBe(3);
    expect(codes(r)).toEqual(['SCHEMA_MISMATCH', 'BAD_TIMESTAMP', 'MISSING_SERVICE']);
    expect(r.errors[0]!.message).toMatch(/^alerts\[1\]: labels\.severity: .*expected string/);
    expect(r.errors[1]!.message).toMatch(/^alerts\[2\]: endsAt: a resolved alert needs an end time/);
  });

  it('rejects other webhook versions, a missing alertname and bad startsAt', () => {
    const body = alertmanagerWebhook();
    expect(codes(parse('alerts', { ...body, version: '3' }))).toEqual(['SCHEMA_MISMATCH']);
    expect(codes(parse('alerts', { ...body, alerts: 'x' }))).toEqual(['SCHEMA_MISMATCH']);
    const r = parse('alerts', { version: '4', alerts: [{ status: 'firing', labels: { service: 's' }, startsAt: '2024-03-01T10:00:00Z' }] });
    expect(r.errors[0]!.message).toMatch(/alertname/);
    const t = parse('alerts', { version: '4', alerts: [{ status: 'firing', labels: { alertname: 'A', service: 's' }, startsAt: 'yesterday' }] });
    expect(codes(t)).toEqual(['BAD_TIMESTAMP']);
    const s = parse('alerts', { version: '4', alerts: [{ status: 'pending', labels: { alertname: 'A', service: 's' }, startsAt: '2024-03-01T10:00:00Z' }] });
    expect(s.errors[0]!.message).toMatch(/alerts\[0\]: status/);
  });
});

describe('plain JSON alert', () => {
  const base = { ts: T0, service: 'cart', name: 'LatencyHigh', severity: 'error', summary: 'p99 > 2s' };

  it('defaults status to firing and keeps labels', () => {
    const a = only(parse('alerts', { ...base, labels: { region: 'eu' } }), 'alert');
    expect(a).toMatchObject({ id: 'alerts-L7#0', ts: T0, starts_at: T0, status: 'firing', severity: 'error', labels: { region: 'eu' } });
    expect(a.ends_at).toBeUndefined();
    const res = only(parse('alerts', { ...base, status: 'resolved', fingerprint: 'fp1' }), 'alert');
    expect(res).toMatchObject({ status: 'resolved', ends_at: T0, fingerprint: 'fp1' });
  });

  it('derives distinct fingerprints for label-less alerts of different names', () => {
    const a = only(parse('alerts', base), 'alert');
    const b = only(parse('alerts', { ...base, name: 'Other' }), 'alert');
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(only(parse('alerts', base), 'alert').fingerprint).toBe(a.fingerprint);
  });

  it('takes the service from labels when the field is absent, else MISSING_SERVICE', () => {
    const { service: _s, ...noService } = base;
    expect(only(parse('alerts', { ...noService, labels: { app: 'web' } }), 'alert').service).toBe('web');
    expect(codes(parse('alerts', noService))).toEqual(['MISSING_SERVICE']);
    expect(codes(parse('alerts', { ...base, service: '' }))).toEqual(['MISSING_SERVICE']);
    expect(codes(parse('alerts', { ...base, service: 'x'.repeat(300) }))).toEqual(['SCHEMA_MISMATCH']);
  });

  it('falls back to the record timestamp only when the payload has none', () => {
    const { ts: _t, ...noTs } = base;
    expect(only(parse('alerts', noTs, { ts: T0 + 5 }), 'alert').ts).toBe(T0 + 5);
    expect(codes(parse('alerts', noTs))).toEqual(['BAD_TIMESTAMP']);
    // a bad payload time is an error even when the record has a good one
    expect(codes(parse('alerts', { ...base, ts: 'soon' }, { ts: T0 }))).toEqual(['BAD_TIMESTAMP']);
  });

  it('reports wrong types with their path', () => {
    const r = parse('alerts', { ...base, severity: 2, labels: { a: 1 } });
    expect(codes(r)).toEqual(['SCHEMA_MISMATCH']);
    expect(r.errors[0]!.message).toMatch(/severity: /);
    expect(r.errors[0]!.message).toMatch(/labels\.a: /);
  });
});
