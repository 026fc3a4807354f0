import { createHash } from 'node:crypto';

/**
 * Stable short ids: the same text gives the same id in every process and version, so template ids, incident ids
 * and signal ids survive restarts and agree across instances.
 */
export function stableId(prefix: string, ...parts: readonly (string | number)[]): string {
  return idOfInput(prefix, hashInput(parts));
}

/** What stableId hashes: each part followed by NUL (one update of the whole is the same digest as one per piece). */
function hashInput(parts: readonly (string | number)[]): string {
  let s = '';
  for (const p of parts) s += `${String(p)}\u0000`;
  return s;
}

function idOfInput(prefix: string, input: string): string {
  return `${prefix}_${createHash('sha1').update(input).digest('hex').slice(0, 16)}`;
}

/**
 * stableId for one prefix, remembered: the hot paths ask for the id of the same template or series on every log
 * line and metric point, and a sha1 each time cost 12% of replay CPU. The id is a pure function of the parts, so
 * the memo cannot change a result. Bound: two generations of at most `max` entries; when the newer fills it
 * becomes the older and the oldest is dropped whole, O(1) per call with no recency bookkeeping, and ids in steady
 * use survive the turnover (they are copied forward on their next use).
 */
export class StableIdMemo {
  private young = new Map<string, string>();
  private old = new Map<string, string>();

  constructor(
    readonly prefix: string,
    readonly max = 65_536,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`StableIdMemo max must be >= 1, got ${max}`);
  }

  /** The same string as stableId(prefix, ...parts). */
  id(...parts: readonly (string | number)[]): string {
    const input = hashInput(parts);
    const hit = this.young.get(input);
    if (hit !== undefined) return hit;
    const id = this.old.get(input) ?? idOfInput(this.prefix, input);
    if (this.young.size >= this.max) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(input, id);
    return id;
  }

  /** Entries held (both generations; at most 2 × max). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}
