import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import { stableId } from '../../core/hash.js';
import { LinkedMap } from '../../core/linked-map.js';
import { generalizeToken, globMatch } from './generalize.js';
import { isPlaceholder, MaskCache, maskTokens, tokenize, WILDCARD } from './mask.js';
import { PrefixTree, type TreeCluster } from './tree.js';

/**
 * Online log template miner: Drain's fixed-depth prefix tree, with changes that matter for accuracy and speed:
 *  - masking before the tree keeps punctuation (`uid=<*>,`), folds multi-token dates, masks key=value values that
 *    carry a digit or a boolean, and folds runs of variables (`delete blk_1 blk_2` -> `delete <*>`);
 *  - an exact-text index answers repeated shapes without touching the tree (most messages, once warm);
 *  - the search follows both the exact child and the `<*>` child at every level (Drain follows one, and misses
 *    templates that moved to the wildcard branch);
 *  - generalization keeps shared prefix/suffix punctuation (`MININT-<*>`), and two clusters whose templates become
 *    equal are merged, so one template text is one cluster and one id;
 *  - a hard cap on clusters with a documented eviction (see `evict`).
 *
 * Memory per instance: at most maxTemplates clusters of at most maxTokens + 1 tokens of at most maxTokenChars
 * characters (twice: tokens and text), a tree of at most maxTemplates x (depth - 1) nodes, and three memos of fixed
 * size that only save work (the mask cache, the line memo and the route memo: see MASK_CACHE_MAX, LINE_CACHE_MAX and
 * ROUTE_CACHE_MAX).
 *
 * Template text: tokens joined by one space; variables are `<*>` (config placeholder 'generic', the default and the
 * Loghub convention) or typed (`<NUM>`, `<IP>`, ...; see TYPED_PLACEHOLDER in mask.ts) with placeholder 'typed'.
 * Learned variables (two different words at one position) are always `<*>`.
 */

export const MinerConfig = z.strictObject({
  /** Tree depth as in Drain: the length level, then depth - 2 routing tokens, then the leaf. */
  depth: z.number().int().min(3).max(8).default(4),
  /**
   * Share of equal constants, over the template positions that are not variables, for a message to join a
   * cluster (Drain divides by all positions; not counting variables lets a high threshold separate `VM Started`
   * from `VM Paused` yet still admit messages to well-generalized templates). Tuned on Loghub-2k: 0.7-0.85 is a
   * plateau (grouping accuracy 0.948-0.955), 0.9 falls off. Leave-one-system-out over the ten
   * (bench/results/templates-loso.json) picks 0.85 in 9 of 10 folds, but its held-out mean GA is 0.947 against the
   * default's 0.949 (0.85's lead on all ten is OpenStack alone), so 0.75 stays.
   */
  simThreshold: z.number().min(0).max(1).default(0.75),
  /** Children per tree node; beyond it new tokens route to the `<*>` child. */
  maxChildren: z.number().int().min(2).max(10_000).default(100),
  /** Clusters per miner instance. When full, a new cluster evicts one (see `evict`). */
  maxTemplates: z.number().int().min(1).max(1_000_000).default(5000),
  /** Tokens kept per message; the rest becomes one trailing `<*>`. */
  maxTokens: z.number().int().min(1).max(4096).default(256),
  /** Longer tokens are variables by construction (a blob, a stack frame list): they become `<*>` unread. */
  maxTokenChars: z.number().int().min(1).max(65_536).default(256),
  /** Characters of a message that are read at all: a 1 MB line costs at most this. */
  maxMessageChars: z.number().int().min(1).max(10_000_000).default(32_768),
  /** How many least-recently-used clusters eviction considers (bounded work per eviction). */
  evictionScan: z.number().int().min(1).max(1024).default(16),
  /**
   * When the prefix tree has no leaf for a message, search the subtree where the descent stopped if it holds at
   * most this many clusters. 0 (the default) routes like Drain: leading tokens are structure. Measured on
   * Loghub-2k, 64 costs 6 points of grouping accuracy (it merges `"GET <*>"` with `"POST <*>"`), but it is the
   * right choice for logs whose second token is a name (`user alice logged in`).
   */
  fallbackLimit: z.number().int().min(0).max(10_000).default(0),
  placeholder: z.enum(['generic', 'typed']).default('generic'),
  /**
   * Fold a run of whole-token variables into one (`delete blk_1 blk_2 blk_3` -> `delete <*>`): lists of values
   * have varying length, and without folding every length is its own template.
   */
  collapseRuns: z.boolean().default(true),
});
export type MinerConfig = z.infer<typeof MinerConfig>;

