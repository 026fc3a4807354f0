import { describe, expect, it } from 'vitest';
import { RUN_ENV, parseTestTopic, uniquePrefix } from './helpers/kafka.js';

describe('test topic pruning', () => {
  it('reads back the run and creation time of every topic and group name uniquePrefix makes, and nothing else', () => {
    const before = Date.now();
    const prefix = uniquePrefix('sinkout-stop');
    for (const t of [prefix, `${prefix}.alerts`, `${prefix}.deadletters`, `${prefix}-g`]) {
      const p = parseTestTopic(t);
      expect(p, t).not.toBeNull();
      expect(p!.run).toBe(process.env[RUN_ENV]);
      expect(p!.at).toBeGreaterThanOrEqual(before);
      expect(p!.at).toBeLessThanOrEqual(Date.now());
    }
    // The project's own topics and a benchmark's are never a test's to delete.
    for (const t of ['nightshift.rca', 'nightshift.raw.logs', 'bench-clients-abc.consume', 't-x', '__consumer_offsets']) expect(parseTestTopic(t), t).toBeNull();
  });
});
