import type { Logger } from 'pino';
import { toNightshiftError } from '../../core/errors.js';
import { isPastIncidentDoc } from './confirmed.js';
import { knowledgeBaseOf, type KnowledgeBase, type KnowledgeDoc } from './kb.js';
import type { Retriever } from './retrieve.js';

/** Where past incidents with a confirmed root cause come from (mcp/past-incidents.ts reads the feedback store). */
export interface PastIncidentSource {
  readonly where: string;
  /** The documents (rag/confirmed.ts confirmedIncidentDocs), bounded by the source. */
  load(): Promise<KnowledgeDoc[]>;
}

export interface LiveKnowledgeOptions {
  readonly source: PastIncidentSource;
  /** How often the past incidents are read again (ms); 0: only at start and on `refresh()`. */
  readonly refreshMs: number;
  readonly log?: Logger;
}

/** A refresh that failed keeps the documents it had; this many characters of the error are logged. */
const ERR_CHARS = 200;

/**
 * The knowledge base the LLM reasoner reads: the team's documents (loaded once) plus the past incidents whose root
 * cause feedback confirmed, re-read periodically. Each refresh that changes the set builds a new knowledge base and
 * retriever, swapped in at once, so that a reasoning run in progress keeps a consistent pair. A team document with the
 * id a past incident would take wins (the past incident is left out).
 */
export class LiveKnowledge {
  private current: { kb: KnowledgeBase; retriever: Retriever | null };
  private pastIds = '';
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<number> | null = null;
  private started: Promise<number> | null = null;

  constructor(
    private readonly base: KnowledgeBase,
    private readonly build: (kb: KnowledgeBase) => Retriever | null,
    private readonly opts: LiveKnowledgeOptions,
  ) {
    this.current = { kb: base, retriever: build(base) };
  }

  get kb(): KnowledgeBase {
    return this.current.kb;
  }

  get retriever(): Retriever | null {
    return this.current.retriever;
  }

  /** The past-incident documents in use. */
  get pastIncidents(): number {
    return this.current.kb.docs.filter(isPastIncidentDoc).length;
  }

  /** Reads the past incidents now; resolves with how many are in use. Never rejects: a failure keeps the previous set. */
  refresh(): Promise<number> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async load(): Promise<number> {
    let docs: KnowledgeDoc[];
    try {
      docs = await this.opts.source.load();
    } catch (e) {
      this.opts.log?.warn({ source: this.opts.source.where, err: toNightshiftError(e).message.slice(0, ERR_CHARS) }, 'past incidents: refresh failed, keeping the previous set');
      return this.pastIncidents;
    }
    const own = new Set(this.base.docs.map((d) => d.id));
    const past = docs.filter((d) => !own.has(d.id));
    const ids = past.map((d) => `${d.id}\n${d.body}`).join('\n\n');
    if (ids !== this.pastIds) {
      const kb = knowledgeBaseOf([...this.base.docs, ...past]);
      this.current = { kb, retriever: this.build(kb) };
      this.pastIds = ids;
      this.opts.log?.info({ source: this.opts.source.where, past_incidents: past.length, knowledge_docs: kb.docs.length }, 'past incidents with confirmed causes loaded');
    }
    return past.length;
  }

  /** The first read, then one every `refreshMs` (the timer does not keep the process alive). Idempotent. */
  start(): Promise<number> {
    if (this.opts.refreshMs > 0 && !this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
      this.timer.unref();
    }
    this.started ??= this.refresh();
    return this.started;
  }

  /** Resolves once the first read finished (started if it was not): a run waits for it, so that it sees the past. */
  ready(): Promise<number> {
    return this.start();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
