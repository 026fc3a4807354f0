import { z } from 'zod';
import { SecretRedactionConfig } from '../core/redact/index.js';

/** Which kind of record each topic carries. Topics not named here are dead-lettered as UNKNOWN_TOPIC. */
export const IngestTopics = z.strictObject({
  alerts: z.string().min(1).default('alerts'),
  logs: z.string().min(1).default('logs'),
  metrics: z.string().min(1).default('metrics'),
  traces: z.string().min(1).default('traces'),
  changes: z.string().min(1).default('changes'),
});
export type IngestTopics = z.infer<typeof IngestTopics>;
export type InputKind = keyof IngestTopics;

export const IngestConfig = z
  .strictObject({
    topics: IngestTopics.default({ alerts: 'alerts', logs: 'logs', metrics: 'metrics', traces: 'traces', changes: 'changes' }),
    /** Labels that name an alert's service, first present wins (after a plain alert's own `service` field). */
    serviceLabels: z.array(z.string().min(1)).min(1).default(['service', 'service_name', 'app', 'job']),
    /** Payloads above this size (UTF-8 bytes) are dead-lettered as RECORD_TOO_LARGE without being parsed. */
    maxRecordBytes: z.number().int().positive().default(1_048_576),
    /**
     * Secret redaction of every text field, at ingest (ingest/redact.ts). `deadLetters`: dead-letter copies of bad
     * input are redacted too (they are read by people and kept on a topic); off only to reprocess them verbatim.
     */
    redact: SecretRedactionConfig.extend({ deadLetters: z.boolean().default(true) }).default(() => ({ ...SecretRedactionConfig.parse({}), deadLetters: true })),
  })
  .refine((c) => new Set(Object.values(c.topics)).size === Object.keys(c.topics).length, {
    message: 'each kind needs its own topic: two kinds share a topic name',
    path: ['topics'],
  });
export type IngestConfig = z.infer<typeof IngestConfig>;

export function defaultIngestConfig(): IngestConfig {
  return IngestConfig.parse({});
}

const KINDS: readonly InputKind[] = ['alerts', 'logs', 'metrics', 'traces', 'changes'];

/** Topic -> kind. Five string compares per record is cheaper than caching a reverse map per config object. */
export function topicKind(topic: string, cfg: IngestConfig): InputKind | undefined {
  for (const k of KINDS) if (cfg.topics[k] === topic) return k;
  return undefined;
}
