import { describe, expect, it } from 'vitest';
import { LinkedMap } from '../core/linked-map.js';
import { LruMap } from '../core/lru.js';
import { RingBuffer } from '../core/ring.js';
import { prng, ReferenceLruMap } from './helpers/reference-lru.js';

describe('LinkedMap', () => {
  it('keeps insertion order like a Map through random sets, deletes and re-inserts', () => {
    const rnd = prng(7);
    const lm = new LinkedMap<number, number>();
    const ref = new Map<number, number>();
    for (let step = 0; step < 20_000; step++) {
      const k = Math.floor(rnd() * 300);
      const op = rnd();
      if (op < 0.45) {
        // A Map keeps an existing key's place on set; so must LinkedMap.
        lm.set(k, step);
        ref.set(k, step);
      } else if (op < 0.75) expect(lm.delete(k)).toBe(ref.delete(k));
      else if (op < 0.85) {
        const had = ref.has(k);
        expect(lm.touch(k)).toBe(had);
        if (had) {
          const v = ref.get(k) as number;
          ref.delete(k);
          ref.set(k, v);
        }
      } else if (op < 0.95) {
        const o = ref.keys().next();
        expect(lm.oldestKey()).toBe(o.done ? undefined : o.value);
        expect(lm.oldestValue()).toBe(o.done ? undefined : ref.get(o.value));
      } else {
        expect(lm.get(k)).toBe(ref.get(k));
        expect(lm.has(k)).toBe(ref.has(k));
      }
      expect(lm.size).toBe(ref.size);
      if (step % 997 === 0) expect([...lm.entries()]).toEqual([...ref.entries()]);
    }
    expect([...lm.keys()]).toEqual([...ref.keys()]);
    expect([...lm.values()]).toEqual([...ref.values()]);
    expect([...lm]).toEqual([...ref]);
  });

  it('reuses freed slots: its arrays stay at the peak size, not the number of inserts', () => {
    const lm = new LinkedMap<number, number>();
    for (let i = 0; i < 100_000; i++) {
      lm.set(i, i);
      if (lm.size > 1000) lm.delete(lm.oldestKey() as number);
    }
    expect(lm.size).toBe(1000);
    expect(lm.oldestKey()).toBe(99_000);
    const slots = (lm as unknown as { next: Int32Array }).next.length;
    expect(slots).toBeLessThanOrEqual(2048);
  });

  it('throws when changed during iteration instead of visiting an entry twice', () => {
    const lm = new LinkedMap<string, number>();
    lm.set('a', 1);
    lm.set('b', 2);
    lm.set('c', 3);
    expect(() => {
      for (const [k] of lm.entries()) lm.touch(k);
    }).toThrow(/changed while being iterated/);
    // The touch before the throw did happen: 'a' moved last.
    expect([...lm.keys()]).toEqual(['b', 'c', 'a']);
    // A value update is not a change of order: allowed.
    for (const [k, v] of lm.entries()) lm.set(k, v * 10);
    expect([...lm.values()]).toEqual([20, 30, 10]);
  });

  it('clear empties it and it works afterwards', () => {
    const lm = new LinkedMap<string, number>();
    lm.set('a', 1);
    lm.clear();
    expect(lm.size).toBe(0);
    expect(lm.oldestKey()).toBeUndefined();
    lm.set('b', 2);
    expect([...lm]).toEqual([['b', 2]]);
  });
});

describe('LruMap', () => {
  it('matches the Map-based reference operation for operation (values, order, evictions, onEvict)', () => {
    for (const capacity of [1, 3, 64]) {
      const rnd = prng(capacity);
      const evicted: unknown[] = [];
      const refEvicted: unknown[] = [];
      const lru = new LruMap<number, number | undefined>(capacity, (k, v) => evicted.push([k, v]));
      const ref = new ReferenceLruMap<number, number | undefined>(capacity, (k, v) => refEvicted.push([k, v]));
      for (let step = 0; step < 20_000; step++) {
        const k = Math.floor(rnd() * capacity * 3);
        const op = rnd();
        if (op < 0.4) {
          // Undefined values read as absent and keep their place in both.
          const v = rnd() < 0.05 ? undefined : step;
          lru.set(k, v);
          ref.set(k, v);
        } else if (op < 0.7) expect(lru.get(k)).toBe(ref.get(k));
        else if (op < 0.8) expect(lru.peek(k)).toBe(ref.peek(k));
        else if (op < 0.9) expect(lru.delete(k)).toBe(ref.delete(k));
        else expect(lru.has(k)).toBe(ref.has(k));
        expect(lru.size).toBe(ref.size);
        expect(lru.evictions).toBe(ref.evictions);
        if (step % 499 === 0) expect([...lru.entries()]).toEqual([...ref.entries()]);
      }
      expect([...lru.entries()]).toEqual([...ref.entries()]);
      expect(evicted).toEqual(refEvicted);
      expect(evicted.length).toBeGreaterThan(0);
    }
  });

  it('evicts in least-recently-used order at 200k entries', () => {
    const lru = new LruMap<number, number>(200_000);
    for (let i = 0; i < 400_000; i++) lru.set(i, i);
    expect(lru.size).toBe(200_000);
    expect(lru.evictions).toBe(200_000);
    expect(lru.entries().next().value).toEqual([200_000, 200_000]);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new LruMap(0)).toThrow(RangeError);
  });
});

describe('RingBuffer', () => {
  it('behaves like an array queue bounded to its capacity', () => {
    const rnd = prng(3);
    const ring = new RingBuffer<number>(5);
    const ref: number[] = [];
    for (let step = 0; step < 5000; step++) {
      if (rnd() < 0.7) {
        const dropped = ring.push(step);
        ref.push(step);
        expect(dropped).toBe(ref.length > 5 ? ref.shift() : undefined);
      } else expect(ring.shift()).toBe(ref.shift());
      expect(ring.size).toBe(ref.length);
      expect(ring.peek()).toBe(ref[0]);
      expect(ring.at(ref.length - 1)).toBe(ref[ref.length - 1]);
      expect(ring.toArray()).toEqual(ref);
    }
    expect(ring.at(-1)).toBeUndefined();
    expect(ring.at(5)).toBeUndefined();
  });

  it('keeps no reference to an item that left', () => {
    const ring = new RingBuffer<object>(2);
    ring.push({});
    ring.shift();
    expect((ring as unknown as { items: unknown[] }).items.every((x) => x === undefined)).toBe(true);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });
});
