/**
 * Event-time alignment of a partition fed by several sources (every raw topic partition, through possibly several
 * ingest instances that progress at different speeds). Kafka keeps order within a source, not across them, and a
 * source that runs ahead would push perception's watermark past symptoms another source has not delivered yet.
 *
 * Events wait in a min-heap by event time and are released once every active source has reached their time: the
 * watermark is the smallest newest-timestamp among sources within `idleMs` (event time) of the newest event overall;
 * a source further behind (sparse, stalled, or gone) stops holding the others back. An event older than what was
 * already released is late and goes through at once. Release depends only on the sequence of events, never on the
 * clock, so reprocessing a partition from a checkpoint releases exactly as before.
 *
 * Bound: `maxBuffered` events; when full the oldest is released early (counted in `forced`).
 */
export interface AlignerOptions {
  readonly idleMs: number;
  readonly maxBuffered: number;
  /** Sources remembered; beyond it the one seen longest ago is forgotten. */
  readonly maxSources: number;
}

interface Entry<T> {
  readonly ts: number;
  readonly seq: number;
  readonly item: T;
}

export class EventTimeAligner<T> {
  private heap: Entry<T>[] = [];
  private readonly sources = new Map<string, number>();
  private seq = 0;
  private newest = -Infinity;
  private released = -Infinity;
  late = 0;
  forced = 0;

  constructor(private readonly opts: AlignerOptions) {
    if (!(opts.maxBuffered >= 1)) throw new RangeError('maxBuffered must be >= 1');
  }

  get size(): number {
    return this.heap.length;
  }

  /** Takes one event; `emit` receives every event that becomes releasable, in event-time order. */
  push(source: string, ts: number, item: T, emit: (item: T) => void): void {
    const prev = this.sources.get(source);
    if (prev === undefined || ts > prev) {
      this.sources.delete(source);
      this.sources.set(source, ts);
      if (this.sources.size > this.opts.maxSources) this.sources.delete(this.sources.keys().next().value as string);
    }
    if (ts > this.newest) this.newest = ts;
    if (ts < this.released) {
      this.late++;
      emit(item);
      return;
    }
    this.insert({ ts, seq: this.seq++, item });
    this.release(emit);
  }

  /**
   * A source says it has delivered everything up to `ts` (a heartbeat written into the partition by ingest): it
   * no longer holds back events up to that time.
   */
  advance(source: string, ts: number, emit: (item: T) => void): void {
    const prev = this.sources.get(source);
    if (prev !== undefined && ts <= prev) return;
    this.sources.delete(source);
    this.sources.set(source, ts);
    if (this.sources.size > this.opts.maxSources) this.sources.delete(this.sources.keys().next().value as string);
    if (ts > this.newest) this.newest = ts;
    this.release(emit);
  }

  /** Releases everything (end of a finite input). */
  flush(emit: (item: T) => void): void {
    while (this.heap.length > 0) this.emitTop(emit);
  }

  /** The time up to which every active source has delivered. */
  watermark(): number {
    const floor = this.newest - this.opts.idleMs;
    let wm = Infinity;
    for (const t of this.sources.values()) if (t >= floor && t < wm) wm = t;
    return wm;
  }

  private release(emit: (item: T) => void): void {
    const wm = this.watermark();
    while (this.heap.length > 0 && (this.heap[0]!.ts <= wm || this.heap.length > this.opts.maxBuffered)) {
      if (this.heap[0]!.ts > wm) this.forced++;
      this.emitTop(emit);
    }
  }

  private emitTop(emit: (item: T) => void): void {
    const top = this.pop();
    if (top.ts > this.released) this.released = top.ts;
    emit(top.item);
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    return a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq);
  }

  private insert(e: Entry<T>): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry<T> {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  /** Plain state for a checkpoint (the heap array is already a valid heap). */
  state(): { heap: Entry<T>[]; sources: Array<[string, number]>; seq: number; newest: number; released: number; late: number; forced: number } {
    return { heap: this.heap, sources: [...this.sources], seq: this.seq, newest: this.newest, released: this.released, late: this.late, forced: this.forced };
  }

  load(s: ReturnType<EventTimeAligner<T>['state']>): void {
    this.heap = s.heap;
    this.sources.clear();
    for (const [k, v] of s.sources) this.sources.set(k, v);
    this.seq = s.seq;
    this.newest = s.newest;
    this.released = s.released;
    this.late = s.late;
    this.forced = s.forced;
  }
}
