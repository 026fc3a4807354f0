/**
 * A bounded map with least-recently-used eviction (Map keeps insertion order; a hit re-inserts the key).
 * When full, `set` forgets the least recently used entry and counts it in `evictions`.
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LRU capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v === undefined) return undefined;
    this.map.delete(k);
    this.map.set(k, v);
    return v;
  }

  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
      this.evictions++;
    }
  }

  delete(k: K): void {
    this.map.delete(k);
  }
}
