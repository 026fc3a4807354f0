import type { Span } from '../schemas/events.js';
import type { BundleSeries } from '../schemas/incident.js';
import type { Signal } from '../schemas/signal.js';
import type { RedConfig } from './config.js';
import { RedBuckets, type Agg } from './red-buckets.js';
import { RedScopes } from './red-scopes.js';
export { redRef } from './red-scopes.js';
import type { Topology } from './topology.js';
import { LinkedMap } from '../core/linked-map.js';
import { RingBuffer } from '../core/ring.js';
import { LruMap, type KeepAlive } from './util.js';

export interface RedStats {
  spans: number;
  /** Unanswered CLIENT spans counted for a learned callee / for nobody / dropped because the buffer was full. */
  clientsAttributed: number;
  clientsUnattributed: number;
  clientsEvicted: number;
  edgesSeen: number;
  pendingResolved: number;
  pendingExpired: number;
  pendingEvicted: number;
  lateSpans: number;
  bucketScopeCap: number;
  spanIndexEvicted: number;
  scopes: number;
  scopesEvicted: number;
  /** Buckets in which most scopes fell silent at once: a feed gap, no zero rates judged. */
  feedGaps: number;
}

interface PendingChild {
  readonly parentKey: string;
  readonly span: Span;
  /** Watermark when it started waiting (FIFO order is then expiry order). */
  readonly since: number;
}

/**
 * RED (rate, errors, duration) from spans, per service and per call edge, in event-time buckets.
 *
 * - Service scope: SERVER and CONSUMER spans of the service; a service that has never sent a SERVER span (no span
 *   kinds) is measured on its UNSPECIFIED spans instead.
 * - Edge scope caller -> callee: learned from a span whose parent span belongs to another service; measured on that
 *   child span (the callee's side of the call). Signals of an edge carry `service` = caller (the observer of the
 *   call) and `peer` = callee (the one that is slow or failing). Learned edges are added to the topology.
 * - Children usually end, and so arrive, before their parent: a child whose parent is unknown waits (bounded count,
 *   bounded event time) for the parent; when the parent never comes the child counts for its service only.
 * - Client edge caller -> callee: the caller's CLIENT spans, once a child span of the callee answers them. A delay on
 *   the network between two services shows only here (the callee's own spans stay fast). Signals carry
 *   `side: 'client'` (the edge scope above: `side: 'server'`).
 * - A CLIENT span that no SERVER span answers (the callee is down) counts for the client edge to the callee that
 *   answered the caller's calls of the same name before, if that callee is unambiguous.
 */
export class RedPerception {
  /**
   * `trace/span` -> service, FIFO-bounded: `spanOrder` holds the keys in insertion order, so evicting the oldest is
   * O(1) (a Map used as the queue costs a step per deleted entry, 36 us an insert at 200k entries).
   */
  private readonly spanIndex = new Map<string, string>();
  private readonly spanOrder: RingBuffer<string>;
  /** Children waiting for a parent, in arrival order; `byParent` indexes them. */
  private readonly pending = new LinkedMap<string, PendingChild>();
  private readonly byParent = new Map<string, string[]>();
  /** CLIENT spans not answered yet by a SERVER child, in arrival order (bounded by `maxPending`). */
  private readonly clients = new LinkedMap<string, PendingChild>();
  private readonly peers: PeerNames;
  private readonly buckets: RedBuckets;
  private readonly scopes: RedScopes;
  /** Services that send SERVER spans (bounded like scopes). */
  private readonly sawServer = new Set<string>();
  private watermark = 0;
  private readonly st = {
    spans: 0,
    edgesSeen: 0,
    pendingResolved: 0,
    pendingExpired: 0,
    pendingEvicted: 0,
    spanIndexEvicted: 0,
    clientsAttributed: 0,
    clientsUnattributed: 0,
    clientsEvicted: 0,
  };

  constructor(
    private readonly cfg: RedConfig,
    private readonly topology: Topology,
    keepAlive?: KeepAlive,
  ) {
    this.buckets = new RedBuckets(cfg.bucketMs, cfg.maxScopes);
    this.scopes = new RedScopes(cfg, keepAlive);
    this.peers = new PeerNames(cfg.maxScopes * 4);
    this.spanOrder = new RingBuffer(cfg.maxSpanIndex);
  }

