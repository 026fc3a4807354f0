import type { McpContext } from '../mcp/context.js';
import type { ApiRoute } from './server.js';

/**
 * The /api/ routes beyond incidents that `nightshift ui` mounts. Empty for now: the value report joins here when it
 * lands, so that the server stays free of what each report needs.
 */
export function uiRoutes(_ctx: McpContext, _env: NodeJS.ProcessEnv): Record<string, ApiRoute> {
  return {};
}
