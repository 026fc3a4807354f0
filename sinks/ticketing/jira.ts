import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import type { JiraConfig } from './config.js';
import { assertSafeKey, basicAuth, joinUrl, parseBody, type Http } from './http.js';
import { encodeVersion, parseVersion } from './policy.js';
import { render, title, toAdf, truncate } from './render.js';
import type { TicketContext, TicketingClient, TicketRef, TicketVersion, UpdateContext } from './types.js';

const StatusField = z.looseObject({ name: z.string(), statusCategory: z.looseObject({ key: z.string() }).optional() });
const SearchResult = z.looseObject({
  issues: z.array(
    z.looseObject({
      id: z.string(),
      key: z.string(),
      fields: z.looseObject({ status: StatusField.optional() }).optional(),
      properties: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});
const Created = z.looseObject({ id: z.string(), key: z.string() });
const Transitions = z.looseObject({
  transitions: z.array(
    z.looseObject({ id: z.string(), name: z.string(), to: z.looseObject({ name: z.string().optional(), statusCategory: z.looseObject({ key: z.string() }).optional() }).optional() }),
  ),
});
const PropertyValue = z.looseObject({ incident_id: z.string().optional(), version: z.string().optional() });

/**
 * Jira Cloud REST v3. Correlation is a label `<labelPrefix><incident id>` (searchable with JQL on every site,
 * no custom field needed) plus an issue property holding the version last written, read back in the same search.
 * Updates are comments; resolve is a comment and a transition into the done category.
 * Jira's search index lags writes by seconds: within one process the sink's cache covers that; a restart
 * that follows a create by less than the lag could miss the issue.
 */
export class JiraClient implements TicketingClient {
  readonly name = 'jira' as const;
  readonly idempotentOpen = false;
  private readonly auth: string;

  constructor(
    private readonly cfg: JiraConfig,
    private readonly http: Http,
  ) {
    this.auth = basicAuth(cfg.email, cfg.token);
  }

  private headers(): Record<string, string> {
    return { Authorization: this.auth, Accept: 'application/json', 'Content-Type': 'application/json' };
  }

  private call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, retry = true): Promise<{ status: number; text: string }> {
    return this.http.call(
      { method, url: joinUrl(this.cfg.url, path), headers: this.headers(), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) },
      { retry },
    );
  }

  label(incidentId: string): string {
    return `${this.cfg.labelPrefix}${incidentId}`;
  }

  async find(incidentId: string): Promise<TicketRef | null> {
    assertSafeKey(incidentId);
    const jql = `project = "${this.cfg.project}" AND labels = "${this.label(incidentId)}" ORDER BY created ASC`;
    const res = await this.call('POST', '/rest/api/3/search/jql', { jql, fields: ['status'], properties: [this.cfg.propertyKey], maxResults: 1 });
    const issue = parseBody(res, SearchResult, 'jira search').issues[0];
    if (!issue) return null;
    const prop = PropertyValue.safeParse(issue.properties?.[this.cfg.propertyKey]);
    return {
      id: issue.key,
      display: issue.key,
      version: prop.success ? parseVersion(prop.data.version) : null,
      resolved: issue.fields?.status?.statusCategory?.key === 'done',
    };
  }

  ticketUrl(ref: TicketRef): string {
    return joinUrl(this.cfg.url, `/browse/${encodeURIComponent(ref.id)}`);
  }

  private property(incidentId: string, v: TicketVersion): { incident_id: string; version: string } {
    return { incident_id: incidentId, version: encodeVersion(v) };
  }

  async open(ctx: TicketContext): Promise<TicketRef> {
    const o = ctx.output;
    assertSafeKey(o.incident_id);
    const body = {
      fields: {
        project: { key: this.cfg.project },
        summary: truncate(title(o, ctx.severity), 255),
        description: toAdf(render('open', o, ctx.severity)),
        issuetype: { name: this.cfg.issueType },
        labels: [...this.cfg.labels, this.label(o.incident_id)],
      },
      properties: [{ key: this.cfg.propertyKey, value: this.property(o.incident_id, ctx.version) }],
    };
    // Not retried here: the sink looks the issue up before it tries a create again.
    const created = parseBody(await this.call('POST', '/rest/api/3/issue', body, false), Created, 'jira create');
    return { id: created.key, display: created.key, version: ctx.version, resolved: false };
  }

  private issuePath(ref: TicketRef, suffix: string): string {
    return `/rest/api/3/issue/${encodeURIComponent(ref.id)}${suffix}`;
  }

  private async comment(ref: TicketRef, ctx: TicketContext, kind: 'update' | 'resolve'): Promise<void> {
    await this.call('POST', this.issuePath(ref, '/comment'), { body: toAdf(render(kind, ctx.output, ctx.severity)) });
  }

  private async recordVersion(ref: TicketRef, ctx: TicketContext): Promise<void> {
    await this.call('PUT', this.issuePath(ref, `/properties/${encodeURIComponent(this.cfg.propertyKey)}`), this.property(ctx.output.incident_id, ctx.version));
  }

  /** Takes the transition named `name`, else (when `intoDone`) the first one into the done category. Returns whether one was taken. */
  private async transition(ref: TicketRef, name: string, intoDone: boolean): Promise<boolean> {
    const list = parseBody(await this.call('GET', this.issuePath(ref, '/transitions')), Transitions, 'jira transitions').transitions;
    const wanted = name.toLowerCase();
    const t = list.find((x) => x.name.toLowerCase() === wanted) ?? (intoDone ? list.find((x) => x.to?.statusCategory?.key === 'done') : undefined);
    if (!t) return false;
    await this.call('POST', this.issuePath(ref, '/transitions'), { transition: { id: t.id } });
    return true;
  }

  async update(ref: TicketRef, ctx: UpdateContext): Promise<TicketRef> {
    await this.comment(ref, ctx, 'update');
    // Acknowledging is best effort: the issue may already be past that status.
    if (ctx.acknowledge && this.cfg.acknowledgeTransition) await this.transition(ref, this.cfg.acknowledgeTransition, false);
    await this.recordVersion(ref, ctx);
    return { ...ref, version: ctx.version };
  }

  async resolve(ref: TicketRef, ctx: TicketContext): Promise<TicketRef> {
    await this.comment(ref, ctx, 'resolve');
    if (!(await this.transition(ref, this.cfg.resolveTransition, true))) {
      throw new NightshiftError('CONFIG_INVALID', `jira: ${ref.display} has no transition "${this.cfg.resolveTransition}" nor any into a done status`);
    }
    await this.recordVersion(ref, ctx);
    return { ...ref, version: ctx.version, resolved: true };
  }
}
