import { Counters } from '../../core/counters.js';
import type { PipelineStatsRow } from './rows.js';
import { VERSION_SEQ_SLOTS } from './rows.js';
import type { RowWriter } from './writer.js';

const MINUTE = 60_000;

interface MinuteCounts {
  records_in: number;
  alerts_in: number;
  signals: number;
  incidents_opened: number;
  bundles: number;
  dirty: boolean;
}

/**
 * Per event-time minute counts for `pipeline_stats`. Counting is synchronous (signals arrive from a synchronous
 * observer); writing happens at async points: when the event watermark enters a new minute, every minute whose counts
 * changed is written again as a whole row with a higher version (late signals and incidents land in earlier minutes,
 * and ReplacingMergeTree keeps the newest row per minute). Versions come from the event watermark, so a restarted
 * pipeline's rows replace an older run's rows for the same minutes.
 *
 * Bound: at most `maxMinutes` minutes are open. A new minute beyond it first writes and closes the oldest; a count
 * for a minute that is already closed is not written (counted as dropped `stats_minute_closed`), because rewriting a
 * closed minute from zero would replace the right row with a partial one.
 */
export class PipelineStatsRecorder {
  readonly counters = new Counters();
  private readonly minutes = new Map<number, MinuteCounts>();
  private closedBefore = Number.NEGATIVE_INFINITY;
  private watermark = 0;
  private lastMinute = Number.NEGATIVE_INFINITY;
  private versionBase = 0;
  private versionSeq = 0;

  constructor(
    private readonly pipeline: string,
    private readonly writer: RowWriter,
    private readonly maxMinutes: number,
  ) {}

  get openMinutes(): number {
    return this.minutes.size;
  }

  private slot(ts: number, mayCreate: boolean): MinuteCounts | null {
    const m = Math.floor(ts / MINUTE) * MINUTE;
    const cur = this.minutes.get(m);
    if (cur) return cur;
    if (m < this.closedBefore || (!mayCreate && this.minutes.size >= this.maxMinutes)) {
      this.counters.drop('stats_minute_closed');
      return null;
    }
    const c: MinuteCounts = { records_in: 0, alerts_in: 0, signals: 0, incidents_opened: 0, bundles: 0, dirty: true };
    this.minutes.set(m, c);
    return c;
  }

  /** An event passed ingest. Returns true when it is time to `writeDirty`: a new minute, or more minutes open than the bound. */
  countRecord(ts: number, isAlert: boolean): boolean {
    if (!Number.isFinite(ts)) return false;
    const c = this.slot(ts, true);
    if (c) {
      c.records_in++;
      if (isAlert) c.alerts_in++;
      c.dirty = true;
    }
    if (ts > this.watermark) this.watermark = ts;
    const minute = Math.floor(this.watermark / MINUTE);
    if (minute > this.lastMinute) {
      this.lastMinute = minute;
      return true;
    }
    // Out-of-order events can open old minutes without moving the watermark: write (and trim) at the bound.
    return this.minutes.size > this.maxMinutes;
  }

  countSignal(ts: number): void {
    const c = this.slot(ts, false);
    if (c) {
      c.signals++;
      c.dirty = true;
    }
  }

  countIncidentOpened(openedAt: number): void {
    const c = this.slot(openedAt, false);
    if (c) {
      c.incidents_opened++;
      c.dirty = true;
    }
  }

  countBundle(ts: number): void {
    const c = this.slot(ts, false);
    if (c) {
      c.bundles++;
      c.dirty = true;
    }
  }

  private nextVersion(): number {
    if (this.watermark !== this.versionBase) {
      this.versionBase = this.watermark;
      this.versionSeq = 0;
    }
    const v = this.versionBase * VERSION_SEQ_SLOTS + Math.min(this.versionSeq, VERSION_SEQ_SLOTS - 1);
    this.versionSeq++;
    return v;
  }

  private row(minute: number, c: MinuteCounts, version: number): PipelineStatsRow {
    return {
      pipeline: this.pipeline,
      minute_ms: minute,
      version,
      records_in: c.records_in,
      alerts_in: c.alerts_in,
      signals: c.signals,
      incidents_opened: c.incidents_opened,
      bundles: c.bundles,
      noise_reduction: c.records_in > 0 ? Math.round((1 - c.signals / c.records_in) * 1e6) / 1e6 : 0,
    };
  }

  /** Writes every changed minute (in minute order), then closes the oldest minutes beyond the bound. */
  async writeDirty(): Promise<void> {
    const keys = [...this.minutes.keys()].sort((a, b) => a - b);
    const version = this.nextVersion();
    for (const m of keys) {
      const c = this.minutes.get(m)!;
      if (!c.dirty) continue;
      c.dirty = false;
      await this.writer.write(this.row(m, c, version), { key: `${this.pipeline}@${m}` });
    }
    let excess = keys.length - this.maxMinutes;
    for (const m of keys) {
      if (excess-- <= 0) break;
      this.minutes.delete(m);
      this.closedBefore = m + MINUTE;
    }
  }
}
