import type { IncomingMessage } from 'node:http';
import { authorizationMatches, ignored, noteOf, obj, rootCauseIn, strOf, type Mapped } from './common.js';

export interface ServiceNowWebhookConfig {
  /** `Authorization: Bearer <token>` on the outbound REST message. */
  readonly token?: string;
  /** Or basic auth, `user:password`. */
  readonly basic?: string;
  /** ServiceNow users that are nightshift itself (its Table API user): their state changes are not feedback. */
  readonly selfUsers: readonly string[];
  readonly ackStates: readonly string[];
  readonly resolveStates: readonly string[];
}

export function verifyServiceNow(headers: IncomingMessage['headers'], cfg: ServiceNowWebhookConfig): boolean {
  return (cfg.token !== undefined && authorizationMatches(headers, 'Bearer', cfg.token)) || (cfg.basic !== undefined && authorizationMatches(headers, 'Basic', cfg.basic));
}

/**
 * ServiceNow has no fixed webhook format: an outbound REST message, sent by a business rule on the incident table
 * (after update, condition "State changes"), posts this JSON, which nightshift defines (deploy/RUNBOOK.md has the rule):
 *   {"sys_id": "...", "number": "INC0010001", "state": "6", "correlation_id": "<nightshift incident id>",
 *    "close_code": "Solved (Permanently)", "close_notes": "...", "resolved_by": "jane.doe",
 *    "sys_updated_by": "jane.doe", "sys_updated_on": "2024-01-01 10:00:00", "u_root_cause": "..."}
 * correlation_id is what nightshift's Table API client sets on the tickets it opens; state is the incident state
 * (default 6 Resolved and 7 Closed -> resolve, 2 In Progress -> ack; others ignored); resolved_by, else
 * sys_updated_by, is the actor; close_code and close_notes are the note; close_notes or u_root_cause may name the
 * root cause as `root cause: <service> <kind>`. Only sys_id, state and correlation_id are required.
 */
export function mapServiceNow(body: unknown, cfg: ServiceNowWebhookConfig): Mapped {
  const b = obj(body);
  if (!b) return ignored('not_an_object');
  const sysId = strOf(b.sys_id);
  const state = strOf(b.state);
  if (!sysId || state === undefined) return ignored('no_sys_id_or_state');
  const kind = cfg.resolveStates.includes(state) ? 'resolve' : cfg.ackStates.includes(state) ? 'ack' : null;
  if (!kind) return ignored('state_not_mapped');
  const id = strOf(b.correlation_id)?.trim();
  if (!id) return ignored('no_correlation_id');
  const actor = strOf(b.resolved_by) || strOf(b.sys_updated_by) || null;
  const updatedBy = strOf(b.sys_updated_by);
  if (updatedBy !== undefined && cfg.selfUsers.includes(updatedBy)) return ignored('by_nightshift');
  const closeNotes = strOf(b.close_notes);
  const closeCode = strOf(b.close_code);
  return {
    kind: 'event',
    event: {
      incidentId: id,
      kind,
      actor,
      note: kind === 'resolve' ? noteOf([closeCode ? `close code: ${closeCode}` : null, closeNotes]) : null,
      rootCause: kind === 'resolve' ? rootCauseIn([strOf(b.u_root_cause), closeNotes]) : null,
      deliveryKey: `${sysId}:${state}:${strOf(b.sys_updated_on) ?? ''}`,
      ticket: `ServiceNow ${strOf(b.number) ?? sysId}`,
    },
  };
}
