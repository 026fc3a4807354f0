const NONE = -1;

/**
 * An insertion-ordered Map whose oldest entry, deletion anywhere and move-to-newest are all O(1).
 *
 * Why not a plain Map: V8 leaves a hole for every deleted entry until the next rehash, and iteration (so
 * `keys().next()` for "the oldest") starts at slot 0 and steps over every hole. A Map used as a queue, or as an LRU
 * that re-inserts on use, pays for all the entries deleted since the last rehash on each "oldest" lookup: tens of
 * microseconds at 200k entries. Here the order is a doubly linked list beside the Map.
 *
 * Why slots in flat arrays and not node objects: no allocation per entry, and the state stays a few flat arrays,
 * which the checkpoint encoder (core/snapshot.ts, recursive) and v8.serialize take at any size; a chain of
 * 50k linked objects would overflow their stacks.
 *
 * Iteration is oldest first. Changing the map while iterating it throws (a Map would go on, but visit a moved
 * entry twice); collect first, then change.
 */
export class LinkedMap<K, V> {
  private readonly slots = new Map<K, number>();
  private keyAt: (K | undefined)[] = [];
  private valueAt: (V | undefined)[] = [];
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private head = NONE;
  private tail = NONE;
  /** Freed slots, chained through `next`. */
  private free = NONE;
  /** Slots ever handed out (the arrays' used length). */
  private used = 0;
  /** Bumped on every change of membership or order, so an iterator can tell it went stale. */
  private version = 0;

  get size(): number {
    return this.slots.size;
  }

  has(key: K): boolean {
    return this.slots.has(key);
  }

  /** Reads without changing the order. */
  get(key: K): V | undefined {
    const i = this.slots.get(key);
    return i === undefined ? undefined : this.valueAt[i];
  }

  /** A new key goes last (newest); an existing key keeps its place and takes the new value. */
  set(key: K, value: V): void {
    const at = this.slots.get(key);
    if (at !== undefined) {
      this.valueAt[at] = value;
      return;
    }
    const i = this.alloc();
    this.keyAt[i] = key;
    this.valueAt[i] = value;
    this.append(i);
    this.slots.set(key, i);
    this.version++;
  }

  /** Moves an existing key to the newest place; false when absent. */
  touch(key: K): boolean {
    const i = this.slots.get(key);
    if (i === undefined) return false;
    if (i !== this.tail) {
      this.unlink(i);
      this.append(i);
      this.version++;
    }
    return true;
  }

  delete(key: K): boolean {
    const i = this.slots.get(key);
    if (i === undefined) return false;
    this.slots.delete(key);
    this.unlink(i);
    this.keyAt[i] = undefined;
    this.valueAt[i] = undefined; // no reference kept to what left
    this.next[i] = this.free;
    this.free = i;
    this.version++;
    return true;
  }

  /** The oldest key, or undefined when empty. */
  oldestKey(): K | undefined {
    return this.head === NONE ? undefined : this.keyAt[this.head];
  }

  /** The value of the oldest entry, or undefined when empty. */
  oldestValue(): V | undefined {
    return this.head === NONE ? undefined : this.valueAt[this.head];
  }

  clear(): void {
    this.slots.clear();
    this.keyAt = [];
    this.valueAt = [];
    this.prev = new Int32Array(0);
    this.next = new Int32Array(0);
    this.head = this.tail = this.free = NONE;
    this.used = 0;
    this.version++;
  }

  *entries(): IterableIterator<[K, V]> {
    for (const i of this.order()) yield [this.keyAt[i] as K, this.valueAt[i] as V];
  }

  *keys(): IterableIterator<K> {
    for (const i of this.order()) yield this.keyAt[i] as K;
  }

  *values(): IterableIterator<V> {
    for (const i of this.order()) yield this.valueAt[i] as V;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  private *order(): IterableIterator<number> {
    const v = this.version;
    for (let i = this.head; i !== NONE; i = this.next[i] as number) {
      yield i;
      if (this.version !== v) throw new Error('LinkedMap changed while being iterated');
    }
  }

  private alloc(): number {
    if (this.free !== NONE) {
      const i = this.free;
      this.free = this.next[i] as number;
      return i;
    }
    if (this.used === this.next.length) {
      // Doubling keeps growth amortized O(1); slots are reused once freed, so the arrays never outgrow the peak size.
      const cap = Math.max(16, this.next.length * 2);
      const prev = new Int32Array(cap);
      const next = new Int32Array(cap);
      prev.set(this.prev);
      next.set(this.next);
      this.prev = prev;
      this.next = next;
    }
    return this.used++;
  }

  private append(i: number): void {
    this.prev[i] = this.tail;
    this.next[i] = NONE;
    if (this.tail === NONE) this.head = i;
    else this.next[this.tail] = i;
    this.tail = i;
  }

  private unlink(i: number): void {
    const p = this.prev[i] as number;
    const n = this.next[i] as number;
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
  }
}
