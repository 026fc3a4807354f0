import { z } from 'zod';

/** Event time everywhere is epoch milliseconds (integers). Adapters convert ISO-8601 and OTLP nanoseconds. */
export const EpochMs = z.number().int().nonnegative();
export const ServiceName = z.string().min(1).max(256);
export const Labels = z.record(z.string(), z.string());

/** The closed set of root-cause kinds of the output contract. */
export const RootCauseKind = z.enum(['latency', 'errors', 'saturation', 'deploy', 'resource', 'dependency', 'unknown']);
export type RootCauseKind = z.infer<typeof RootCauseKind>;

export const Severity = z.enum(['critical', 'error', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;
