import type { Logger } from 'pino';
import { NightshiftError } from '../core/errors.js';
import { scoreFeedback, type FeedbackEval, type PublishedCause } from '../eval/feedback.js';

/** Ids per root-cause read: keeps one IN (...) list far below ClickHouse's query size limit. */
const IDS_PER_QUERY = 1000;

/**
 * `nightshift eval --feedback`: the recorded feedback (the MCP tools' and the HTTP API's store) against the latest
 * published root causes, from the analytics store the environment selects (as `nightshift mcp`).
 */
export async function evalFromFeedback(env: NodeJS.ProcessEnv, log: Logger): Promise<{ store: string; result: FeedbackEval }> {
  // Loaded here: the MCP context pulls the store and knowledge modules, which the simulated evals do not need.
  const [{ openMcpContext }, { MAX_FEEDBACK_ROWS }] = await Promise.all([import('../mcp/context.js'), import('../mcp/feedback.js')]);
  const ctx = await openMcpContext(env, log);
  try {
    if (!ctx.reader) throw new NightshiftError('CONFIG_INVALID', `eval --feedback needs the published root causes, and the analytics store (${ctx.description}) answers no queries`);
    const rows = await ctx.feedback.all(MAX_FEEDBACK_ROWS);
    if (rows.length === MAX_FEEDBACK_ROWS) log.warn({ rows: MAX_FEEDBACK_ROWS }, 'eval --feedback read only the oldest rows: the rest are left out');
    const ids = [...new Set(rows.map((r) => r.incident_id))];
    const causes = new Map<string, PublishedCause[]>();
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      for (const [id, list] of await ctx.reader.rootCauses(ids.slice(i, i + IDS_PER_QUERY))) causes.set(id, list);
    }
    return { store: ctx.description, result: scoreFeedback(rows, causes) };
  } finally {
    await ctx.close();
  }
}
