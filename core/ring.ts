/**
 * A fixed-capacity FIFO queue in one preallocated array: push and shift are O(1) at any size (an array's `shift()`
 * moves every element, and a Map used as a queue makes V8 step over every deleted entry to find the oldest).
 * When full, `push` drops the oldest item and returns it, so a bounded index can forget the key it evicted.
 */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private n = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`RingBuffer capacity must be >= 1, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.n;
  }

  /** Appends `x`; when full, first removes the oldest item and returns it (else undefined). */
  push(x: T): T | undefined {
    if (this.n < this.capacity) {
      this.items[(this.head + this.n) % this.capacity] = x;
      this.n++;
      return undefined;
    }
    const old = this.items[this.head];
    this.items[this.head] = x;
    this.head = (this.head + 1) % this.capacity;
    return old;
  }

  /** Removes and returns the oldest item (undefined when empty). */
  shift(): T | undefined {
    if (this.n === 0) return undefined;
    const x = this.items[this.head];
    this.items[this.head] = undefined; // no reference kept to what left
    this.head = (this.head + 1) % this.capacity;
    this.n--;
    return x;
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.n === 0 ? undefined : this.items[this.head];
  }

  /** The item `i` places after the oldest (0 = oldest), or undefined past the end. */
  at(i: number): T | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) return undefined;
    return this.items[(this.head + i) % this.capacity];
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.items[(this.head + i) % this.capacity] as T);
    return out;
  }
}
