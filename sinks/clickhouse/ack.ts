/**
 * The acknowledged position of a writer: rows get increasing sequence numbers, and `acked` is the highest one with
 * every row up to it settled. Waiters are resolved in order as it advances; they fail all at once if the writer does.
 */
export class AckTracker {
  private ackedSeq = 0;
  private readonly waiters: Array<{ seq: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly listeners = new Set<(seq: number) => void>();

  get acked(): number {
    return this.ackedSeq;
  }

  onAck(listener: (seq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once `acked >= seq`. */
  wait(seq: number): Promise<void> {
    if (seq <= this.ackedSeq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  advance(seq: number): void {
    if (seq <= this.ackedSeq) return;
    this.ackedSeq = seq;
    // Waiters are added in nondecreasing seq order by the one writer, but a test may add any order: scan them all.
    let i = 0;
    while (i < this.waiters.length) {
      const w = this.waiters[i]!;
      if (w.seq <= seq) {
        this.waiters.splice(i, 1);
        w.resolve();
      } else i++;
    }
    for (const l of this.listeners) l(seq);
  }

  failAll(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
