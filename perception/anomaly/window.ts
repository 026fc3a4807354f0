/**
 * A count-bounded rolling window that keeps its values both in arrival order (a ring) and sorted, so the median
 * is O(1), an update is O(log n) plus one shift of the values between the leaving and the entering value, and the
 * MAD is O(log n) (a selection in the two sorted runs of deviations either side of the centre). No sort per point:
 * the point is to stay far under a microsecond, since every metric point of every series updates three of these.
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
      this.ring[this.head] = x;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
      // One shift of the values between the two positions instead of a removal and an insertion (two memmoves of
      // up to n values): the sorted contents are the same multiset either way.
      if (this.replaceSorted(old, x)) return;
      this.removeSorted(old);
    } else {
      const at = this.head + this.n;
      this.ring[at >= this.capacity ? at - this.capacity : at] = x;
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

  /**
   * Median absolute deviation around `m` (normally the median). The deviations form two sorted runs either side of
   * `m` — left: m - s[j-1], m - s[j-2], ...; right: s[j] - m, s[j+1] - m, ... — so the deviations of rank (n-1)/2
   * and n/2 are found by a binary search over how many come from the left run (the k-th of two sorted arrays),
   * with the same subtractions as a merge of the runs would make: the same value, in O(log n).
   */
  mad(m: number): number {
    const n = this.n;
    if (n === 0) return 0;
    const s = this.sorted;
    const j = this.lowerBound(m, n); // first index with s[j] >= m; left run: j values, right run: n - j
    const right = n - j;
    const c = ((n - 1) >> 1) + 1; // deviations up to and including rank (n-1)/2
    let lo = c > right ? c - right : 0;
    let hi = c < j ? c : j;
    while (lo <= hi) {
      const a = (lo + hi) >> 1; // taken from the left run
      const b = c - a; // taken from the right run
      const aL = a > 0 ? m - (s[j - a] as number) : -Infinity;
      const aR = a < j ? m - (s[j - 1 - a] as number) : Infinity;
      const bL = b > 0 ? (s[j + b - 1] as number) - m : -Infinity;
      const bR = b < right ? (s[j + b] as number) - m : Infinity;
      if (aL > bR) hi = a - 1;
      else if (bL > aR) lo = a + 1;
      else {
        const lower = aL > bL ? aL : bL; // rank (n-1)/2
        if ((n & 1) === 1) return lower;
        const upper = aR < bR ? aR : bR; // rank n/2: the next deviation
        return (lower + upper) / 2;
      }
    }
    // Only reachable when the window holds non-finite values (no order): the merge of the two runs.
    return this.madByMerge(m);
  }

  /** The MAD by merging the two runs of deviations outward from `m`: O(n/2); the reference for mad(). */
  madByMerge(m: number): number {
    const n = this.n;
    if (n === 0) return 0;
    const s = this.sorted;
    let j = this.lowerBound(m, n);
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

  /**
   * Mean absolute deviation around `m`: the fallback scale when more than half the window is one value. Summed in
   * sorted order; the values equal to `m` add +0, which leaves a non-negative sum as it is, so they are skipped
   * (when this is needed, more than half the window is such values).
   */
  meanAbsDev(m: number): number {
    const n = this.n;
    if (n === 0) return 0;
    const s = this.sorted;
    const eq = this.lowerBound(m, n);
    let sum = 0;
    for (let k = 0; k < eq; k++) sum += m - (s[k] as number);
    let k = eq;
    while (k < n && (s[k] as number) === m) k++;
    for (; k < n; k++) sum += (s[k] as number) - m;
    return sum / n;
  }

  /**
   * An upper bound of what meanAbsDev(m) returns, in O(1): the largest deviation, widened by 1e-9 relatively to
   * cover the rounding of a sum of at most 10,000 terms (under 3e-12 relatively). When a caller only takes the
   * larger of the mean deviation and other scales, a bound under those spares the O(n) sum.
   */
  meanAbsDevBound(m: number): number {
    const n = this.n;
    if (n === 0) return 0;
    const lo = m - (this.sorted[0] as number);
    const hi = (this.sorted[n - 1] as number) - m;
    return (lo > hi ? lo : hi) * (1 + 1e-9);
  }

  /** Median of the `k` most recent values (k small: a copy and an insertion sort of k numbers, no allocation). */
  recentMedian(k: number): number {
    const m = Math.min(k, this.n);
    if (m === 0) return 0;
    const buf = m <= SCRATCH.length ? SCRATCH : new Float64Array(m);
    const cap = this.capacity;
    let idx = this.head + this.n - 1;
    if (idx >= cap) idx -= cap;
    for (let q = 0; q < m; q++) {
      const x = this.ring[idx] as number;
      idx = idx === 0 ? cap - 1 : idx - 1;
      let p = q;
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

  /**
   * Replaces one occurrence of `old` (in the window) by `x`, shifting only the values between their positions.
   * False, with nothing changed, when `old` is not there (only a corrupted state): the caller then falls back.
   */
  private replaceSorted(old: number, x: number): boolean {
    const count = this.sortedCount;
    const s = this.sorted;
    const at = this.lowerBound(old, count);
    if (at >= count || s[at] !== old) return false;
    if (x > old) {
      // Values in (at, p) are below x: they move down one place.
      let p = at + 1;
      while (p < count && (s[p] as number) < x) {
        s[p - 1] = s[p] as number;
        p++;
      }
      s[p - 1] = x;
    } else if (x < old) {
      // Values in [p, at) are above x: they move up one place.
      let p = at;
      while (p > 0 && (s[p - 1] as number) > x) {
        s[p] = s[p - 1] as number;
        p--;
      }
      s[p] = x;
    } else {
      s[at] = x;
    }
    return true;
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

/** recentMedian's buffer: small k (the detector asks for 5) needs no allocation per call. */
const SCRATCH = new Float64Array(16);