export interface MatchResult {
  /** stableId('tpl', template): the same template text has the same id in every process. */
  readonly id: string;
  readonly template: string;
  readonly isNew: boolean;
  readonly count: number;
  /** Set when this message generalized an existing template (its text, hence its id, changed). */
  readonly previousId?: string;
}

export interface TemplateInfo {
  readonly id: string;
  readonly template: string;
  readonly count: number;
}

interface Cluster extends TreeCluster {
  id: string;
  tokens: string[];
  text: string;
  count: number;
  /** Creation order: the stable order of templates(). */
  readonly seq: number;
}

const MASK_CACHE_MAX = 2048;
/**
 * Exact-line memo (raw message -> prepared template text): logs repeat whole lines often (on Loghub-2k, 15-85% of
 * lines are exact repeats of an earlier line in 9 of 10 systems), and a hit skips tokenizing and masking. Bound:
 * LINE_CACHE_MAX entries of a line of at most LINE_CACHE_MAX_CHARS characters and its prepared text (at most 3 times
 * as long: `<*>` for a 1-character value), so at most ~1 MiB per miner and ~100 KiB for typical lines; longer lines
 * are not memoized; when full it is cleared. Preparing is a pure function of the message, so the memo cannot change
 * results. Sizes: on Loghub-2k, 512 entries gave the same throughput as 4096, within measurement noise.
 */
export const LINE_CACHE_MAX = 512;
export const LINE_CACHE_MAX_CHARS = 256;
/**
 * Route memo (prepared text -> cluster it joined): once a template has generalized, messages of that shape no longer
 * hit the exact-text index, and without the memo each would search the tree again. Bound: ROUTE_CACHE_MAX entries of
 * a text of at most ROUTE_TEXT_MAX_CHARS characters (longer texts are not memoized) and a reference (~0.5 MiB per
 * miner at most); when full it is cleared. An entry whose cluster was evicted or merged is ignored (checked against
 * the live index).
 */
export const ROUTE_CACHE_MAX = 512;
export const ROUTE_TEXT_MAX_CHARS = 512;

const SnapshotCluster = z.object({
  tokens: z.array(z.string().max(1_000_000)).min(1),
  count: z.number().int().positive(),
  seq: z.number().int().nonnegative(),
  path: z.array(z.string()).min(1),
});
const Snapshot = z.object({
  kind: z.literal('nightshift.template-miner'),
  version: z.literal(1),
  config: MinerConfig,
  nextSeq: z.number().int().nonnegative(),
  /** Least recently used first: the eviction order. */
  clusters: z.array(SnapshotCluster),
});

/** In place: a token that is a bare placeholder absorbs following tokens that start with one (`<*> <*>"` -> `<*>"`). */
function collapseRuns(tokens: string[]): void {
  let w = 0;
  for (let r = 0; r < tokens.length; r++) {
    const t = tokens[r] as string;
    if (w > 0 && tokens[w - 1] === WILDCARD && t.startsWith(WILDCARD) && t.indexOf(WILDCARD, 3) < 0) {
      tokens[w - 1] = t;
    } else {
      tokens[w++] = t;
    }
  }
  tokens.length = w;
}

export class TemplateMiner {
  readonly config: MinerConfig;
  private readonly tree: PrefixTree<Cluster>;
  /**
   * All clusters by id, in least-recently-used-first order (a touch moves one to the end). A LinkedMap, not a Map
   * re-inserted on every line: eviction scans from the least recently used end, where a Map would first step over
   * every entry deleted since its last rehash.
   */
  private readonly byId = new LinkedMap<string, Cluster>();
  /** Template text -> cluster: the exact fast path, and the guard that one text is one cluster. */
  private readonly byText = new Map<string, Cluster>();
  private nextSeq = 0;
  /**
   * Raw token -> masked token, for tokens that take the slow path (`src:`, `uid=0`). Masking is a pure function, so
   * the cache cannot change results. Bound: MASK_CACHE_MAX entries of at most maxTokenChars each; when full it is
   * cleared (cheaper than LRU bookkeeping, and refills within a few hundred messages).
   */
  private readonly maskCache = new MaskCache(MASK_CACHE_MAX);
  private readonly lineCache = new Map<string, string>();
  /** Prepared text of a message that is not itself a template -> the cluster it joined (see ROUTE_CACHE_MAX). */
  private readonly routes = new Map<string, Cluster>();

