import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isRefusal, refusalHeaders, refusalMessage, refusalStatus, type Authenticator } from '../core/auth/index.js';
import { NightshiftError, toNightshiftError, type ErrorCode } from '../core/errors.js';
import { RootCauseKind } from '../schemas/common.js';
import type { McpContext } from './context.js';
import type { FeedbackInput, FeedbackRow } from './feedback.js';
import { rebindSafeHost } from './http.js';
import { unknownIncident } from './store.js';
import { IncidentId, Note, Service } from './tools.js';

export const FEEDBACK_PATH = '/v1/feedback';
/** A feedback body is an id, a service and a 2000-character note: 16 KiB is ample and bounds what one request buffers. */
export const MAX_FEEDBACK_BODY = 16 * 1024;

/**
 * `confirm` is not a stored kind: it records a correct_root_cause naming the incident's published top cause, so that
 * the evals' truth rule (eval/feedback.ts) has one kind to read, and a confirmation stays pinned to the cause the
 * responder saw even if the incident is re-ranked later.
 */
export const FeedbackBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.enum(['ack', 'resolve', 'comment']), incident_id: IncidentId, note: Note.optional() }).strict(),
  z.object({ kind: z.literal('correct_root_cause'), incident_id: IncidentId, service: Service, root_kind: RootCauseKind, note: Note.optional() }).strict(),
  z.object({ kind: z.literal('confirm'), incident_id: IncidentId, note: Note.optional() }).strict(),
]);
export type FeedbackBody = z.infer<typeof FeedbackBody>;

const STATUS: Partial<Record<ErrorCode, number>> = { INVALID_JSON: 400, SCHEMA_MISMATCH: 400, FORBIDDEN: 403, NOT_FOUND: 404, RECORD_TOO_LARGE: 413, CONFIG_INVALID: 503 };

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, e: NightshiftError, headers: Record<string, string> = {}): void {
  send(res, STATUS[e.code] ?? (e.retriable ? 503 : 500), { error: { code: e.code, class: e.errorClass, message: e.message } }, headers);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_FEEDBACK_BODY) throw new NightshiftError('RECORD_TOO_LARGE', `feedback body over ${MAX_FEEDBACK_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    // Checked while reading too: a chunked body declares no length.
    if (size > MAX_FEEDBACK_BODY) throw new NightshiftError('RECORD_TOO_LARGE', `feedback body over ${MAX_FEEDBACK_BODY} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (e) {
    throw new NightshiftError('INVALID_JSON', `feedback body is not JSON: ${(e as Error).message}`);
  }
}

function view(f: FeedbackRow) {
  return { ...f, time: new Date(f.at).toISOString() };
}

/** The body as the feedback module's input: `confirm` becomes the correction naming the published top cause. */
async function toInput(ctx: McpContext, body: FeedbackBody): Promise<FeedbackInput> {
  const note = body.note ? { note: body.note } : {};
  if (body.kind === 'correct_root_cause') return { kind: body.kind, incident_id: body.incident_id, service: body.service, root_kind: body.root_kind, ...note };
  if (body.kind !== 'confirm') return { kind: body.kind, incident_id: body.incident_id, ...note };
  if (!ctx.reader) throw new NightshiftError('CONFIG_INVALID', `confirm needs the published causes, and the analytics store (${ctx.description}) answers no queries`);
  const top = (await ctx.reader.rootCauses([body.incident_id])).get(body.incident_id)?.find((c) => c.rank === 1);
  if (!top) throw new NightshiftError('NOT_FOUND', `incident ${JSON.stringify(body.incident_id)} has no published root cause to confirm: send correct_root_cause`);
  return { kind: 'correct_root_cause', incident_id: body.incident_id, service: top.service, root_kind: top.kind, note: body.note ?? 'confirmed the published top cause' };
}

/**
 * POST /v1/feedback records one piece of feedback (JSON body, see FeedbackBody) through the same store as the MCP
 * tools; GET /v1/feedback?incident=ID[&limit=N] reads an incident's, newest first. Same bearer tokens as /mcp: with
 * tokens every request needs one, and a read-only token may GET but its POST is 403.
 */
export function feedbackHttpHandler(ctx: McpContext, auth: Authenticator | undefined, log?: Logger): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const a = auth?.check(req.headers, 'ops', req.socket.remoteAddress) ?? { kind: 'open' as const };
    if (isRefusal(a)) return send(res, refusalStatus(a), { error: { code: 'UNAUTHORIZED', message: refusalMessage(a) } }, refusalHeaders(a));
    if (a.kind === 'open' && !rebindSafeHost(req.headers.host)) {
      return sendError(res, new NightshiftError('FORBIDDEN', `without bearer tokens ${FEEDBACK_PATH} answers only Host localhost or an IP address (DNS rebinding); configure --tokens`));
    }
    const actor = a.kind === 'ok' ? a.token : 'anonymous';
    try {
      if (req.method === 'GET') {
        const q = new URL(req.url ?? '/', 'http://x').searchParams;
        const id = IncidentId.safeParse(q.get('incident') ?? '');
        if (!id.success) throw new NightshiftError('SCHEMA_MISMATCH', `GET ${FEEDBACK_PATH} needs ?incident=ID: ${id.error.issues[0]?.message ?? ''}`);
        const limit = z.coerce.number().int().min(1).max(100).default(20).safeParse(q.get('limit') ?? undefined);
        if (!limit.success) throw new NightshiftError('SCHEMA_MISMATCH', 'limit is an integer from 1 to 100');
        return send(res, 200, { incident_id: id.data, feedback: (await ctx.feedback.list(id.data, limit.data)).map(view) });
      }
      if (req.method !== 'POST') return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${FEEDBACK_PATH}: GET or POST` } }, { allow: 'GET, POST' });
      if (a.kind === 'ok' && auth?.isReadOnly(a.token) === true) throw new NightshiftError('FORBIDDEN', `token ${a.token} is read-only: it may read feedback, not record it`);
      const parsed = FeedbackBody.safeParse(await readJson(req));
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        throw new NightshiftError('SCHEMA_MISMATCH', `feedback body: ${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid'}`);
      }
      // Feedback on an incident the store never had is a typo, and would poison the evals: refused where we can tell.
      if (ctx.reader && !(await ctx.reader.get(parsed.data.incident_id))) throw unknownIncident(parsed.data.incident_id);
      const row = await ctx.feedback.record(await toInput(ctx, parsed.data), actor, 'http-api');
      return send(res, 201, { recorded: view(row), stored_in: ctx.feedback.where });
    } catch (e) {
      const err = toNightshiftError(e);
      if (err.code === 'INTERNAL' || err.retriable) log?.error({ err: err.message }, 'feedback request failed');
      if (!res.headersSent) sendError(res, err);
    }
  };
}
