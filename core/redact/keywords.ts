/**
 * Aho-Corasick over ASCII-lowercased text: which of many keywords occur, in one pass whatever their number.
 * Gitleaks runs a rule only where one of its keywords occurs; with ~220 rules, one `includes` per keyword per
 * field would cost more than the rules themselves. Built as a full transition table over 7-bit characters (a DFA:
 * no failure links to follow at run time), since this runs on every text field of every record; any other
 * character simply restarts the automaton, which is exact because every keyword is ASCII.
 */
const ALPHABET = 128;

export class KeywordIndex {
  private readonly delta: Int32Array;
  /** Keyword ids ending at each node (its own and its suffixes'); `hasOut` to skip the empty ones fast. */
  private readonly out: number[][];
  private readonly hasOut: Uint8Array;

  constructor(keywords: readonly string[]) {
    const next: Map<number, number>[] = [new Map()];
    const out: number[][] = [[]];
    keywords.forEach((kw, id) => {
      let node = 0;
      for (let i = 0; i < kw.length; i++) {
        const c = lower(kw.charCodeAt(i));
        if (c >= ALPHABET) throw new RangeError(`keyword ${JSON.stringify(kw)}: only ASCII keywords are supported`);
        let to = next[node]!.get(c);
        if (to === undefined) {
          to = next.length;
          next.push(new Map());
          out.push([]);
          next[node]!.set(c, to);
        }
        node = to;
      }
      if (kw.length > 0) out[node]!.push(id);
    });
    const n = next.length;
    const delta = new Int32Array(n * ALPHABET);
    const fail = new Int32Array(n);
    // Breadth-first: a node's fail link and row are final before its children need them.
    const queue: number[] = [];
    for (let c = 0; c < ALPHABET; c++) {
      const to = next[0]!.get(c) ?? 0;
      delta[c] = to;
      if (to !== 0) queue.push(to);
    }
    for (let q = 0; q < queue.length; q++) {
      const node = queue[q]!;
      const f = fail[node]!;
      out[node] = [...out[node]!, ...out[f]!];
      for (let c = 0; c < ALPHABET; c++) {
        const child = next[node]!.get(c);
        if (child === undefined) delta[node * ALPHABET + c] = delta[f * ALPHABET + c]!;
        else {
          delta[node * ALPHABET + c] = child;
          fail[child] = delta[f * ALPHABET + c]!;
          queue.push(child);
        }
      }
    }
    this.delta = delta;
    this.out = out;
    this.hasOut = Uint8Array.from(out, (o) => (o.length > 0 ? 1 : 0));
  }

  /** Ids of the keywords found in `text` (case-insensitive for ASCII letters). */
  find(text: string, found: Set<number> = new Set()): Set<number> {
    const delta = this.delta;
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      const c = lower(text.charCodeAt(i));
      node = c < ALPHABET ? delta[node * ALPHABET + c]! : 0;
      if (this.hasOut[node] === 1) for (const k of this.out[node]!) found.add(k);
    }
    return found;
  }
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c | 0x20 : c;
}
