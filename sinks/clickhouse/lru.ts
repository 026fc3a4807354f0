/**
 * A Map bounded to `capacity` entries; `get` and `set` make an entry the most recent, and a `set` beyond capacity
 * evicts the least recently used. Used for the sink's per-incident memory, where forgetting an old incident costs at
 * most a redundant row (the tables deduplicate), never a wrong one.
 */
export class LruMap<K, V> {
  private readonly m = new Map<K, V>();
  evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LRU capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.m.size;
  }

  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }

  has(k: K): boolean {
    return this.m.has(k);
  }

  set(k: K, v: V): void {
    if (this.m.has(k)) this.m.delete(k);
    else if (this.m.size >= this.capacity) {
      const oldest = this.m.keys().next();
      if (!oldest.done) {
        this.m.delete(oldest.value);
        this.evictions++;
      }
    }
    this.m.set(k, v);
  }
}
