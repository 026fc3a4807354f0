import { Counters } from '../core/counters.js';
import type { Emitter } from '../core/stage.js';
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
  /**
   * Wall ms an idle claim (Infinity) with an as-of time holds back events written after it (see `advance`); past
   * it the claim is taken as it stands (its source's owner stopped saying anything: progress over order).
   */
  readonly idleHoldMs?: number;
}

interface Entry<T> {
  readonly ts: number;
  /** Order among events of one time that does not depend on arrival (absent in checkpoints before it: ''). */
  readonly tie?: string;
  readonly seq: number;
  /** Wall time the event was written (Kafka transport), for idle claims' as-of times; absent: not held by them. */
  readonly wall?: number;
  readonly item: T;
}

export class EventTimeAligner<T> {
  private heap: Entry<T>[] = [];
  private readonly sources = new Map<string, number>();
  /**
   * Sources that heartbeat (ingest says how far each raw partition has delivered): they are never taken for idle by
   * event-time distance, since a heartbeating source that is behind is behind for real (a backlog on a slower
   * instance) and its events are still coming. Only sources that never heartbeat fall under the idle rule.
   */
  private readonly beating = new Set<string>();
  /**
   * Idle sources (claimed Infinity) with the wall time their owner last found them empty. An event written after
   * that time may have a record of the idle source beside it that its owner has not seen yet: such an event waits
   * for the next idle claim, so sources that start delivering together are aligned from their first events.
   */
  private readonly idleAsOf = new Map<string, number>();
  /** The newest wall time (the events message's Kafka timestamp) among events taken. */
  private newestWall = -Infinity;
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

  /**
   * Takes one event; `emit` receives every event that becomes releasable, in event-time order, events of one time
   * ordered by `tie` and then by arrival. Arrival across sources depends on how the transport interleaves them
   * (Kafka partitions, several ingest instances); a tie drawn from the event itself (its kind and service) makes
   * the order the same whatever the transport, so `replay` and `run` feed perception the same sequence.
   */
  push(source: string, ts: number, item: T, emit: (item: T) => void, tie = '', wall = Number.NEGATIVE_INFINITY): void {
    const prev = this.sources.get(source);
    if (wall > this.newestWall) this.newestWall = wall;
    // A source that said it was idle (Infinity) delivers again: from now on it is where its events are.
    if (prev === undefined || ts > prev || prev === Number.POSITIVE_INFINITY) {
      if (prev === Number.POSITIVE_INFINITY) this.idleAsOf.delete(source);
      this.sources.delete(source);
      this.sources.set(source, ts);
      if (this.sources.size > this.opts.maxSources) this.forgetOldest();
    }
    if (ts > this.newest) this.newest = ts;
    if (ts < this.released) {
      this.late++;
      emit(item);
      return;
    }
    this.insert(Number.isFinite(wall) ? { ts, tie, seq: this.seq++, wall, item } : { ts, tie, seq: this.seq++, item });
    this.release(emit);
  }

  /**
   * A source says it has delivered everything up to `ts` (a heartbeat written into the partition by ingest): it
   * no longer holds back events up to that time. `asOf` (idle claims): the wall time at which its owner found it
   * empty; events written after it wait for a newer claim, at most `idleHoldMs`.
   */
  advance(source: string, ts: number, emit: (item: T) => void, asOf?: number): void {
    if (!this.beating.has(source)) {
      this.beating.add(source);
      if (this.beating.size > this.opts.maxSources) this.beating.delete(this.beating.values().next().value as string);
    }
    const prev = this.sources.get(source);
    // `ts` Infinity: caught up with nothing to deliver, so it holds nobody back in event time (and says nothing of
    // it); only events written after its as-of time wait, in wall time (`idleGate`).
    if (prev !== undefined && ts <= prev && prev !== Number.POSITIVE_INFINITY) return;
    if (ts === Number.POSITIVE_INFINITY && asOf !== undefined && Number.isFinite(asOf)) {
      if (!(asOf <= (this.idleAsOf.get(source) ?? Number.NEGATIVE_INFINITY))) this.idleAsOf.set(source, asOf);
    } else this.idleAsOf.delete(source);
    this.sources.delete(source);
    this.sources.set(source, ts);
    if (this.sources.size > this.opts.maxSources) this.forgetOldest();
    if (ts > this.newest && Number.isFinite(ts)) this.newest = ts;
    this.release(emit);
  }

  private forgetOldest(): void {
    const src = this.sources.keys().next().value as string;
    this.sources.delete(src);
    this.idleAsOf.delete(src);
  }

  /** Releases everything (end of a finite input). */
  flush(emit: (item: T) => void): void {
    while (this.heap.length > 0) this.emitTop(emit);
  }

