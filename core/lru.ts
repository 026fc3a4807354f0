/**
 * A Map bounded to `capacity` entries with least-recently-used eviction: when full, `set` forgets the least recently
 * used entry, counts it in `evictions` and tells `onEvict`. One implementation for perception and the sinks.
 * "Use" is `get`/`set` (a Map keeps insertion order, so re-inserting on use keeps the oldest first and eviction is
 * O(1) and deterministic); `peek` reads without changing recency.
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
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

  /** Reads and marks as most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Reads without changing recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) {
        const k = oldest.value;
        const old = this.map.get(k) as V;
        this.map.delete(k);
        this.evictions++;
        this.onEvict?.(k, old);
      }
    }
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
