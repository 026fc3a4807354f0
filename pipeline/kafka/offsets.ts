/** The one spelling of a partition's key in maps of lanes, assignments, offsets and claims: `topic:partition`. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** The topic and partition of a `partitionKey` (topic names may not contain ':', but the split is from the end anyway). */
export function splitPartitionKey(key: string): { topic: string; partition: number } {
  const cut = key.lastIndexOf(':');
  return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)) };
}

/**
 * Offset tracking for at-least-once delivery. A record is finished when its stage returned and every output it
 * produced (dead letters included) was acknowledged by the broker. The committable offset is the one after the
 * longest finished prefix: records can finish out of order (outputs to different partitions are acknowledged
 * separately), but the commit never passes an unfinished record.
 */
export class InFlightRecord {
  /** Outputs sent and not yet acknowledged. */
  pending = 0;
  /** The stage has returned from `process` for this record: no more outputs will come. */
  sealed = false;
  done = false;
  constructor(
    readonly offset: number,
    readonly bytes: number,
    /** Monotonic ms when the record was taken from the consumer, for the processing latency. */
    readonly receivedAt: number,
  ) {}
}

export class OffsetTracker {
  private q: InFlightRecord[] = [];
  private head = 0;
  private next: number | null = null;

  /** Starts tracking a record; offsets must increase (gaps are fine: compaction, transaction markers). */
  begin(offset: number, bytes: number, now: number): InFlightRecord {
    const last = this.q.length > this.head ? this.q[this.q.length - 1]!.offset : this.next !== null ? this.next - 1 : -1;
    if (offset <= last) throw new RangeError(`offset ${offset} is not after ${last}`);
    const r = new InFlightRecord(offset, bytes, now);
    this.q.push(r);
    return r;
  }

  /** Marks a record finished and moves the committable offset over the finished prefix. */
  finish(r: InFlightRecord): void {
    r.done = true;
    while (this.head < this.q.length && this.q[this.head]!.done) {
      this.next = this.q[this.head]!.offset + 1;
      this.q[this.head] = undefined as unknown as InFlightRecord;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.q.length) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
  }

  /** The offset to commit (the next record to read after a restart), or null before any record finished. */
  get committable(): number | null {
    return this.next;
  }

  /** Records begun and not finished, or finished behind an unfinished one. */
  get size(): number {
    return this.q.length - this.head;
  }

  /** Starts the committable position at `offset` (a restored checkpoint, or the first fetched offset). */
  startAt(offset: number): void {
    if (this.size > 0) throw new Error('startAt on a tracker with records in flight');
    this.next = offset;
  }
}
