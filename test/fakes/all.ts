import { MemoryDeadLetters } from '../../core/deadletter.js';
import { silentLogger } from '../../core/log.js';
import { parseTicketingConfig, type TicketingConfig } from '../../sinks/ticketing/index.js';
import { FakeJira } from './jira.js';
import { FakePagerDuty } from './pagerduty.js';
import { FakeServiceNow } from './servicenow.js';
import { FakeWebhookReceiver } from './webhook.js';

export const SN_AUTH = { user: 'nightshift.svc', password: 'correct horse battery' };
export const JIRA_EMAIL = 'bot@example.com';
export const JIRA_TOKEN = 'ATATT3xFfGF0-test-token';
export const PD_KEY = 'R0123456789abcdefABCDEF012345678';
export const PD_TOKEN = 'u+pd-api-token';
export const HOOK_SECRET = 'whsec-0123456789abcdef';

/** Small, bounded retry timings so tests of retries finish in well under a second. */
export const FAST_HTTP = { timeoutMs: 2000, maxAttempts: 4, backoffBaseMs: 5, backoffMaxMs: 40, maxRetryAfterMs: 1500 };

export interface Fakes {
  readonly sn: FakeServiceNow;
  readonly jira: FakeJira;
  readonly pd: FakePagerDuty;
  readonly hook: FakeWebhookReceiver;
  close(): Promise<void>;
}

export async function startFakes(): Promise<Fakes> {
  const sn = await new FakeServiceNow(SN_AUTH).start();
  const jira = await new FakeJira(JIRA_EMAIL, JIRA_TOKEN).start();
  const pd = await new FakePagerDuty(PD_KEY, PD_TOKEN).start();
  const hook = await new FakeWebhookReceiver(HOOK_SECRET).start();
  return {
    sn,
    jira,
    pd,
    hook,
    close: async () => {
      await Promise.all([sn.http.close(), jira.http.close(), pd.http.close(), hook.http.close()]);
    },
  };
}

export function allConfig(f: Fakes, over: Record<string, unknown> = {}, pdLookup = true): TicketingConfig {
  return parseTicketingConfig({
    http: FAST_HTTP,
    servicenow: { url: f.sn.url, auth: { kind: 'basic', ...SN_AUTH } },
    jira: { url: f.jira.url, email: JIRA_EMAIL, token: JIRA_TOKEN, project: 'OPS' },
    pagerduty: { routingKey: PD_KEY, url: f.pd.url, apiUrl: f.pd.url, ...(pdLookup ? { apiToken: PD_TOKEN } : {}) },
    webhook: { url: f.hook.url, secret: HOOK_SECRET },
    ...over,
  });
}

export function testDeps(): { log: ReturnType<typeof silentLogger>; deadLetters: MemoryDeadLetters } {
  return { log: silentLogger(), deadLetters: new MemoryDeadLetters() };
}
