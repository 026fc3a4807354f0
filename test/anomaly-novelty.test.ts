import { describe, expect, it } from 'vitest';
import { createDetector, NOVELTY_FLOOR, restoreDetector } from '../perception/anomaly/index.js';

// A deterministic noisy flat series, one point a minute.
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return 100 + (x - Math.floor(x) - 0.5) * 4;
}

function spikeScore(spikeAtMinute: number, restoreHalfway = false): number {
  let d = createDetector();
  let score = 0;
  for (let i = 0; i <= spikeAtMinute; i++) {
    if (restoreHalfway && i === Math.floor(spikeAtMinute / 2)) d = restoreDetector(JSON.parse(JSON.stringify(d.toJSON())));
    const v = i === spikeAtMinute ? 160 : noise(i);
    score = d.update(i * 60_000, v).score;
  }
  return score;
}

describe('novelty needs a day of history', () => {
  it('a new extreme in a young series scores only as a deviation, below the novelty band', () => {
    const s = spikeScore(120);
    expect(s).toBeGreaterThan(0.5);
    expect(s).toBeLessThan(NOVELTY_FLOOR);
  });
  it('the same new extreme after a day of history scores in the novelty band, also across a snapshot restore', () => {
    expect(spikeScore(26 * 60)).toBeGreaterThanOrEqual(NOVELTY_FLOOR);
    expect(spikeScore(26 * 60, true)).toBeGreaterThanOrEqual(NOVELTY_FLOOR);
  });
});
