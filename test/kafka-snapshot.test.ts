import { describe, expect, it } from 'vitest';
import { ClassRegistry, encodeGraph, hydrateGraph } from '../core/snapshot.js';
import { EventTimeAligner } from '../pipeline/align.js';
import { OffsetTracker } from '../pipeline/kafka/offsets.js';
import { MemoryDeadLetters } from '../core/deadletter.js';
import { silentLogger } from '../core/log.js';
import { defaultIngestConfig } from '../ingest/config.js';
import { IngestStage } from '../ingest/stage.js';
import { learnedSummary, restorePerception, snapshotPerception } from '../perception/checkpoint.js';
import { createPerception, type PerceptionStage } from '../perception/stage.js';
import type { Event, IncidentBundle } from '../schemas/index.js';
import { simulate } from '../sim/index.js';

/** Unit tests of cluster mode's building blocks that need no broker: state snapshots, alignment, offset tracking. */
const deps = { log: silentLogger(), deadLetters: new MemoryDeadLetters() };

function simEvents(seed: number, hours: number): Event[] {
  const sim = simulate({ seed, hours, faults: 2 });
  const ing = new IngestStage(defaultIngestConfig(), deps);
  const events: Event[] = [];
  let line = 0;
  for (const r of sim.records) ing.process({ topic: r.topic, key: r.key, payload: r.payload, ts: r.ts, source: { line: ++line } }, { emit: (e) => events.push(e) });
  return events;
}

function feed(p: PerceptionStage, evs: readonly Event[]): IncidentBundle[] {
  const out: IncidentBundle[] = [];
  for (const e of evs) p.process(e, { emit: (b) => out.push(b) });
  return out;
}

describe('perception snapshots (perception/checkpoint.ts over core/snapshot.ts)', () => {
  it('a stage restored mid-stream into a fresh instance continues byte for byte like the original', () => {
    const events = simEvents(3, 3);
    expect(events.length).toBeGreaterThan(50_000);
    const whole = createPerception({}, deps);
    const expected = feed(whole, events);
    expect(expected.length).toBeGreaterThan(0);
    for (const cut of [0.3, 0.55]) {
      const at = Math.floor(events.length * cut);
      const first = createPerception({}, deps);
      const before = feed(first, events.slice(0, at));
      const snap = snapshotPerception(first);
      const restored = createPerception({}, deps);
      // Nothing learned yet, then the original's templates, series and edges before any new input.
      expect(learnedSummary(restored).templates).toBe(0);
      restorePerception(restored, snap);
      expect(learnedSummary(restored)).toEqual(learnedSummary(first));
      // The id memos are caches, kept out of the snapshot: the restored stage starts them empty and gets the same ids.
      const memoSize = (p: PerceptionStage, part: 'logs' | 'metrics'): number => (p as unknown as Record<string, { ids: { size: number } }>)[part]!.ids.size;
      expect(memoSize(first, 'logs')).toBeGreaterThan(0);
      expect(memoSize(first, 'metrics')).toBeGreaterThan(0);
      expect([memoSize(restored, 'logs'), memoSize(restored, 'metrics')]).toEqual([0, 0]);
      expect(learnedSummary(restored).templates).toBeGreaterThan(10);
      const after = feed(restored, events.slice(at));
      expect(JSON.stringify([...before, ...after])).toBe(JSON.stringify(expected));
      const f1: IncidentBundle[] = [];
      const f2: IncidentBundle[] = [];
      whole.flush({ emit: (b) => f1.push(b) });
      restored.flush({ emit: (b) => f2.push(b) });
      expect(JSON.stringify(f2)).toBe(JSON.stringify(f1));
    }
  }, 120_000);

  it('refuses a stage that already processed input, and a snapshot of another class', () => {
    const used = createPerception({}, deps);
    feed(used, simEvents(1, 2.5).slice(0, 500));
    const snap = snapshotPerception(used);
    expect(() => restorePerception(used, snap)).toThrow(/processed nothing/);
    const reg = new ClassRegistry();
    class A {
      x = 1;
    }
    class B {
      y = 2;
    }
    reg.register(A.prototype);
    reg.register(B.prototype);
    expect(() => hydrateGraph(new B(), encodeGraph(new A(), reg), reg)).toThrow(/snapshot root is A, expected B/);
  });

  it('names the class and path of anything it cannot snapshot', () => {
    class Unknown {
      v = 1;
    }
    class Holder {
      inner = { list: [new Unknown()] };
    }
    const reg = new ClassRegistry();
    reg.register(Holder.prototype);
    expect(() => encodeGraph(new Holder(), reg)).toThrow(/class Unknown is not registered for snapshots at inner\.list\.0/);
  });

  it('keeps shared references, typed arrays, -0 and NaN, and the fresh closures', () => {
    class Box {
      readonly shared = { n: 0 };
      readonly a = [this.shared];
      readonly m = new Map<string, { n: number }>();
      readonly f64 = new Float64Array(3);
      cb: () => number;
      constructor(readonly tag: string) {
        this.cb = () => this.shared.n;
      }
    }
    const reg = new ClassRegistry();
    reg.register(Box.prototype);
    reg.keep('Box', ['tag']);
    const src = new Box('old');
    src.shared.n = 7;
    src.m.set('k', src.shared);
    src.f64.set([-0, Number.NaN, 1.5]);
    const dst = new Box('new');
    hydrateGraph(dst, encodeGraph(src, reg), reg);
    expect(dst.tag).toBe('new');
    expect(dst.cb()).toBe(7);
    expect(dst.m.get('k')).toBe(dst.shared);
    expect(dst.a[0]).toBe(dst.shared);
    expect(Object.is(dst.f64[0], -0)).toBe(true);
    expect(Number.isNaN(dst.f64[1])).toBe(true);
    expect(dst.f64[2]).toBe(1.5);
  });
});

