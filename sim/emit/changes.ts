import type { PlannedChange } from '../noise.js';
import type { RecordBuffer } from './sink.js';
import { iso } from './time.js';

/**
 * Change events as CD tools post them: deploys and config pushes (from the deploy pipeline) carry ISO-8601 times,
 * flag and infra changes (from the flag service and the cluster autoscaler) epoch ms.
 */
export class ChangeEmitter {
  private next = 0;

  constructor(
    private readonly changes: readonly PlannedChange[],
    private readonly delay: (maxMs: number) => number,
  ) {}

  emit(t: number, stepMs: number, buf: RecordBuffer): number {
    let n = 0;
    while (this.next < this.changes.length) {
      const c = this.changes[this.next] as PlannedChange;
      if (c.ts >= t + stepMs) break;
      this.next++;
      if (c.ts < t) continue; // planned before the run started
      const payload = {
        ts: c.kind === 'deploy' || c.kind === 'config' ? iso(c.ts) : c.ts,
        service: c.service,
        kind: c.kind,
        id: c.id,
        summary: c.summary,
        author: c.author,
      };
      buf.push('changes', c.service, JSON.stringify(payload), c.ts + this.delay(1500));
      n++;
    }
    return n;
  }
}