  /** Takes one span; returns signals of buckets the advanced watermark closed. */
  observe(span: Span): Signal[] {
    this.st.spans++;
    if (span.ts > this.watermark) this.watermark = span.ts;
    const key = spanKey(span.trace_id, span.span_id);
    this.index(key, span.service);

    if ((span.span_kind === 'server' || span.span_kind === 'consumer') && !this.sawServer.has(span.service)) {
      if (this.sawServer.size < this.cfg.maxScopes) this.sawServer.add(span.service);
    }
    const measured =
      span.span_kind === 'server' || span.span_kind === 'consumer' || (span.span_kind === 'unspecified' && !this.sawServer.has(span.service));
    if (measured) this.buckets.add(span.ts, `s\u0000${span.service}`, span);

    if (span.parent_span_id !== undefined) {
      const parentKey = spanKey(span.trace_id, span.parent_span_id);
      const parentService = this.spanIndex.get(parentKey);
      if (parentService !== undefined) {
        const client = this.clients.get(parentKey);
        if (client && parentService !== span.service) {
          this.clients.delete(parentKey);
          this.peers.learn(parentService, client.span.name, span.service);
          this.clientEdge(client.span, span.service, span);
        }
        this.edge(parentService, span);
      } else this.wait(key, parentKey, span);
    }
    let answered = false;
    const waiting = this.byParent.get(key);
    if (waiting) {
      this.byParent.delete(key);
      for (const childKey of waiting) {
        const p = this.pending.get(childKey);
        if (!p) continue;
        this.pending.delete(childKey);
        this.st.pendingResolved++;
        if (p.span.service !== span.service) {
          // A CLIENT span answered by several children (retries) is one call: measured once.
          if (span.span_kind === 'client' && !answered) {
            this.peers.learn(span.service, span.name, p.span.service);
            this.clientEdge(span, p.span.service, p.span);
          }
          answered = true;
        }
        this.edge(span.service, p.span);
      }
    }
    if (span.span_kind === 'client' && !answered) this.awaitAnswer(key, span);
    return this.advance(this.watermark);
  }

  /** A CLIENT span with no answer yet: if none comes (the callee is down), it is judged on its own. */
  private awaitAnswer(key: string, span: Span): void {
    if (this.clients.has(key)) return;
    if (this.clients.size >= this.cfg.maxPending) {
      const oldest = this.clients.oldestKey();
      if (oldest !== undefined) this.clients.delete(oldest);
      this.st.clientsEvicted++;
    }
    this.clients.set(key, { parentKey: key, span, since: this.watermark });
  }

  /**
   * A CLIENT span nobody answered (no SERVER child within `pendingMs`): when earlier answered calls of the same
   * caller and span name always went to one callee, it counts for that edge (this is how a datastore outage, which
   * leaves only the callers' failed CLIENT spans, shows as errors on caller -> datastore).
   */
  private unanswered(span: Span): void {
    const callee = this.peers.callee(span.service, span.name);
    if (callee === undefined) {
      this.st.clientsUnattributed++;
      return;
    }
    this.st.clientsAttributed++;
    // The callee's side never answered: only the caller's CLIENT span measures the call.
    this.clientEdge(span, callee);
  }

  /**
   * The caller's view of a call: its CLIENT span, bucketed on the client edge caller -> callee. The callee's own
   * spans miss a delay on the network between the two (and time spent queued in the caller); this does not. With the
   * callee's answering span, the call's network time (client minus server duration) is bucketed too.
   */
  private clientEdge(client: Span, callee: string, answer?: Span): void {
    if (client.service === callee) return;
    this.buckets.add(client.ts, `c\u0000${client.service}\u0000${callee}`, client);
    if (answer !== undefined && this.cfg.networkTime && (answer.span_kind === 'server' || answer.span_kind === 'unspecified')) {
      this.buckets.addValue(client.ts, `g\u0000${client.service}\u0000${callee}`, Math.max(0, client.duration_ms - answer.duration_ms), false);
    }
  }

  private index(key: string, service: string): void {
    if (this.spanIndex.has(key)) return;
    // Keys leave the index only here, so the ring and the Map hold the same keys in the same order.
    const oldest = this.spanOrder.push(key);
    if (oldest !== undefined) {
      this.spanIndex.delete(oldest);
      this.st.spanIndexEvicted++;
    }
    this.spanIndex.set(key, service);
  }

