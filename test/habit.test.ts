/**
 * A series' habit (perception/habit.ts): brief spikes it shows every few minutes are scored down, a spike far beyond
 * them is not, and long episodes (faults) never make a habit. Found on real recordings: one service's p50 latency
 * rose from 5 ms to 50-90 ms for a minute every 10-15 minutes and out-ranked the roots of code faults.
 */
import { describe, expect, it } from 'vitest';
import { MetricsConfig } from '../perception/config.js';
import { HABIT_SLOTS, SeriesHabit, type HabitConfig } from '../perception/habit.js';
import { MetricPerception } from '../perception/metrics.js';
import type { Signal } from '../schemas/index.js';
import { MIN, T0, metric, rng } from './perception-fixtures.js';

const CFG: HabitConfig = { episodes: 3, windowMs: 120 * MIN, briefMs: 2 * MIN, magnitude: 2, weight: 0.5 };

describe('SeriesHabit', () => {
  it('discounts a spike no bigger than twice the median of its recent brief episodes', () => {
    const h = new SeriesHabit();
    for (let i = 0; i < 3; i++) h.record(T0 + i * 10 * MIN, T0 + i * 10 * MIN + MIN, 0.05 + i * 0.01, CFG);
    expect(h.weight(T0 + 40 * MIN, 0.08, CFG)).toBe(0.5);
    expect(h.weight(T0 + 40 * MIN, 0.5, CFG)).toBe(1);
  });

  it('needs enough episodes within the window, ignores long ones and can be turned off', () => {
    const h = new SeriesHabit();
    for (let i = 0; i < 2; i++) h.record(T0 + i * 10 * MIN, T0 + i * 10 * MIN, 0.05, CFG);
    expect(h.weight(T0 + 30 * MIN, 0.05, CFG)).toBe(1);
    h.record(T0 + 25 * MIN, T0 + 30 * MIN, 0.05, CFG); // five minutes long: a fault, not a habit
    expect(h.weight(T0 + 40 * MIN, 0.05, CFG)).toBe(1);
    h.record(T0 + 35 * MIN, T0 + 35 * MIN, 0.05, CFG);
    expect(h.weight(T0 + 40 * MIN, 0.05, CFG)).toBe(0.5);
    // Older than the window: forgotten.
    expect(h.weight(T0 + 40 * MIN + 120 * MIN, 0.05, CFG)).toBe(1);
    expect(h.weight(T0 + 40 * MIN, 0.05, { ...CFG, episodes: 0 })).toBe(1);
  });

  it('keeps a fixed number of episodes', () => {
    const h = new SeriesHabit();
    for (let i = 0; i < HABIT_SLOTS * 3; i++) h.record(T0 + i * MIN, T0 + i * MIN, i < HABIT_SLOTS * 2 ? 10 : 0.05, CFG);
    // Only the last HABIT_SLOTS (all 0.05) are left: the old large ones no longer raise the median.
    expect(h.weight(T0 + HABIT_SLOTS * 3 * MIN, 0.5, CFG)).toBe(1);
    expect(h.weight(T0 + HABIT_SLOTS * 3 * MIN, 0.08, CFG)).toBe(0.5);
  });
});

describe('MetricPerception habit', () => {
  /** 1-minute points of a p50 latency near 5 ms with a spike of `spikes(i)` seconds at minute i (or none). */
  const run = (cfg: Partial<MetricsConfig>, spike: (i: number) => number | undefined, minutes: number): Signal[] => {
    const mp = new MetricPerception(MetricsConfig.parse(cfg));
    const r = rng(7);
    const out: Signal[] = [];
    for (let i = 0; i < minutes; i++) out.push(...mp.observe(metric('currency', 'EdgeServerLatencyP50(s)', T0 + i * MIN, spike(i) ?? 0.005 + r() * 0.0005)));
    return out;
  };
  // Two-minute spikes to 50-70 ms every 12 minutes after a 40-minute baseline; at minute 160 a fault to 1.5 s.
  const habitual = (i: number): number | undefined => (i >= 40 && i % 12 < 2 ? 0.05 + ((i / 12) % 3) * 0.01 : i >= 160 && i < 163 ? 1.5 : undefined);

  it('scores down the recurring spikes once they are a habit, and a fault far beyond them not at all', () => {
    const out = run({}, habitual, 170);
    const spikes = out.filter((s) => s.ts < T0 + 160 * MIN);
    expect(spikes.length).toBeGreaterThanOrEqual(6);
    // The first ones are news; once three brief ones happened within two hours, the next are the series' habit.
    expect(spikes[0]!.score).toBeGreaterThanOrEqual(0.7);
    const late = spikes.filter((s) => s.ts >= T0 + 90 * MIN);
    expect(late.length).toBeGreaterThan(0);
    for (const s of late) {
      expect(s.score).toBeLessThan(0.7);
      expect(s.summary).toContain('usual spikes');
    }
    const fault = out.filter((s) => s.ts >= T0 + 160 * MIN);
    expect(fault.length).toBeGreaterThanOrEqual(1);
    expect(fault[0]!.score).toBeGreaterThanOrEqual(0.7);
  });

  it('with the habit turned off every spike keeps its score', () => {
    const out = run({ habitEpisodes: 0 }, habitual, 160);
    expect(out.length).toBeGreaterThanOrEqual(6);
    for (const s of out) expect(s.score).toBeGreaterThanOrEqual(0.7);
  });
});