describe('event-time alignment (pipeline/align.ts)', () => {
  const opts = { idleMs: 60_000, maxBuffered: 1000, maxSources: 16 };

  it('releases events of several sources in time order once every active source has passed them', () => {
    const a = new EventTimeAligner<string>(opts);
    const out: string[] = [];
    const emit = (s: string): void => void out.push(s);
    a.push('slow', 100, 's0', emit);
    a.push('fast', 1000, 'f1', emit);
    a.push('fast', 2000, 'f2', emit);
    a.push('slow', 500, 's1', emit);
    expect(out).toEqual(['s0', 's1']);
    a.push('slow', 1500, 's2', emit);
    expect(out).toEqual(['s0', 's1', 'f1', 's2']);
    a.push('slow', 2500, 's3', emit);
    expect(out).toEqual(['s0', 's1', 'f1', 's2', 'f2']);
    expect(a.size).toBe(1);
    expect(a.late).toBe(0);
  });

  it('a source further behind than idleMs stops holding the others; its events are then late and go at once', () => {
    const a = new EventTimeAligner<string>(opts);
    const out: string[] = [];
    const emit = (s: string): void => void out.push(s);
    a.push('sparse', 0, 'c0', emit);
    a.push('busy', 10_000, 'b1', emit);
    expect(out).toEqual(['c0']);
    a.push('busy', 50_000, 'b2', emit);
    expect(out).toEqual(['c0']);
    a.push('busy', 70_001, 'b3', emit);
    expect(out).toEqual(['c0', 'b1', 'b2', 'b3']);
    a.push('sparse', 5000, 'late', emit);
    expect(out).toEqual(['c0', 'b1', 'b2', 'b3', 'late']);
    expect(a.late).toBe(1);
  });

  it('a heartbeating source that says it is idle (Infinity) stops holding the others until it delivers again', () => {
    const a = new EventTimeAligner<string>(opts);
    const out: string[] = [];
    const emit = (s: string): void => void out.push(s);
    a.advance('quiet', 1000, emit);
    a.push('busy', 5000, 'b1', emit);
    a.push('busy', 500_000, 'b2', emit);
    // A heartbeating source is never taken for idle by distance: it holds b1 and b2 back...
    expect(out).toEqual([]);
    // ...until its (new) owner says nothing waits in it.
    a.advance('quiet', Number.POSITIVE_INFINITY, emit);
    expect(out).toEqual(['b1', 'b2']);
    a.push('busy', 600_000, 'b3', emit);
    expect(out).toEqual(['b1', 'b2', 'b3']);
    // It delivers again: an event older than what went is late (at once, counted); from then on it holds the
    // others back at its own time, as before.
    a.push('quiet', 590_000, 'q1', emit);
    expect(out).toEqual(['b1', 'b2', 'b3', 'q1']);
    expect(a.late).toBe(1);
    a.push('busy', 700_000, 'b4', emit);
    a.advance('quiet', 650_000, emit);
    expect(out).toEqual(['b1', 'b2', 'b3', 'q1']);
    expect(a.watermark()).toBe(650_000);
  });

  it('an idle claim is as of a wall time: events written after it wait for a newer claim, so sources that start together meet in order', () => {
    const a = new EventTimeAligner<string>({ ...opts, idleHoldMs: 5000 });
    const out: string[] = [];
    const emit = (s: string): void => void out.push(s);
    // Both partitions were found empty at wall 1000 (startup); then a record lands on each at wall ~2000, and the
    // busy one's events arrive first, newer in event time than the other's.
    a.advance('traces', Number.POSITIVE_INFINITY, emit, 1000);
    a.advance('metrics', Number.POSITIVE_INFINITY, emit, 1000);
    a.push('traces', 60_000, 't1', emit, '', 2100);
    a.push('traces', 90_000, 't2', emit, '', 2100);
    // Written after the metrics partition was last found empty: it may still hold older records. They wait...
    expect(out).toEqual([]);
    a.push('metrics', 30_000, 'm1', emit, '', 2200);
    // ...and metrics delivers, older: in order, nothing late; now it holds the others at its own time, as before.
    expect(out).toEqual(['m1']);
    expect(a.late).toBe(0);
    a.advance('metrics', Number.POSITIVE_INFINITY, emit, 2500);
    expect(out).toEqual(['m1', 't1', 't2']);
    // A claim as of after an event lets it go; an older claim (reordered heartbeats) changes nothing.
    a.advance('metrics', Number.POSITIVE_INFINITY, emit, 2000);
    a.push('traces', 120_000, 't3', emit, '', 2600);
    expect(out).toEqual(['m1', 't1', 't2']);
    a.advance('metrics', Number.POSITIVE_INFINITY, emit, 2700);
    expect(out).toEqual(['m1', 't1', 't2', 't3']);
    // An owner that stops saying anything holds events at most idleHoldMs of wall time.
    a.push('traces', 150_000, 't4', emit, '', 7000);
    expect(out).toEqual(['m1', 't1', 't2', 't3']);
    a.push('traces', 160_000, 't5', emit, '', 7701);
    expect(out).toEqual(['m1', 't1', 't2', 't3', 't4', 't5']);
    // Restored from its state, a second aligner holds and releases the same way.
    a.advance('metrics', Number.POSITIVE_INFINITY, emit, 7000);
    a.push('traces', 170_000, 't6', emit, '', 7702);
    expect(out).toEqual(['m1', 't1', 't2', 't3', 't4', 't5']);
    const b = new EventTimeAligner<string>({ ...opts, idleHoldMs: 5000 });
    b.load(structuredClone(a.state()));
    const outB: string[] = [];
    b.push('traces', 180_000, 't7', (s) => void outB.push(s), '', 7800);
    expect(outB).toEqual([]);
    b.advance('metrics', Number.POSITIVE_INFINITY, (s) => void outB.push(s), 7900);
    expect(outB).toEqual(['t6', 't7']);
    // A claim as of Infinity (the stream is under way, its owner stops re-checking) lifts the wait at once.
    b.push('traces', 190_000, 't8', (s) => void outB.push(s), '', 8000);
    expect(outB).toEqual(['t6', 't7']);
    b.advance('metrics', Number.POSITIVE_INFINITY, (s) => void outB.push(s), Number.POSITIVE_INFINITY);
    b.push('traces', 200_000, 't9', (s) => void outB.push(s), '', 9000);
    expect(outB).toEqual(['t6', 't7', 't8', 't9']);
  });

  it('an idle source forgotten for room (maxSources) stops holding events written after its claim', () => {
    const a = new EventTimeAligner<string>({ ...opts, maxSources: 2, idleHoldMs: 60_000 });
    const out: string[] = [];
    const emit = (s: string): void => void out.push(s);
    a.advance('quiet', Number.POSITIVE_INFINITY, emit, 1000);
    a.push('busy', 60_000, 'b1', emit, '', 2000);
    // Written after the quiet partition was found empty: it waits for a newer claim.
    expect(out).toEqual([]);
    // A third source comes: the one seen longest ago (quiet) is forgotten, and with it its claim's hold.
    a.push('other', 90_000, 'o1', emit, '', 2100);
    expect(out).toEqual(['b1']);
    expect(a.state().idleAsOf ?? []).toEqual([]);
    expect(a.forced).toBe(0);
  });

  it('is bounded: beyond maxBuffered the oldest goes early, counted', () => {
    const a = new EventTimeAligner<number>({ ...opts, maxBuffered: 3 });
    const out: number[] = [];
    a.push('held', 0, -1, (x) => void out.push(x));
    for (let i = 1; i <= 10; i++) a.push('fast', i * 10, i, (x) => void out.push(x));
    expect(a.size).toBeLessThanOrEqual(3);
    expect(a.forced).toBeGreaterThan(0);
    expect(out.slice(0, 4)).toEqual([-1, 1, 2, 3]);
  });

  it('restores from its state and releases exactly as before', () => {
    const run = (cut: number | null): number[] => {
      let a = new EventTimeAligner<number>(opts);
      const out: number[] = [];
      for (let i = 0; i < 200; i++) {
        if (i === cut) {
          const b = new EventTimeAligner<number>(opts);
          b.load(structuredClone(a.state()));
          a = b;
        }
        a.push(`s${i % 3}`, ((i * 7919) % 1000) + i * 50, i, (x) => void out.push(x));
      }
      return out;
    };
    expect(run(97)).toEqual(run(null));
  });
});

describe('offset tracking (pipeline/kafka/offsets.ts)', () => {
  it('commits only up to the highest offset with no unfinished offset below it', () => {
    const t = new OffsetTracker();
    t.startAt(10);
    const r = [10, 11, 13, 14].map((o) => t.begin(o, 1, 0));
    expect(t.committable).toBe(10);
    t.finish(r[1]!);
    expect(t.committable).toBe(10);
    t.finish(r[0]!);
    expect(t.committable).toBe(12);
    t.finish(r[3]!);
    expect(t.committable).toBe(12);
    t.finish(r[2]!);
    expect(t.committable).toBe(15);
    expect(t.size).toBe(0);
    expect(() => t.begin(14, 1, 0)).toThrow(/not after/);
  });
});
