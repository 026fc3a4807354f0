/**
 * A bounded FIFO between two stages. When full, `push` waits until the consumer takes an item: backpressure,
 * never a drop. Closing lets the consumer drain what is left, then ends iteration.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private closed = false;
  private waitingPushers: Array<() => void> = [];
  private waitingPopper: (() => void) | null = null;
  /** High-water mark, for tests and benchmarks that check the bound holds. */
  maxDepth = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be >= 1, got ${capacity}`);
  }

  get depth(): number {
    return this.items.length - this.head;
  }

  async push(item: T): Promise<void> {
    if (this.closed) throw new Error('push on a closed queue');
    while (this.depth >= this.capacity) {
      await new Promise<void>((resolve) => this.waitingPushers.push(resolve));
      if (this.closed) throw new Error('push on a closed queue');
    }
    this.items.push(item);
    if (this.depth > this.maxDepth) this.maxDepth = this.depth;
    const p = this.waitingPopper;
    this.waitingPopper = null;
    p?.();
  }

  close(): void {
    this.closed = true;
    const p = this.waitingPopper;
    this.waitingPopper = null;
    p?.();
    for (const w of this.waitingPushers.splice(0)) w();
  }

  /** Resolves with the next item, or `undefined` once closed and drained. */
  async pop(): Promise<T | undefined> {
    while (this.depth === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.waitingPopper = resolve));
    }
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    const w = this.waitingPushers.shift();
    w?.();
    return item;
  }
}
