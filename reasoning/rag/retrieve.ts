import type { IncidentBundle, RootCause, RootCauseKind } from '../../schemas/index.js';
import { Bm25Index } from './bm25.js';
import { serviceMatches, type KnowledgeBase, type KnowledgeConfig, type KnowledgeDoc } from './kb.js';

/** Turns texts into vectors (an OpenAI-compatible embeddings endpoint in production). */
export interface Embedder {
  readonly model: string;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<number[][]>;
}

export interface RetrievedDoc {
  readonly id: string;
  readonly type: KnowledgeDoc['type'];
  readonly title: string;
  readonly score: number;
  /** Tagged with the ranker's top service or kind (see `isRelevant`). */
  readonly relevant: boolean;
}

export interface Retrieval {
  readonly docs: readonly RetrievedDoc[];
  /** At least one retrieved document is relevant. */
  readonly hit: boolean;
  /** `bm25`, or `bm25+embeddings` when vectors were used, or `bm25 (embeddings failed: ...)`. */
  readonly method: string;
}

/**
 * "Relevant" is decided from tags, not text: a document tagged with the service the ranker puts first (by name or
 * glob) or with that cause's kind. It is checkable without a person and independent of the scoring under test.
 */
export function isRelevant(doc: KnowledgeDoc, service: string | undefined, kind: RootCauseKind | undefined): boolean {
  if (service !== undefined && doc.services.some((p) => serviceMatches(p, service))) return true;
  return kind !== undefined && kind !== 'unknown' && doc.kinds.includes(kind);
}

/** The query: what the incident looks like in words (top signals, templates, changes) and the ranker's candidates. */
export function incidentQuery(bundle: IncidentBundle, ranked: readonly RootCause[], maxChars = 6000): string {
  const parts: string[] = [];
  for (const c of ranked) parts.push(`${c.service} ${c.kind} ${c.summary}`);
  for (const t of bundle.templates.slice(0, 30)) parts.push(`${t.service} ${t.template}`);
  for (const s of [...bundle.signals].sort((a, b) => b.score - a.score).slice(0, 30)) parts.push(s.summary);
  for (const c of bundle.changes.slice(-10)) parts.push(`${c.service} ${c.change_kind} ${c.summary}`);
  return parts.join('\n').slice(0, maxChars);
}

const RANK_WEIGHT = [1, 0.5, 0.3] as const;

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export interface RetrieveOptions {
  /** Applied to every text sent to the embeddings endpoint (the query and the documents). */
  readonly redact: (text: string) => string;
  readonly signal?: AbortSignal;
  /** Documents that may not be retrieved for this incident (rag/confirmed.ts usableFor). */
  readonly usable?: (doc: KnowledgeDoc) => boolean;
}

/**
 * Hybrid retrieval: BM25 over title, tags and body, plus structured matches (service globs against the ranker's
 * candidates, kinds, template ids or phrases against the bundle), plus cosine similarity of embeddings when an
 * embedder is given. Document vectors are computed once, on first use, and kept (one per document).
 */
export class Retriever {
  private readonly bm25: Bm25Index;
  private docVectors: number[][] | null = null;

  constructor(
    readonly kb: KnowledgeBase,
    private readonly cfg: Pick<KnowledgeConfig, 'topK' | 'minRelativeScore'>,
    private readonly embedder: Embedder | null = null,
    private readonly embeddingWeight = 0.5,
    /**
     * Document vectors by model and text, shared by the retrievers a LiveKnowledge rebuilds: a refresh that adds past
     * incidents embeds only the new documents, not the whole knowledge base again.
     */
    private readonly vectorCache: Map<string, number[]> | null = null,
  ) {
    this.bm25 = new Bm25Index(kb.docs.map((d) => `${d.title}\n${d.tags.join(' ')}\n${d.services.join(' ')}\n${d.templates.join('\n')}\n${d.body}`));
  }

