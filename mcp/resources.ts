import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { NightshiftError } from '../core/errors.js';
import type { KnowledgeBase, KnowledgeDoc } from '../reasoning/rag/kb.js';

const text = (d: KnowledgeDoc): string =>
  `# ${d.title}\n\n- id: ${d.id}\n- type: ${d.type}\n- services: ${d.services.join(', ') || '(any)'}\n- kinds: ${d.kinds.join(', ') || '(any)'}\n- source: ${d.source}\n\n${d.body}\n`;

/**
 * The knowledge base (runbooks, postmortems, past incidents) as `runbook://ID` resources, Markdown. Written by the
 * operators, so not marked untrusted; the list is the whole base (it is loaded in memory and bounded by its config).
 */
export function registerRunbooks(server: McpServer, kb: KnowledgeBase): void {
  server.registerResource(
    'runbook',
    new ResourceTemplate('runbook://{id}', {
      list: () => ({
        resources: kb.docs.map((d) => ({ uri: `runbook://${d.id}`, name: d.id, title: d.title, description: `${d.type}: ${d.title}`, mimeType: 'text/markdown' })),
      }),
    }),
    {
      title: 'Runbooks and postmortems',
      description: 'The knowledge base the LLM reasoner retrieves from: runbooks, postmortems and past incidents, one Markdown document per id.',
      mimeType: 'text/markdown',
    },
    (uri, vars) => {
      const id = Array.isArray(vars.id) ? vars.id[0] : vars.id;
      const doc = id === undefined ? undefined : kb.byId.get(decodeURIComponent(id));
      if (!doc) throw new NightshiftError('NOT_FOUND', `no runbook ${JSON.stringify(id)}; resources/list names them all`);
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: text(doc) }] };
    },
  );
}
