/**
 * Okapi BM25 over a small corpus (a knowledge base of hundreds to a few thousand documents). The index is built
 * once; a query costs one pass over its distinct terms' postings.
 */

const STOP = new Set(
  'a an and are as at be by for from has have in is it its of on or that the this to was were will with not no into than then there these those when where which who why how what after before over under per via'.split(' '),
);

/** Lower-case word tokens; ids and names keep their dashes and underscores (payments-db, tpl_0a1b...). */
export function tokenize(text: string, maxTokens = 20_000): string[] {
  const out: string[] = [];
  const re = /[a-z0-9][a-z0-9_.-]*[a-z0-9]|[a-z0-9]/g;
  const lower = text.toLowerCase();
  for (let m = re.exec(lower); m !== null && out.length < maxTokens; m = re.exec(lower)) {
    const t = m[0];
    if (t.length > 64 || STOP.has(t)) continue;
    out.push(t);
    // Compound names also count by their parts: "payments-db" matches a query that says "payments" or "db".
    if (/[-_.]/.test(t)) for (const p of t.split(/[-_.]+/)) if (p.length > 1 && !STOP.has(p) && out.length < maxTokens) out.push(p);
  }
  return out;
}

export interface Bm25Options {
  readonly k1: number;
  readonly b: number;
}

export class Bm25Index {
  private readonly postings = new Map<string, Map<number, number>>();
  private readonly lengths: number[] = [];
  private avgLen = 0;

  constructor(
    docs: readonly string[],
    private readonly opts: Bm25Options = { k1: 1.2, b: 0.75 },
  ) {
    docs.forEach((text, i) => {
      const toks = tokenize(text);
      this.lengths.push(toks.length);
      for (const t of toks) {
        let p = this.postings.get(t);
        if (!p) {
          p = new Map();
          this.postings.set(t, p);
        }
        p.set(i, (p.get(i) ?? 0) + 1);
      }
    });
    this.avgLen = this.lengths.length === 0 ? 0 : this.lengths.reduce((a, b) => a + b, 0) / this.lengths.length;
  }

  get size(): number {
    return this.lengths.length;
  }

  /** Scores per document index for a query; documents sharing no term are absent. */
  score(query: string): Map<number, number> {
    const n = this.lengths.length;
    const scores = new Map<number, number>();
    const terms = [...new Set(tokenize(query, 2000))].sort();
    for (const t of terms) {
      const p = this.postings.get(t);
      if (!p) continue;
      const idf = Math.log(1 + (n - p.size + 0.5) / (p.size + 0.5));
      for (const [doc, tf] of p) {
        const len = this.lengths[doc] ?? 0;
        const norm = tf * (this.opts.k1 + 1) / (tf + this.opts.k1 * (1 - this.opts.b + (this.opts.b * len) / (this.avgLen || 1)));
        scores.set(doc, (scores.get(doc) ?? 0) + idf * norm);
      }
    }
    return scores;
  }
}
