/** One replay line: a Kafka record in the shape `kcat -J` prints (payload is the message value as text). */
export type Topic = 'alerts' | 'logs' | 'metrics' | 'traces' | 'changes';

export interface ReplayRecordLine {
  readonly topic: Topic;
  readonly key: string | null;
  readonly payload: string;
  readonly ts: number;
}

interface Pending extends ReplayRecordLine {
  readonly seq: number;
}

/**
 * Holds records until no later step can produce an earlier one, then hands them out in (ts, generation order).
 * Bound: a record is delivered at most `maxDelayMs` (<= 5 s) after the step that made it, so the buffer never holds
 * more than about two steps of records; `drain` throws if a caller pushes a record older than what was drained.
 */
export class RecordBuffer {
  private pending: Pending[] = [];
  private seq = 0;
  private drainedUpTo = -Infinity;

  push(topic: Topic, key: string | null, payload: string, ts: number): void {
    const rts = Math.round(ts);
    if (rts < this.drainedUpTo) throw new RangeError(`record at ${rts} arrived after the buffer was drained to ${this.drainedUpTo}`);
    this.pending.push({ topic, key, payload, ts: rts, seq: this.seq++ });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Removes and returns, sorted, every record with ts < limit. */
  drain(limit: number): ReplayRecordLine[] {
    this.pending.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    let k = 0;
    while (k < this.pending.length && (this.pending[k] as Pending).ts < limit) k++;
    const out = this.pending.slice(0, k);
    this.pending = this.pending.slice(k);
    this.drainedUpTo = Math.max(this.drainedUpTo, limit);
    return out.map(({ topic, key, payload, ts }) => ({ topic, key, payload, ts }));
  }
}