  constructor(config?: Partial<z.input<typeof MinerConfig>>) {
    const parsed = MinerConfig.safeParse(config ?? {});
    if (!parsed.success) {
      throw new NightshiftError('CONFIG_INVALID', `template miner config: ${z.prettifyError(parsed.error)}`);
    }
    this.config = parsed.data;
    this.tree = new PrefixTree<Cluster>(this.config.depth, this.config.maxChildren);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Tokenizes and masks a message, within the configured caps. */
  private prepare(message: string): string[] {
    if (typeof message !== 'string') {
      throw new NightshiftError('SCHEMA_MISMATCH', `template miner: message must be a string, got ${typeof message}`);
    }
    const cfg = this.config;
    const text = message.length > cfg.maxMessageChars ? message.slice(0, cfg.maxMessageChars) : message;
    const { tokens, overflow } = tokenize(text, cfg.maxTokens);
    for (let i = 0; i < tokens.length; i++) {
      if ((tokens[i] as string).length > cfg.maxTokenChars) tokens[i] = WILDCARD;
    }
    const masked = maskTokens(tokens, cfg.placeholder, this.maskCache);
    if (cfg.collapseRuns) collapseRuns(masked);
    // An empty message is a template of its own (a blank line is a real, if useless, event type).
    if (masked.length === 0) masked.push('');
    if (overflow || text.length < message.length) masked.push(WILDCARD);
    return masked;
  }

  add(message: string): MatchResult {
    const cacheable = typeof message === 'string' && message.length <= LINE_CACHE_MAX_CHARS;
    let text = cacheable ? this.lineCache.get(message) : undefined;
    let tokens: string[] | null = null;
    if (text === undefined) {
      tokens = this.prepare(message);
      text = tokens.join(' ');
      if (cacheable) {
        if (this.lineCache.size >= LINE_CACHE_MAX) this.lineCache.clear();
        this.lineCache.set(message, text);
      }
    }
    const exact = this.byText.get(text);
    if (exact !== undefined) {
      exact.count++;
      this.touch(exact);
      return { id: exact.id, template: exact.text, isNew: false, count: exact.count };
    }
    // Prepared tokens never contain a space (they come from splitting on whitespace), so the text splits back exactly.
    if (tokens === null) tokens = text.split(' ');
    const routed = this.routes.get(text);
    // A shape seen before goes back to the cluster it joined, while that cluster lives (absorbing it again is a no-op
    // unless the template should generalize). Without the memo a newer cluster could win a tie at similarity 1.
    const best = routed !== undefined && this.byId.get(routed.id) === routed ? routed : this.bestMatch(tokens);
    const result = best !== null ? this.absorb(best, tokens) : this.create(tokens, text);
    const home = this.byId.get(result.id);
    if (home !== undefined && text.length <= ROUTE_TEXT_MAX_CHARS) {
      if (this.routes.size >= ROUTE_CACHE_MAX) this.routes.clear();
      this.routes.set(text, home);
    }
    return result;
  }

  match(message: string): MatchResult | null {
    const tokens = this.prepare(message);
    const c = this.byText.get(tokens.join(' ')) ?? this.bestMatch(tokens);
    return c === null || c === undefined ? null : { id: c.id, template: c.text, isNew: false, count: c.count };
  }

  templates(): TemplateInfo[] {
    return [...this.byId.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((c) => ({ id: c.id, template: c.text, count: c.count }));
  }

  private touch(c: Cluster): void {
    // As a Map's delete-then-set would: an absent cluster is (re)inserted last.
    if (!this.byId.touch(c.id)) this.byId.set(c.id, c);
  }

  /** Similarity: equal constants over the non-variable positions (see simThreshold); ties: more variables, then older. */
  private bestMatch(tokens: readonly string[]): Cluster | null {
    let best: Cluster | null = null;
    let bestSim = -1;
    let bestParams = -1;
    const n = tokens.length;
    for (const leaf of this.tree.candidates(tokens, this.config.fallbackLimit)) {
      for (const c of leaf) {
        let sim = 0;
        let params = 0;
        const t = c.tokens;
        for (let i = 0; i < n; i++) {
          const a = t[i] as string;
          const b = tokens[i] as string;
          if (a === b) {
            if (a === WILDCARD) params++;
            else sim++;
          } else if (a === WILDCARD || isPlaceholder(a)) {
            params++;
          } else if (a.includes(WILDCARD) && globMatch(a, b)) {
            params++;
          }
        }
        const s = sim / Math.max(1, n - params);
        // Ties go to the older cluster (by creation order, not leaf order, which a restore does not preserve).
        const better =
          s > bestSim ||
          (s === bestSim && (params > bestParams || (params === bestParams && best !== null && c.seq < best.seq)));
        if (better) {
          best = c;
          bestSim = s;
          bestParams = params;
        }
      }
    }
    return best !== null && bestSim >= this.config.simThreshold ? best : null;
  }

  private absorb(c: Cluster, tokens: readonly string[]): MatchResult {
    let changed = false;
    for (let i = 0; i < tokens.length; i++) {
      const a = c.tokens[i] as string;
      const b = tokens[i] as string;
      if (a !== b) {
        const g = generalizeToken(a, b);
        if (g !== a) {
          c.tokens[i] = g;
          changed = true;
        }
      }
    }
    c.count++;
    if (!changed) {
      this.touch(c);
      return { id: c.id, template: c.text, isNew: false, count: c.count };
    }
    const previousId = c.id;
    this.byId.delete(c.id);
    this.byText.delete(c.text);
    c.text = c.tokens.join(' ');
    c.id = stableId('tpl', c.text);
    const twin = this.byText.get(c.text);
    if (twin !== undefined) {
      // Two clusters became the same template: keep the one that already had this text (and id).
      this.tree.remove(c);
      twin.count += c.count;
      this.touch(twin);
      return { id: twin.id, template: twin.text, isNew: false, count: twin.count, previousId };
    }
    this.byId.set(c.id, c);
    this.byText.set(c.text, c);
    if (this.tree.misrouted(c)) {
      // A routing token became a variable: move the cluster to where the next such message will look first.
      this.tree.remove(c);
      this.tree.insert(c);
    }
    return { id: c.id, template: c.text, isNew: false, count: c.count, previousId };
  }

  private create(tokens: string[], text: string): MatchResult {
    if (this.byId.size >= this.config.maxTemplates) this.evict();
    const c: Cluster = { id: stableId('tpl', text), tokens, text, count: 1, seq: this.nextSeq++, path: [] };
    this.tree.insert(c);
    this.byId.set(c.id, c);
    this.byText.set(text, c);
    return { id: c.id, template: text, isNew: true, count: 1 };
  }

  /**
   * Full: among the `evictionScan` least-recently-used clusters, evict the one seen least often (ties: the least
   * recently used). Frequent templates stay, because they are touched often; a burst of one-off messages replaces
   * other one-offs. Bounded work: at most `evictionScan` clusters are looked at.
   */
  private evict(): void {
    let victim: Cluster | null = null;
    let k = 0;
    for (const c of this.byId.values()) {
      if (victim === null || c.count < victim.count) victim = c;
      if (++k >= this.config.evictionScan || victim.count === 1) break;
    }
    if (victim === null) return;
    this.byId.delete(victim.id);
    this.byText.delete(victim.text);
    this.tree.remove(victim);
  }

  toJSON(): unknown {
    return {
      kind: 'nightshift.template-miner',
      version: 1,
      config: this.config,
      nextSeq: this.nextSeq,
      clusters: [...this.byId.values()].map((c) => ({
        tokens: [...c.tokens],
        count: c.count,
        seq: c.seq,
        path: [...c.path],
      })),
    };
  }

  static fromJSON(snapshot: unknown): TemplateMiner {
    const parsed = Snapshot.safeParse(snapshot);
    if (!parsed.success) {
      throw new NightshiftError('SCHEMA_MISMATCH', `template miner snapshot: ${z.prettifyError(parsed.error)}`);
    }
    const s = parsed.data;
    const m = new TemplateMiner(s.config);
    if (s.clusters.length > s.config.maxTemplates) {
      throw new NightshiftError('SCHEMA_MISMATCH', 'template miner snapshot: more clusters than maxTemplates');
    }
    for (const sc of s.clusters) {
      const text = sc.tokens.join(' ');
      const badPath = sc.path.length > s.config.depth - 1 || sc.path[0] !== String(sc.tokens.length);
      if (m.byText.has(text) || sc.seq >= s.nextSeq || badPath) {
        throw new NightshiftError('SCHEMA_MISMATCH', 'template miner snapshot: inconsistent cluster');
      }
      const c: Cluster = { id: stableId('tpl', text), tokens: [...sc.tokens], text, count: sc.count, seq: sc.seq, path: [] };
      // The stored path, not a recomputed one: routing depends on the tree's history (full nodes), and the restored
      // miner must place every cluster exactly where the original had it.
      m.tree.insertAt(c, sc.path);
      m.byId.set(c.id, c);
      m.byText.set(text, c);
    }
    m.nextSeq = s.nextSeq;
    return m;
  }
}
