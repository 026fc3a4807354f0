import type { Logger } from 'pino';
import type { Stage } from '../../core/stage.js';
import type { IncidentBundle, IncidentOutput } from '../../schemas/index.js';
import { loadKnowledgeBase, type KnowledgeBase } from '../rag/kb.js';
import { LiveKnowledge, type PastIncidentSource } from '../rag/live.js';
import { Retriever, type Embedder } from '../rag/retrieve.js';
import { Redactor } from '../redact/redactor.js';
import type { LlmClient } from './client.js';
import type { ActiveLlmConfig } from './config.js';
import { DRY_RUN_MODEL, DryRunLlmClient } from './dryrun.js';
import { localClientFromConfig } from './local.js';
import { OpenAiEmbedder, OpenAiLlmClient, type OpenAiClientOptions } from './openai-client.js';
import { LlmReasoner } from './reasoner.js';
import type { RunObserver } from './run.js';
import { LlmReasoningStage } from './stage.js';

export interface LlmStageDeps {
  /** The deterministic ranker stage (`new ReasoningStage(cfg.reasoning)`). */
  readonly ranker: Stage<IncidentBundle, IncidentOutput>;
  readonly log?: Logger;
  readonly onRun?: RunObserver;
  readonly onRanked?: (o: IncidentOutput) => void;
  /** Defaults to the OpenAI-compatible client built from the config. */
  readonly client?: LlmClient;
  /** Defaults to the endpoint's embeddings when `embeddings.model` is set, else none (BM25 only). */
  readonly embedder?: Embedder | null;
  /** Defaults to the folder in the config (or the shipped sample). */
  readonly knowledge?: KnowledgeBase;
  /**
   * Past incidents whose root cause feedback confirmed, added to the knowledge base (read before the first run,
   * then every `refreshMs`; 0 = once). Without it the knowledge base is the folder's documents only.
   */
  readonly pastIncidents?: { readonly source: PastIncidentSource; readonly refreshMs: number };
  readonly clientOptions?: OpenAiClientOptions;
}

/**
 * Builds the LLM reasoning stage: knowledge base (read once, synchronously), retriever, redactor, client, reasoner.
 * Throws CONFIG_INVALID for a configured knowledge folder that does not exist.
 */
export function createLlmStage(cfg: ActiveLlmConfig, deps: LlmStageDeps): LlmReasoningStage {
  const kb = deps.knowledge ?? loadKnowledgeBase(cfg.knowledge);
  for (const p of kb.problems) deps.log?.warn({ problem: p }, 'knowledge base: skipped');
  const embedder =
    deps.embedder !== undefined ? deps.embedder : cfg.embeddings.model && cfg.model !== DRY_RUN_MODEL ? new OpenAiEmbedder(cfg.embeddings.model, cfg, deps.clientOptions) : null;
  const vectors = new Map<string, number[]>();
  const retrieverOf = (k: KnowledgeBase): Retriever | null => (k.docs.length > 0 ? new Retriever(k, cfg.knowledge, embedder, cfg.embeddings.weight, vectors) : null);
  const retriever = retrieverOf(kb);
  const live = deps.pastIncidents
    ? new LiveKnowledge(kb, retrieverOf, { source: deps.pastIncidents.source, refreshMs: deps.pastIncidents.refreshMs, ...(deps.log ? { log: deps.log } : {}) })
    : undefined;
  void live?.start();
  const client =
    deps.client ?? localClientFromConfig(cfg) ?? (cfg.model === DRY_RUN_MODEL ? new DryRunLlmClient() : new OpenAiLlmClient(cfg, deps.clientOptions));
  const reasoner = new LlmReasoner({ client, cfg, kb, retriever, redactor: new Redactor(cfg.redact), ...(live ? { live } : {}) });
  deps.log?.info({ model: cfg.model, base_url: cfg.baseUrl, mode: cfg.mode, knowledge_docs: kb.docs.length, past_incidents: deps.pastIncidents?.source.where ?? null, embeddings: cfg.embeddings.model ?? null }, 'LLM reasoning on');
  return new LlmReasoningStage({
    cfg,
    ranker: deps.ranker,
    reasoner,
    ...(deps.onRun ? { onRun: deps.onRun } : {}),
    ...(deps.onRanked ? { onRanked: deps.onRanked } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
}
