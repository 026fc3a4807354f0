/**
 * Aho-Corasick over ASCII-lowercased text: which of many keywords occur, in one pass whatever their number.
 * Gitleaks runs a rule only where one of its keywords occurs; with ~220 rules, one `includes` per keyword per
 * field would cost more than the rules themselves.
 */
export class KeywordIndex {
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  /** Keyword ids ending at each node (its own and, through the fail links, its suffixes'). */
  private readonly out: number[][] = [[]];

  constructor(keywords: readonly string[]) {
    keywords.forEach((kw, id) => {
      let node = 0;
      for (let i = 0; i < kw.length; i++) {
        const c = lower(kw.charCodeAt(i));
        let to = this.next[node]!.get(c);
        if (to === undefined) {
          to = this.next.length;
          this.next.push(new Map());
          this.fail.push(0);
          this.out.push([]);
          this.next[node]!.set(c, to);
        }
        node = to;
      }
      if (kw.length > 0) this.out[node]!.push(id);
    });
    // Breadth-first, so a node's fail link is final before its children need it.
    const queue: number[] = [...this.next[0]!.values()];
    for (let q = 0; q < queue.length; q++) {
      const node = queue[q]!;
      for (const [c, child] of this.next[node]!) {
        let f = this.fail[node]!;
        while (f !== 0 && !this.next[f]!.has(c)) f = this.fail[f]!;
        const to = this.next[f]!.get(c);
        this.fail[child] = to !== undefined && to !== child ? to : 0;
        this.out[child] = [...this.out[child]!, ...this.out[this.fail[child]!]!];
        queue.push(child);
      }
    }
  }

  /** Ids of the keywords found in `text` (case-insensitive for ASCII letters). */
  find(text: string, found: Set<number> = new Set()): Set<number> {
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      const c = lower(text.charCodeAt(i));
      let to = this.next[node]!.get(c);
      while (to === undefined && node !== 0) {
        node = this.fail[node]!;
        to = this.next[node]!.get(c);
      }
      node = to ?? 0;
      const o = this.out[node]!;
      for (let k = 0; k < o.length; k++) found.add(o[k]!);
    }
    return found;
  }
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c | 0x20 : c;
}