  /** The time up to which every active source has delivered. */
  watermark(): number {
    const floor = this.newest - this.opts.idleMs;
    let wm = Infinity;
    for (const [src, t] of this.sources) if ((t >= floor || this.beating.has(src)) && t < wm) wm = t;
    return wm;
  }

  /**
   * The wall time up to which events may go as far as idle sources are concerned: the oldest as-of time among idle
   * claims that are still news (within `idleHoldMs` of the newest event written); Infinity when there is none.
   */
  private idleGate(): number {
    if (this.idleAsOf.size === 0) return Infinity;
    const hold = this.opts.idleHoldMs ?? 0;
    let gate = Infinity;
    for (const [src, asOf] of this.idleAsOf) {
      if (this.sources.get(src) !== Number.POSITIVE_INFINITY || this.newestWall - asOf > hold) continue;
      if (asOf < gate) gate = asOf;
    }
    return gate;
  }

  private release(emit: (item: T) => void): void {
    const wm = this.watermark();
    const gate = this.idleGate();
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      const due = top.ts <= wm && (top.wall ?? Number.NEGATIVE_INFINITY) <= gate;
      if (!due && this.heap.length <= this.opts.maxBuffered) break;
      if (!due) this.forced++;
      this.emitTop(emit);
    }
  }

  private emitTop(emit: (item: T) => void): void {
    const top = this.pop();
    if (top.ts > this.released) this.released = top.ts;
    emit(top.item);
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    if (a.ts !== b.ts) return a.ts < b.ts;
    const ta = a.tie ?? '';
    const tb = b.tie ?? '';
    if (ta !== tb) return ta < tb;
    return a.seq < b.seq;
  }

  private insert(e: Entry<T>): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const hi = h[i]!;
      const hp = h[p]!;
      if (!this.less(hi, hp)) break;
      h[i] = hp;
      h[p] = hi;
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
        const hi = h[i]!;
        h[i] = h[m]!;
        h[m] = hi;
        i = m;
      }
    }
    return top;
  }

  /** Plain state for a checkpoint (the heap array is already a valid heap). */
  state(): { heap: Entry<T>[]; sources: Array<[string, number]>; beating: string[]; idleAsOf?: Array<[string, number]>; newestWall?: number; seq: number; newest: number; released: number; late: number; forced: number } {
    return {
      heap: this.heap,
      sources: [...this.sources],
      beating: [...this.beating],
      idleAsOf: [...this.idleAsOf],
      newestWall: this.newestWall,
      seq: this.seq,
      newest: this.newest,
      released: this.released,
      late: this.late,
      forced: this.forced,
    };
  }

  load(s: ReturnType<EventTimeAligner<T>['state']>): void {
    this.heap = s.heap;
    this.sources.clear();
    for (const [k, v] of s.sources) this.sources.set(k, v);
    this.beating.clear();
    for (const k of s.beating ?? []) this.beating.add(k);
    this.idleAsOf.clear();
    for (const [k, v] of s.idleAsOf ?? []) this.idleAsOf.set(k, v);
    this.newestWall = s.newestWall ?? Number.NEGATIVE_INFINITY;
    this.seq = s.seq;
    this.newest = s.newest;
    this.released = s.released;
    this.late = s.late;
    this.forced = s.forced;
  }
}

/** The tie of an event among events of the same time: its kind and service, which both transports know alike. */
export function eventTie(e: { readonly kind: string; readonly service: string }): string {
  return `${e.kind}\u0000${e.service}`;
}

/**
 * The embedded transport's alignment: the same EventTimeAligner the Kafka perception lanes use, between ingest and
 * perception, with one source per event kind (a replay file's raw topics), so that both transports hand perception
 * events in the same order. Input order is the file's; a sorted file releases as it arrives, up to `idleMs` of event
 * time behind its sparsest source (changes, alerts), and everything at the end.
 */
export class EventAlignStage<E extends { readonly kind: string; readonly service: string; readonly ts: number }> {
  readonly name = 'align';
  readonly counters = new Counters();
  private readonly aligner: EventTimeAligner<E>;
  private out: Emitter<E> | null = null;
  // One release callback for the stage's life, not one closure per event.
  private readonly release = (x: E): void => {
    this.counters.sent++;
    this.out!.emit(x);
  };

  constructor(opts: { readonly idleMs: number; readonly maxBuffered: number }) {
    this.aligner = new EventTimeAligner<E>({ ...opts, maxSources: 64 });
  }

  process(e: E, out: Emitter<E>): void {
    this.counters.received++;
    this.out = out;
    this.aligner.push(e.kind, e.ts, e, this.release, eventTie(e));
  }

  flush(out: Emitter<E>): void {
    this.aligner.flush((x) => {
      this.counters.sent++;
      out.emit(x);
    });
  }
}
