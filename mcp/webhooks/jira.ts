import type { IncomingMessage } from 'node:http';
import { authorizationMatches, header, hmacHex, ignored, noteOf, obj, rootCauseIn, safeEqual, strOf, type Mapped } from './common.js';

export interface JiraWebhookConfig {
  /** The admin webhook's secret: Jira signs the body, `X-Hub-Signature: sha256=<hex HMAC-SHA256>`. */
  readonly secret?: string;
  /** Or a bearer token (an Automation "Send web request" rule sets `Authorization: Bearer <token>`). */
  readonly token?: string;
  /** The outbound client's correlation label prefix (sinks/ticketing jira labelPrefix, default `nightshift-`). */
  readonly labelPrefix: string;
  /** Jira users that are nightshift itself (its API account: accountId or email): their transitions are not feedback. */
  readonly selfUsers: readonly string[];
  /** A custom field (e.g. `customfield_10050`) whose text may name the root cause in the documented form. */
  readonly rootCauseField?: string;
}

/** Genuine when the HMAC signature matches the secret, or the bearer token matches the token (whichever is configured). */
export function verifyJira(headers: IncomingMessage['headers'], raw: Buffer, cfg: JiraWebhookConfig): boolean {
  if (cfg.secret) {
    const sig = header(headers, 'x-hub-signature');
    if (sig && safeEqual(sig.trim(), `sha256=${hmacHex(cfg.secret, raw)}`)) return true;
  }
  return cfg.token !== undefined && authorizationMatches(headers, 'Bearer', cfg.token);
}

/**
 * Jira Cloud webhooks (admin webhook or Automation rule) on issue updates. Fields relied on:
 *   webhookEvent            "jira:issue_updated"; other events are ignored
 *   timestamp               epoch ms of the change
 *   user                    {accountId, displayName, emailAddress?}: who changed the issue (the actor)
 *   issue.id, issue.key     the issue; issue.fields.labels holds nightshift's correlation label `<prefix><incident id>`
 *   issue.fields.status     {name, statusCategory: {key}}: the status after the change
 *   issue.fields.resolution {name} or null
 *   changelog               {id, items: [{field, to, toString}]}: what this update changed. A `resolution` item set
 *                           to a value, or a `status` item into the done category, is a resolve; a `status` item into
 *                           the in-progress category (indeterminate) is an ack; an update changing neither (an edit,
 *                           a comment on a closed issue) is ignored, so one resolution records one resolve
 *   comment.body            present when the update carried a comment: kept as the note, searched for the root cause
 * The root cause may be named as `root cause: <service> <kind>` in the comment, in a changed field's new value, or in
 * the custom field configured.
 */
export function mapJira(body: unknown, cfg: JiraWebhookConfig): Mapped {
  const b = obj(body);
  if (!b) return ignored('not_a_jira_event');
  if (b.webhookEvent !== 'jira:issue_updated') return ignored('event_type_not_mapped');
  const issue = obj(b.issue);
  const fields = obj(issue?.fields);
  if (!issue || !fields) return ignored('no_issue');
  const labels = Array.isArray(fields.labels) ? fields.labels.filter((l): l is string => typeof l === 'string') : [];
  const label = labels.find((l) => l.startsWith(cfg.labelPrefix) && l.length > cfg.labelPrefix.length);
  if (!label) return ignored('no_nightshift_label');
  const user = obj(b.user);
  const who = [strOf(user?.accountId), strOf(user?.emailAddress)].filter((x): x is string => x !== undefined);
  if (who.some((w) => cfg.selfUsers.includes(w))) return ignored('by_nightshift');
  const changelog = obj(b.changelog);
  const items = (Array.isArray(changelog?.items) ? changelog.items : []).map(obj).filter((i): i is Record<string, unknown> => i !== undefined);
  const category = strOf(obj(obj(fields.status)?.statusCategory)?.key);
  const resolutionSet = items.some((i) => i.field === 'resolution' && (strOf(i.to) ?? strOf(i.toString)) !== undefined);
  const statusChanged = items.some((i) => i.field === 'status');
  const kind = resolutionSet || (statusChanged && category === 'done') ? 'resolve' : statusChanged && category === 'indeterminate' ? 'ack' : null;
  if (!kind) return ignored('no_state_change');
  const comment = strOf(obj(b.comment)?.body);
  const resolution = strOf(obj(fields.resolution)?.name);
  const custom = cfg.rootCauseField ? strOf(fields[cfg.rootCauseField]) : undefined;
  const key = strOf(issue.key) ?? strOf(issue.id) ?? label;
  return {
    kind: 'event',
    event: {
      incidentId: label.slice(cfg.labelPrefix.length),
      kind,
      actor: strOf(user?.displayName) ?? strOf(user?.accountId) ?? null,
      note: noteOf([kind === 'resolve' && resolution ? `resolution: ${resolution}` : null, comment]),
      rootCause: kind === 'resolve' ? rootCauseIn([custom, comment, ...items.map((i) => strOf(i.toString))]) : null,
      deliveryKey: `${strOf(issue.id) ?? key}:${strOf(changelog?.id) ?? strOf(b.timestamp) ?? ''}:${kind}`,
      ticket: `Jira ${key}`,
    },
  };
}
