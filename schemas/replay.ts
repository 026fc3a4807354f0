import { z } from 'zod';

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

/** Ground truth of a simulated (or labelled) fault, one per line. */
export const GroundTruth = z.object({
  fault_id: z.string().min(1),
  service: z.string().min(1),
  kind: z.string().min(1),
  start: z.number(),
  end: z.number(),
});
export type GroundTruth = z.infer<typeof GroundTruth>;
