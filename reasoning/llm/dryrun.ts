import { estimateTokens, type CompletionRequest, type CompletionResult, type LlmClient } from './client.js';

export const DRY_RUN_MODEL = 'dry-run';

interface PromptDoc {
  ranker_candidates?: { service: string; kind: string; confidence: number; summary: string; evidence: string[] }[];
  knowledge?: { id: string }[];
}

/**
 * A model that is not there: `NIGHTSHIFT_LLM_MODEL=dry-run` runs retrieval, redaction, the prompt budget and the
 * guard offline and answers with the ranker's own candidates (so accuracy equals the ranker's by construction).
 * Nothing leaves the process. Useful to size prompts (tokens are estimated) and to check retrieval on real data.
 */
export class DryRunLlmClient implements LlmClient {
  readonly model = DRY_RUN_MODEL;

  async complete(req: CompletionRequest): Promise<CompletionResult> {
    const user = req.messages.find((m) => m.role === 'user')?.content ?? '{}';
    let doc: PromptDoc = {};
    try {
      doc = JSON.parse(user) as PromptDoc;
    } catch {
      doc = {};
    }
    const runbook = doc.knowledge?.[0]?.id ?? null;
    const content = JSON.stringify({
      causes: (doc.ranker_candidates ?? []).slice(0, 3).map((c) => ({
        service: c.service,
        kind: c.kind,
        explanation: `Dry run (no model): the ranker's candidate. ${c.summary}`,
        confidence: c.confidence,
        evidence: c.evidence,
        next_steps: runbook ? [{ action: 'Follow the runbook', runbook }] : [],
      })),
    });
    const tokensIn = req.messages.reduce((a, m) => a + estimateTokens(m.content) + 4, 0) + estimateTokens(JSON.stringify(req.schema.schema));
    return { content, format: 'none', tokensIn, tokensOut: estimateTokens(content), finishReason: 'stop', retries: 0 };
  }
}
