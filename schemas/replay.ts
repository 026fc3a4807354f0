import { z } from 'zod';
import { isInt, isNum, isObj } from './guard.js';

/** One Kafka record, in the shape `kcat -J` prints. `payload` is the message value as text. */
export const ReplayRecord = z.object({
  topic: z.string().min(1),
  key: z.string().nullable().optional(),
  payload: z.string(),
  ts: z.number().optional(),
  partition: z.number().int().optional(),
  offset: z.number().int().optional(),
});
export type ReplayRecord = z.infer<typeof ReplayRecord>;

/** ReplayRecord.safeParse(v).success, without the copy (schemas/guard.ts; tested to agree with the schema). */
export function isReplayRecord(v: unknown): v is ReplayRecord {
  if (!isObj(v)) return false;
  const { topic, key, payload, ts, partition, offset } = v;
  return (
    typeof topic === 'string' &&
    topic.length >= 1 &&
    (key === undefined || key === null || typeof key === 'string') &&
    typeof payload === 'string' &&
    (ts === undefined || isNum(ts)) &&
    (partition === undefined || isInt(partition)) &&
    (offset === undefined || isInt(offset))
  );
}

/** Ground truth of a simulated (or labelled) fault, one per line. */
export const GroundTruth = z.object({
  fault_id: z.string().min(1),
  service: z.string().min(1),
  kind: z.string().min(1),
  start: z.number(),
  end: z.number(),
});
export type GroundTruth = z.infer<typeof GroundTruth>;