  private structured(doc: KnowledgeDoc, ranked: readonly RootCause[], haystack: string, ids: Set<string>): number {
    let s = 0;
    ranked.slice(0, 3).forEach((c, i) => {
      const w = RANK_WEIGHT[i] ?? 0;
      if (doc.services.some((p) => serviceMatches(p, c.service))) s += 0.6 * w;
      if (c.kind !== 'unknown' && doc.kinds.includes(c.kind)) s += 0.4 * w;
    });
    let tpl = 0;
    for (const t of doc.templates) {
      if (t.startsWith('tpl_') ? ids.has(t) : haystack.includes(t.toLowerCase())) tpl++;
    }
    s += Math.min(1, tpl * 0.35);
    return s;
  }

  async retrieve(bundle: IncidentBundle, ranked: readonly RootCause[], opts: RetrieveOptions): Promise<Retrieval> {
    if (this.kb.docs.length === 0 || this.cfg.topK === 0) return { docs: [], hit: false, method: 'none' };
    const query = incidentQuery(bundle, ranked);
    const bm = this.bm25.score(query);
    const maxBm = Math.max(0, ...bm.values());
    const haystack = [...bundle.templates.map((t) => t.template), ...bundle.signals.map((s) => s.summary)].join('\n').toLowerCase();
    const ids = new Set<string>([...bundle.templates.map((t) => t.id), ...bundle.signals.map((s) => s.ref)]);
    let method = 'bm25';
    let sims: number[] | null = null;
    if (this.embedder) {
      try {
        sims = await this.similarities(query, opts);
        method = 'bm25+embeddings';
      } catch (e) {
        method = `bm25 (embeddings failed: ${(e as Error).message.slice(0, 120)})`;
      }
    }
    const top = ranked[0];
    const scored = this.kb.docs.flatMap((doc, i) => {
      if (opts.usable && !opts.usable(doc)) return [];
      const text = maxBm > 0 ? (bm.get(i) ?? 0) / maxBm : 0;
      const emb = sims ? this.embeddingWeight * Math.max(0, sims[i] ?? 0) : 0;
      return [{ doc, score: text + this.structured(doc, ranked, haystack, ids) + emb }];
    });
    scored.sort((a, b) => b.score - a.score || (a.doc.id < b.doc.id ? -1 : 1));
    const best = scored[0]?.score ?? 0;
    const docs = scored
      .filter((x) => x.score > 0 && x.score >= best * this.cfg.minRelativeScore)
      .slice(0, this.cfg.topK)
      .map((x) => ({
        id: x.doc.id,
        type: x.doc.type,
        title: x.doc.title,
        score: Math.round(x.score * 1000) / 1000,
        relevant: isRelevant(x.doc, top?.service, top?.kind),
      }));
    return { docs, hit: docs.some((d) => d.relevant), method };
  }

  private async similarities(query: string, opts: RetrieveOptions): Promise<number[]> {
    const emb = this.embedder as Embedder;
    if (!this.docVectors) {
      const texts = this.kb.docs.map((d) => opts.redact(`${d.title}\n${d.tags.join(' ')}\n${d.body}`.slice(0, 4000)));
      const key = (t: string): string => `${emb.model}\n${t}`;
      const missing = texts.filter((t) => !this.vectorCache?.has(key(t)));
      const vectors: number[][] = [];
      // Batches of 64 documents: one request per batch, a few requests for a typical knowledge base.
      for (let i = 0; i < missing.length; i += 64) vectors.push(...(await emb.embed(missing.slice(i, i + 64), opts.signal)));
      if (vectors.length !== missing.length) throw new Error(`embeddings: ${vectors.length} vectors for ${missing.length} documents`);
      const fresh = new Map(missing.map((t, i) => [key(t), vectors[i]!]));
      if (this.vectorCache) for (const [k, v] of fresh) this.vectorCache.set(k, v);
      this.docVectors = texts.map((t) => fresh.get(key(t)) ?? this.vectorCache?.get(key(t)) ?? []);
    }
    const [q] = await emb.embed([opts.redact(query)], opts.signal);
    if (!q) throw new Error('embeddings: no vector for the query');
    return this.docVectors.map((v) => cosine(q, v));
  }
}
