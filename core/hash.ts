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

/**
 * What stableId hashes for `head` followed by each `key=value` of `labels` in key order (as if those were passed as
 * parts), built in one string: the series id of every metric point is asked for with its labels, and the arrays of
 * a sort-map-spread cost more than the memo lookup.
 */
export function labelledInput(head: readonly string[], labels: Readonly<Record<string, string>>): string {
  let s = hashInput(head);
  const keys = Object.keys(labels);
  if (keys.length > 1) keys.sort();
  for (const k of keys) s += `${k}=${labels[k] ?? ''}\u0000`;
  return s;
}

/** stableId for an input already built (hashInput's or labelledInput's shape). */
export function idOfInput(prefix: string, input: string): string {
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
    return this.idOfInput(hashInput(parts));
  }

  /** The same string as idOfInput(prefix, input), for an input built by labelledInput. */
  idOfInput(input: string): string {
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
