/**
 * A count-bounded rolling window that keeps its values both in arrival order (a ring) and sorted, so the median
 * is O(1), an update is O(log n + n) with a memmove of at most n doubles, and the MAD is O(n/2) (a merge of the
 * two sorted halves' deviations). No sort per point: the point is to stay far under a few microseconds.
 * Bound: `capacity` values; when full, the oldest value leaves as a new one enters.
 */
export class RollingWindow {
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private head = 0; // index of the oldest value when full
  private n = 0;

  constructor(readonly capacity: number) {
    this.ring = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  push(x: number): void {
    if (this.n === this.capacity) {
      const old = this.ring[this.head] as number;
      this.removeSorted(old);
      this.ring[this.head] = x;
      this.head = (this.head + 1) % this.capacity;
    } else {
      this.ring[(this.head + this.n) % this.capacity] = x;
      this.n++;
    }
    this.insertSorted(x);
  }

  median(): number {
    const n = this.n;
    if (n === 0) return 0;
    const s = this.sorted;
    const mid = n >> 1;
    return n % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  }

  /** Median absolute deviation around `m` (normally the median). */
  mad(m: number): number {
    const n = this.n;
    if (n === 0) return 0;
    const s = this.sorted;
    let j = this.lowerBound(m, n); // first index with s[j] >= m
    let i = j - 1;
    const ra = (n - 1) >> 1;
    const rb = n >> 1;
    let a = 0;
    let b = 0;
    for (let r = 0; r <= rb; r++) {
      let d: number;
      const dl = i >= 0 ? m - (s[i] as number) : Infinity;
      const dr = j < n ? (s[j] as number) - m : Infinity;
      if (dl <= dr) {
        d = dl;
        i--;
      } else {
        d = dr;
        j++;
      }
      if (r === ra) a = d;
      if (r === rb) b = d;
    }
    return (a + b) / 2;
  }

  /** Mean absolute deviation around `m`: the fallback scale when more than half the window is one value. */
  meanAbsDev(m: number): number {
    const n = this.n;
    if (n === 0) return 0;
    const s = this.sorted;
    let sum = 0;
    for (let k = 0; k < n; k++) sum += Math.abs((s[k] as number) - m);
    return sum / n;
  }

  /** Median of the `k` most recent values (k small: a copy and an insertion sort of k numbers). */
  recentMedian(k: number): number {
    const m = Math.min(k, this.n);
    if (m === 0) return 0;
    const buf: number[] = [];
    for (let q = 0; q < m; q++) {
      const x = this.ring[(this.head + this.n - 1 - q) % this.capacity] as number;
      let p = buf.length;
      buf.push(x);
      while (p > 0 && (buf[p - 1] as number) > x) {
        buf[p] = buf[p - 1] as number;
        p--;
      }
      buf[p] = x;
    }
    const mid = m >> 1;
    return m % 2 === 1 ? (buf[mid] as number) : ((buf[mid - 1] as number) + (buf[mid] as number)) / 2;
  }

  /** Sum of the `k` most recent values (fewer when the window holds fewer): O(k). */
  recentSum(k: number): number {
    const m = Math.min(k, this.n);
    let sum = 0;
    for (let q = 0; q < m; q++) sum += this.ring[(this.head + this.n - 1 - q) % this.capacity] as number;
    return sum;
  }

  /** The most recent value (0 when empty). */
  last(): number {
    return this.n === 0 ? 0 : (this.ring[(this.head + this.n - 1) % this.capacity] as number);
  }

  /** Values oldest first: the snapshot form. */
  values(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.n; k++) out.push(this.ring[(this.head + k) % this.capacity] as number);
    return out;
  }

  private lowerBound(x: number, n: number): number {
    let lo = 0;
    let hi = n;
    const s = this.sorted;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((s[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insertSorted(x: number): void {
    const count = this.sortedCount;
    const at = this.lowerBound(x, count);
    this.sorted.copyWithin(at + 1, at, count);
    this.sorted[at] = x;
    this.sortedCount = count + 1;
  }

  private removeSorted(x: number): void {
    const count = this.sortedCount;
    const at = this.lowerBound(x, count);
    // `x` is in the window by construction; the guard only protects against a corrupted state.
    if (at >= count || this.sorted[at] !== x) return;
    this.sorted.copyWithin(at, at + 1, count);
    this.sortedCount = count - 1;
  }

  private sortedCount = 0;
}
