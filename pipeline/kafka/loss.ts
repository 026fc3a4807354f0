import type { Logger } from 'pino';
import type { Sample } from '../../core/metrics.js';
import { partitionKey } from './offsets.js';

interface Entry {
  readonly topic: string;
  readonly partition: number;
  resets: number;
  lost: number;
}

/**
 * Records never read. kafkajs, when a group's committed offset is no longer on the broker (retention deleted the
 * segment first), logs "Offset out of range, resetting to default offset" and goes on from the earliest offset; a
 * stage runner then sees its partition start (or continue) past the offset it was due to read. Both become counts
 * here, per topic and partition, and one error line each saying how many and why.
 */
export class OffsetLoss {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly log: Logger) {}

  private entry(topic: string, partition: number): Entry {
    const key = partitionKey(topic, partition);
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { topic, partition, resets: 0, lost: 0 }));
    return e;
  }

  /** From kafkajs's log: it is resetting this partition's offset for the group. */
  onReset(topic: string, partition: number, groupId: string): void {
    this.entry(topic, partition).resets++;
    this.log.warn({ topic, partition, groupId }, 'offset reset: the committed offset is no longer on the broker; records in between are counted as lost when the partition resumes');
  }

  /** From a stage runner: offsets [from, to) were due next and never delivered. */
  onGap(stage: string, topic: string, partition: number, from: number, to: number): void {
    const lost = to - from;
    if (lost <= 0) return;
    this.entry(topic, partition).lost += lost;
    this.log.error(
      { stage, topic, partition, from, to, lost },
      `${lost} records lost on ${topic}/${partition}: offsets ${from}..${to - 1} were deleted (retention) before ${stage} read them`,
    );
  }

  lostSamples(): Sample[] {
    return [...this.entries.values()].map((e) => ({ labels: { topic: e.topic, partition: String(e.partition) }, value: e.lost }));
  }

  resetSamples(): Sample[] {
    return [...this.entries.values()].map((e) => ({ labels: { topic: e.topic, partition: String(e.partition) }, value: e.resets }));
  }
}
