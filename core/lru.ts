import { LinkedMap } from './linked-map.js';

/**
 * A Map bounded to `capacity` entries with least-recently-used eviction: when full, `set` forgets the least recently
 * used entry, counts it in `evictions` and tells `onEvict`. One implementation for perception and the sinks.
 * "Use" is `get`/`set`; `peek` reads without changing recency. Every operation is O(1) at any size: the recency
 * order is a linked list (see LinkedMap), not a Map re-inserted on use, whose oldest entry V8 finds only by stepping
 * over every entry deleted since its last rehash.
 */
export class LruMap<K, V> {
  private readonly map = new LinkedMap<K, V>();
  evictions = 0;

  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LruMap capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Reads and marks as most recently used (an entry whose value is undefined reads as absent and keeps its place). */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.touch(key);
    return v;
  }

  /** Reads without changing recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) {
      this.map.set(key, value);
      this.map.touch(key);
      return;
    }
    if (this.map.size >= this.capacity) {
      const k = this.map.oldestKey() as K;
      const old = this.map.get(k) as V;
      this.map.delete(k);
      this.evictions++;
      this.onEvict?.(k, old);
    }
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Least recently used first. Changing the map while iterating throws. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
