import type { ChangeEvent } from '../schemas/events.js';
import { LruMap } from './util.js';

/**
 * Recent changes per service, kept so that an incident opening later can find what changed before it.
 * Bounds: `maxPerService` newest changes per service (older dropped), `retentionMs` of event time, and
 * `maxServices` services (the least recently changed service's buffer is evicted).
 */
export class ChangeBuffer {
  private readonly byService: LruMap<string, ChangeEvent[]>;
  dropped = 0;

  constructor(
    private readonly retentionMs: number,
    private readonly maxPerService: number,
    maxServices: number,
  ) {
    this.byService = new LruMap(maxServices, (_k, v) => (this.dropped += v.length));
  }

  add(ev: ChangeEvent): void {
    let list = this.byService.get(ev.service);
    if (!list) {
      list = [];
      this.byService.set(ev.service, list);
    }
    if (list.some((c) => c.id === ev.id)) return;
    // Kept sorted by time (ties by id) so late changes land where they belong.
    let i = list.length;
    while (i > 0 && cmp(list[i - 1] as ChangeEvent, ev) > 0) i--;
    list.splice(i, 0, ev);
    if (list.length > this.maxPerService) {
      list.shift();
      this.dropped++;
    }
  }

  /** Changes of `service` at or after `since` that are still retained at `watermark`, oldest first. */
  recent(service: string, since: number, watermark: number): ChangeEvent[] {
    const list = this.byService.peek(service);
    if (!list) return [];
    const from = Math.max(since, watermark - this.retentionMs);
    return list.filter((c) => c.ts >= from);
  }

  /** Drops changes older than the retention. Iterates every service: call it rarely (the stage does once per minute of event time). */
  prune(watermark: number): void {
    const cut = watermark - this.retentionMs;
    const empty: string[] = [];
    for (const [svc, list] of this.byService.entries()) {
      let n = 0;
      while (n < list.length && (list[n] as ChangeEvent).ts < cut) n++;
      if (n > 0) list.splice(0, n);
      if (list.length === 0) empty.push(svc);
    }
    for (const s of empty) this.byService.delete(s);
  }

  get services(): number {
    return this.byService.size;
  }
}

function cmp(a: ChangeEvent, b: ChangeEvent): number {
  return a.ts !== b.ts ? a.ts - b.ts : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
