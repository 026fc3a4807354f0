/**
 * Every component reports the same counters (Vector's convention): received, sent, and dropped by reason.
 * A dead-lettered record counts as dropped with reason `dead_letter:<CODE>`.
 */
export interface CounterSnapshot {
  readonly received: number;
  readonly sent: number;
  readonly dropped: Readonly<Record<string, number>>;
}

export class Counters {
  received = 0;
  sent = 0;
  private readonly droppedBy = new Map<string, number>();

  drop(reason: string, n = 1): void {
    this.droppedBy.set(reason, (this.droppedBy.get(reason) ?? 0) + n);
  }

  droppedTotal(): number {
    let t = 0;
    for (const v of this.droppedBy.values()) t += v;
    return t;
  }

  snapshot(): CounterSnapshot {
    const dropped: Record<string, number> = {};
    for (const k of [...this.droppedBy.keys()].sort()) dropped[k] = this.droppedBy.get(k) ?? 0;
    return { received: this.received, sent: this.sent, dropped };
  }
}