  private wait(childKey: string, parentKey: string, span: Span): void {
    if (this.pending.has(childKey)) return;
    if (this.pending.size >= this.cfg.maxPending) {
      const oldest = this.pending.oldestKey();
      if (oldest !== undefined) this.unwait(oldest);
      this.st.pendingEvicted++;
    }
    this.pending.set(childKey, { parentKey, span, since: this.watermark });
    const list = this.byParent.get(parentKey);
    if (list) list.push(childKey);
    else this.byParent.set(parentKey, [childKey]);
  }

  private unwait(childKey: string): void {
    const p = this.pending.get(childKey);
    if (!p) return;
    this.pending.delete(childKey);
    const list = this.byParent.get(p.parentKey);
    if (!list) return;
    const rest = list.filter((k) => k !== childKey);
    if (rest.length === 0) this.byParent.delete(p.parentKey);
    else this.byParent.set(p.parentKey, rest);
  }

  private edge(caller: string, child: Span): void {
    if (caller === child.service) return;
    this.st.edgesSeen++;
    this.topology.learn(caller, child.service);
    this.buckets.add(child.ts, `e\u0000${caller}\u0000${child.service}`, child);
  }

  /** Expires waiting children and closes buckets whose end plus grace the watermark passed. */
  advance(watermark: number): Signal[] {
    if (watermark > this.watermark) this.watermark = watermark;
    // Oldest first (arrival order is expiry order), so each loop stops at the first entry still waiting.
    for (let k = this.pending.oldestKey(); k !== undefined; k = this.pending.oldestKey()) {
      if (this.watermark - (this.pending.get(k) as PendingChild).since <= this.cfg.pendingMs) break;
      this.unwait(k);
      this.st.pendingExpired++;
    }
    for (let k = this.clients.oldestKey(); k !== undefined; k = this.clients.oldestKey()) {
      const c = this.clients.get(k) as PendingChild;
      if (this.watermark - c.since <= this.cfg.pendingMs) break;
      this.clients.delete(k);
      this.unanswered(c.span);
    }
    return this.closeUpTo(this.watermark - this.cfg.graceMs);
  }

  /** End of input: close every bucket that is complete (its end <= watermark); a partial last bucket is discarded, its rate would look like a collapse. */
  flush(): Signal[] {
    return this.closeUpTo(this.watermark);
  }

  private closeUpTo(t: number): Signal[] {
    const out: Signal[] = [];
    this.buckets.closeUpTo(t, this.cfg.zeroFeedBuckets, (bucket: number, aggs: ReadonlyMap<string, Agg>) => {
      out.push(...this.scopes.feed(bucket, this.cfg.bucketMs, aggs));
    });
    return out;
  }

  /** Bundle view of a RED signal's series (its ref). */
  seriesInfo(ref: string): BundleSeries | undefined {
    return this.scopes.seriesInfo(ref);
  }

  /** Display details of a RED series (unit, points). */
  seriesDetail(ref: string): ReturnType<RedScopes['seriesDetail']> {
    return this.scopes.seriesDetail(ref);
  }

  /** Latest RED figures of a call edge. */
  edgeFigures(caller: string, callee: string): ReturnType<RedScopes['edgeFigures']> {
    return this.scopes.edgeFigures(caller, callee);
  }

  stats(): RedStats {
    return {
      ...this.st,
      lateSpans: this.buckets.late,
      bucketScopeCap: this.buckets.scopeCapped,
      scopes: this.scopes.size,
      scopesEvicted: this.scopes.evicted,
      feedGaps: this.scopes.feedGaps,
    };
  }
}

/**
 * (caller, CLIENT span name) -> the callee that answered such calls. A name seen answered by two callees is
 * ambiguous (null) and never used. LRU-bounded.
 */
class PeerNames {
  private readonly map: LruMap<string, string | null>;
  constructor(capacity: number) {
    this.map = new LruMap(capacity);
  }
  learn(caller: string, name: string, callee: string): void {
    const k = `${caller}\u0000${name}`;
    const prev = this.map.get(k);
    if (prev === undefined) this.map.set(k, callee);
    else if (prev !== null && prev !== callee) this.map.set(k, null);
  }
  callee(caller: string, name: string): string | undefined {
    return this.map.peek(`${caller}\u0000${name}`) ?? undefined;
  }
}

function spanKey(trace: string, span: string): string {
  return `${trace}/${span}`;
}
