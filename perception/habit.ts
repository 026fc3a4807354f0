/**
 * A series' habit: the episodes it started recently and how far each went. Real fleets have series that spike
 * every few minutes for reasons nobody will ever fix (a GC cycle, a cron job, a cache refresh); each spike passes
 * every detector test, and on the real recordings such a series out-scored the root of most code faults. A spike no
 * bigger than the series' usual ones is the series' habit, not news: it is scored down. A spike well beyond them is
 * news whatever the habit (a fault on a flapping series moves it tens of times further), so only the magnitude
 * relative to the series' own past episodes decides, never its name or its kind.
 */

/** Past episodes kept per series: enough for a median, small enough to be a fixed cost per series. */
export const HABIT_SLOTS = 8;

export interface HabitConfig {
  /** Episodes within `windowMs` before the current one that make a habit; 0 turns the discount off. */
  readonly episodes: number;
  readonly windowMs: number;
  /**
   * Only episodes at most this long count: a habit is brief and recurrent. A fault holds a series anomalous for
   * minutes, and a series through which several faults passed is not flapping (its next fault is news again).
   */
  readonly briefMs: number;
  /** A spike up to this multiple of the median past excursion is habitual. */
  readonly magnitude: number;
  /** Multiplier of a habitual spike's score. */
  readonly weight: number;
}

export class SeriesHabit {
  private readonly ts = new Float64Array(HABIT_SLOTS);
  private readonly excess = new Float64Array(HABIT_SLOTS);
  private next = 0;
  private count = 0;

  /** A finished episode: when it started and ended and how far it went from its baseline. */
  record(startTs: number, endTs: number, excess: number, cfg: HabitConfig): void {
    if (endTs - startTs > cfg.briefMs) return;
    this.ts[this.next] = startTs;
    this.excess[this.next] = Math.abs(excess);
    this.next = (this.next + 1) % HABIT_SLOTS;
    if (this.count < HABIT_SLOTS) this.count++;
  }

  /** The score multiplier of a spike of `excess` at `ts`: `cfg.weight` when habitual, else 1. */
  weight(ts: number, excess: number, cfg: HabitConfig): number {
    if (cfg.episodes <= 0 || this.count < cfg.episodes) return 1;
    const recent: number[] = [];
    for (let i = 0; i < this.count; i++) if (ts - (this.ts[i] as number) <= cfg.windowMs) recent.push(this.excess[i] as number);
    if (recent.length < cfg.episodes) return 1;
    recent.sort((a, b) => a - b);
    const mid = recent.length >> 1;
    const median = recent.length % 2 ? (recent[mid] as number) : ((recent[mid - 1] as number) + (recent[mid] as number)) / 2;
    return Math.abs(excess) <= cfg.magnitude * median ? cfg.weight : 1;
  }
}
