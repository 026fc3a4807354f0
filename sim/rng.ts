/**
 * Seeded randomness for the simulator. Never Math.random: the same seed must give byte-identical files.
 * sfc32 (128-bit state) is fast and has no short cycles for the few million draws a scenario needs.
 * Subsystems draw from `fork(label)` streams so that, e.g., changing the trace sampling rate does not move the faults.
 */

/** 32-bit FNV-1a followed by a murmur3 finaliser: a stable string hash. */
export function hash32(s: string, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 16 hex chars derived from text (used for Alertmanager-style label fingerprints). */
export function hex64(s: string): string {
  return hash32(s, 0x9e3779b9).toString(16).padStart(8, '0') + hash32(s, 0x7f4a7c15).toString(16).padStart(8, '0');
}

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;
  readonly label: string;

  constructor(seed: number | string) {
    this.label = String(seed);
    this.a = hash32(this.label, 1);
    this.b = hash32(this.label, 2);
    this.c = hash32(this.label, 3);
    this.d = hash32(this.label, 4) | 1;
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** An independent stream named by `label`; the same (seed, label) always gives the same stream. */
  fork(label: string): Rng {
    return new Rng(`${this.label}/${label}`);
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError('Rng.pick on an empty array');
    return arr[Math.floor(this.next() * arr.length)] as T;
  }

  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    if (items.length === 0 || !(total > 0)) throw new RangeError('Rng.weighted needs positive weights');
    let r = this.next() * total;
    for (const [v, w] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return (items[items.length - 1] as readonly [T, number])[0];
  }

  shuffle<T>(arr: readonly T[]): T[] {
    const out = arr.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** Standard normal (Box-Muller, the second value is cached). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Poisson count; Knuth below 30, a rounded normal above (fast and close enough for event counts). */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda >= 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.next();
    } while (p > l && k < 200);
    return k - 1;
  }

  /** `n` lowercase hex characters (ids are generated per span and per record, so this is hot). */
  hex(n: number): string {
    let s = '';
    while (s.length < n) {
      const x = this.u32();
      s += (HEX2[x >>> 24] as string) + (HEX2[(x >>> 16) & 255] as string) + (HEX2[(x >>> 8) & 255] as string) + (HEX2[x & 255] as string);
    }
    return s.length === n ? s : s.slice(0, n);
  }
}
