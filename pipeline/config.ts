import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { IngestConfig } from '../ingest/config.js';
import { PerceptionConfig } from '../perception/config.js';
import { ReasoningConfig } from '../reasoning/stage.js';
import { ValueModel } from '../sinks/clickhouse/value-model.js';
import { NightshiftError } from '../core/errors.js';

export const PipelineConfig = z.strictObject({
  /** Batches in flight between two stages; when full the stage before waits (backpressure, never a drop). */
  queueBatches: z.number().int().min(1).max(4096).default(16),
  /** Records per batch formed by the source. */
  batchSize: z.number().int().min(1).max(65_536).default(256),
  /** Longest replay line accepted (bytes); longer lines are dead-lettered without being held in memory. */
  maxLineBytes: z.number().int().min(1024).default(4 * 1_048_576),
  /**
   * `nightshift replay` of a file reads, splits and JSON-parses it in a worker thread (core/replay-worker.ts), so
   * the pipeline's thread does not; stdin is always read in the pipeline's thread. Same records, same order.
   * Off by default: on the shared 2-core machine bench:replay gave ratios of 0.118-0.139 with it and 0.110-0.135
   * without (3 and 5 runs, same session), a gain within the noise, for about 130 MiB more peak RSS.
   */
  parseWorker: z.boolean().default(false),
  /**
   * Event-time alignment before perception (pipeline/align.ts), as the Kafka lanes do it (kafka.alignIdleMs,
   * kafka.alignMaxEvents, same defaults): a source (event kind) more than alignIdleMs of event time behind the newest
   * event stops holding the others back; at most alignMaxEvents wait.
   */
  alignIdleMs: z.number().int().min(0).max(86_400_000).default(300_000),
  alignMaxEvents: z.number().int().min(1).max(10_000_000).default(50_000),
});
export type PipelineConfig = z.infer<typeof PipelineConfig>;

/** The whole configuration. Every section is optional in a file and defaulted here, then validated once. */
export const NightshiftConfig = z.strictObject({
  ingest: z.unknown().optional().transform((v, ctx) => parseSection(IngestConfig, v, 'ingest', ctx)),
  perception: z.unknown().optional().transform((v, ctx) => parseSection(PerceptionConfig, v, 'perception', ctx)),
  reasoning: z.unknown().optional().transform((v, ctx) => parseSection(ReasoningConfig, v, 'reasoning', ctx)),
  pipeline: z.unknown().optional().transform((v, ctx) => parseSection(PipelineConfig, v, 'pipeline', ctx)),
  /** The value model of `nightshift value` and valueReport (sinks/clickhouse/value-model.ts, every field commented). */
  value: z.unknown().optional().transform((v, ctx) => parseSection(ValueModel, v, 'value', ctx)),
  /** Validated by the ticketing sink itself (sinks/ticketing/config.ts), together with its environment variables. */
  ticketing: z.unknown().optional(),
  /** Validated by the LLM stage (reasoning/llm/config.ts), together with its environment variables. */
  llm: z.unknown().optional(),
  /** Cluster mode: validated by pipeline/kafka/config.ts, together with its environment variables. */
  kafka: z.unknown().optional(),
});
export type NightshiftConfig = z.infer<typeof NightshiftConfig>;

function parseSection<T>(schema: z.ZodType<T>, v: unknown, name: string, ctx: z.RefinementCtx): T {
  const r = schema.safeParse(v ?? {});
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [name, ...issue.path.map(String)] });
  return z.NEVER;
}

export function defaultConfig(): NightshiftConfig {
  return NightshiftConfig.parse({});
}

/** Environment overrides, for the container world: they win over the file. */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = { ...raw };
  const topics: Record<string, string> = {};
  for (const k of ['alerts', 'logs', 'metrics', 'traces', 'changes'] as const) {
    const v = env[`NIGHTSHIFT_TOPIC_${k.toUpperCase()}`];
    if (v) topics[k] = v;
  }
  if (Object.keys(topics).length > 0) {
    const ingest = (out.ingest ?? {}) as Record<string, unknown>;
    out.ingest = { ...ingest, topics: { ...((ingest.topics ?? {}) as Record<string, unknown>), ...topics } };
  }
  return out;
}

export function parseConfigText(text: string, fileName: string): unknown {
  try {
    return /\.ya?ml$/i.test(fileName) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new NightshiftError('INVALID_JSON', `config ${fileName} does not parse: ${(e as Error).message}`);
  }
}

export async function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<NightshiftConfig> {
  let raw: unknown = {};
  if (path) raw = parseConfigText(await readFile(path, 'utf8'), path) ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new NightshiftError('CONFIG_INVALID', `config ${path}: the top level must be an object`);
  }
  const r = NightshiftConfig.safeParse(applyEnv(raw as Record<string, unknown>, env));
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new NightshiftError('CONFIG_INVALID', `config ${path ?? '(defaults)'} is invalid: ${msg}`);
  }
  return r.data;
}
