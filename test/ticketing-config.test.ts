import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.js';
import { parseTicketingConfig, ticketingFromEnv } from '../sinks/ticketing/index.js';

describe('ticketing configuration', () => {
  it('is off (null) when no integration variable is set', () => {
    expect(ticketingFromEnv({})).toBeNull();
    expect(ticketingFromEnv({ NIGHTSHIFT_TICKETING_OPEN_AT: 'critical' })).toBeNull();
  });

  it('switches integrations on from their variables, with defaults', () => {
    const cfg = ticketingFromEnv({
      NIGHTSHIFT_SERVICENOW_URL: 'https://acme.service-now.com',
      NIGHTSHIFT_SERVICENOW_USER: 'svc',
      NIGHTSHIFT_SERVICENOW_PASSWORD: 'pw',
      NIGHTSHIFT_PAGERDUTY_ROUTING_KEY: 'R0123456789abcdefABCDEF012345678',
      NIGHTSHIFT_PAGERDUTY_OPEN_AT: 'critical',
      NIGHTSHIFT_TICKETING_OPEN_AT: 'warning',
    });
    expect(cfg).not.toBeNull();
    expect(cfg?.servicenow?.auth).toEqual({ kind: 'basic', user: 'svc', password: 'pw' });
    expect(cfg?.servicenow?.table).toBe('incident');
    expect(cfg?.pagerduty?.url).toBe('https://events.pagerduty.com');
    expect(cfg?.pagerduty?.openAt).toBe('critical');
    expect(cfg?.openAt).toBe('warning');
    expect(cfg?.jira).toBeUndefined();
    expect(cfg?.webhook).toBeUndefined();
    expect(cfg?.severity.error.minAlerts).toBe(1);
  });

  it('prefers a ServiceNow token (bearer) and takes Jira and webhook settings', () => {
    const cfg = ticketingFromEnv({
      NIGHTSHIFT_SERVICENOW_URL: 'https://acme.service-now.com',
      NIGHTSHIFT_SERVICENOW_TOKEN: 'tok',
      NIGHTSHIFT_JIRA_URL: 'https://acme.atlassian.net',
      NIGHTSHIFT_JIRA_EMAIL: 'bot@acme.io',
      NIGHTSHIFT_JIRA_TOKEN: 'jt',
      NIGHTSHIFT_JIRA_PROJECT: 'OPS',
      NIGHTSHIFT_WEBHOOK_URL: 'https://hooks.acme.io/nightshift',
      NIGHTSHIFT_WEBHOOK_SECRET: 'a-secret-of-enough-length',
    });
    expect(cfg?.servicenow?.auth).toEqual({ kind: 'bearer', token: 'tok' });
    expect(cfg?.jira?.project).toBe('OPS');
    expect(cfg?.webhook?.secret).toBe('a-secret-of-enough-length');
  });

  it('names the missing variable, and never echoes a secret in errors', () => {
    expect(() => ticketingFromEnv({ NIGHTSHIFT_JIRA_URL: 'https://acme.atlassian.net', NIGHTSHIFT_JIRA_EMAIL: 'a@b.c' })).toThrow(/NIGHTSHIFT_JIRA_TOKEN is required/);
    expect(() => ticketingFromEnv({ NIGHTSHIFT_WEBHOOK_URL: 'https://x.io/h' })).toThrow(/NIGHTSHIFT_WEBHOOK_SECRET is required/);
    expect(() => ticketingFromEnv({ NIGHTSHIFT_SERVICENOW_URL: 'https://x.io' })).toThrow(/NIGHTSHIFT_SERVICENOW_USER is required/);
    let err: unknown;
    try {
      ticketingFromEnv({ NIGHTSHIFT_WEBHOOK_URL: 'https://x.io/h', NIGHTSHIFT_WEBHOOK_SECRET: 'shortsecret' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NightshiftError);
    expect((err as NightshiftError).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toMatch(/ticketing\.webhook\.secret/);
    expect((err as Error).message).not.toMatch(/shortsecret/);
  });

  it('rejects a bad URL, routing key, severity or unknown field with the path', () => {
    expect(() => ticketingFromEnv({ NIGHTSHIFT_PAGERDUTY_ROUTING_KEY: 'short' })).toThrow(/ticketing\.pagerduty\.routingKey/);
    expect(() => parseTicketingConfig({ webhook: { url: 'ftp://x', secret: 'x'.repeat(16) } })).toThrow(/ticketing\.webhook\.url/);
    expect(() => parseTicketingConfig({ openAt: 'sev1' })).toThrow(/ticketing\.openAt/);
    expect(() => parseTicketingConfig({ jira: { url: 'https://a.b', email: 'e', token: 't', project: 'OPS', colour: 'red' } })).toThrow(/colour|Unrecognized/i);
  });

  it('lets the environment override a file section', () => {
    const cfg = ticketingFromEnv(
      { NIGHTSHIFT_JIRA_URL: 'https://env.atlassian.net', NIGHTSHIFT_JIRA_TOKEN: 'env-token' },
      { jira: { url: 'https://file.atlassian.net', email: 'file@x.io', token: 'file-token', project: 'OPS', issueType: 'Bug' }, queueCapacity: 8 },
    );
    expect(cfg?.jira?.url).toBe('https://env.atlassian.net');
    expect(cfg?.jira?.token).toBe('env-token');
    expect(cfg?.jira?.email).toBe('file@x.io');
    expect(cfg?.jira?.issueType).toBe('Bug');
    expect(cfg?.queueCapacity).toBe(8);
  });
});
