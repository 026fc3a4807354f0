import type { McpContext } from '../mcp/context.js';
import { DEFAULT_VALUE_MODEL, type ValueModel } from '../sinks/clickhouse/value.js';
import type { ApiRoute } from './server.js';

/**
 * The /api/ routes beyond incidents that `nightshift ui` mounts. `value`: the value accounting report per service
 * (with its team) and per team, with the model in words, as a table the page shows under the incidents.
 */
export function uiRoutes(ctx: McpContext, model: ValueModel = DEFAULT_VALUE_MODEL): Record<string, ApiRoute> {
  return {
    value: async () => {
      const r = await ctx.value(model);
      const m = r.model;
      return {
        model:
          `Estimated on-call minutes saved = alerts absorbed x ${m.minutesPerAlertTriage} + root causes named before anyone acted x ` +
          `${m.minutesPerInvestigation} x ${m.investigationShare} + tickets opened automatically x ${m.minutesPerTicket} (configurable: the value section of --config).`,
        columns: ['service', 'team', 'incidents', 'alerts_absorbed', 'tickets_opened', 'median_seconds_to_root_cause', 'minutes_saved'],
        rows: r.services,
        totals: r.totals,
        teams: r.teams,
      };
    },
  };
}
