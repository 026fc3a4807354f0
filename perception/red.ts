import type { Span } from '../schemas/events.js';
import type { BundleSeries } from '../schemas/incident.js';
import type { Signal } from '../schemas/signal.js';
import type { RedConfig } from './config.js';
import { RedBuckets, type Agg } from './red-buckets.js';
import { RedScopes } from './red-scopes.js';
export { redRef } from './red-scopes.js';
import type { Topology } from './topology.js';
import type { KeepAlive } from './util.js';

export interface RedStats {
  spans: number;
  edgesSeen: number;
  pendingResolved: number;
  pendingExpired: number;
  pendingEvicted: number;
  lateSpans: number;
  bucketScopeCap: number;
  spanIndexEvicted: number;
  scopes: number;
  scopesEvicted: number;
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
 */
export class RedPerception {
  /** `trace/span` -> service, FIFO-bounded. */
  private readonly spanIndex = new Map<string, string>();
  /** Children waiting for a parent, in arrival order; `byParent` indexes them. */
  private readonly pending = new Map<string, PendingChild>();
  private readonly byParent = new Map<string, string[]>();
  private readonly buckets: RedBuckets;
  private readonly scopes: RedScopes;
  /** Services that send SERVER spans (bounded like scopes). */
  private readonly sawServer = new Set<string>();
  private watermark = 0;
  private readonly st = { spans: 0, edgesSeen: 0, pendingResolved: 0, pendingExpired: 0, pendingEvicted: 0, spanIndexEvicted: 0 };

  constructor(
    private readonly cfg: RedConfig,
    private readonly topology: Topology,
    keepAlive?: KeepAlive,
  ) {
    this.buckets = new RedBuckets(cfg.bucketMs, cfg.maxScopes);
    this.scopes = new RedScopes(cfg, keepAlive);
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
      if (parentService !== undefined) this.edge(parentService, span);
      else this.wait(key, parentKey, span);
    }
    const waiting = this.byParent.get(key);
    if (waiting) {
      this.byParent.delete(key);
      for (const childKey of waiting) {
        const p = this.pending.get(childKey);
        if (!p) continue;
        this.pending.delete(childKey);
        this.st.pendingResolved++;
        this.edge(span.service, p.span);
      }
    }
    return this.advance(this.watermark);
  }

  private index(key: string, service: string): void {
    if (this.spanIndex.has(key)) return;
    if (this.spanIndex.size >= this.cfg.maxSpanIndex) {
      const oldest = this.spanIndex.keys().next();
      if (!oldest.done) this.spanIndex.delete(oldest.value);
      this.st.spanIndexEvicted++;
    }
    this.spanIndex.set(key, service);
  }

  private wait(childKey: string, parentKey: string, span: Span): void {
    if (this.pending.has(childKey)) return;
    if (this.pending.size >= this.cfg.maxPending) {
      const oldest = this.pending.keys().next();
      if (!oldest.done) this.unwait(oldest.value);
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
    for (const [k, p] of this.pending) {
      if (this.watermark - p.since <= this.cfg.pendingMs) break;
      this.unwait(k);
      this.st.pendingExpired++;
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

  stats(): RedStats {
    return {
      ...this.st,
      lateSpans: this.buckets.late,
      bucketScopeCap: this.buckets.scopeCapped,
      scopes: this.scopes.size,
      scopesEvicted: this.scopes.evicted,
    };
  }
}

function spanKey(trace: string, span: string): string {
  return `${trace}/${span}`;
}
