import { parseArgs } from 'node:util';
import { loadTopologyFile } from '../ingest/topology.js';
import { buildEmbedded, type PipelineStats } from '../pipeline/build.js';
import { loadConfig } from '../pipeline/config.js';
import { MemoryDeadLetters, type DeadLetterSink } from '../core/deadletter.js';
import { createLogger } from '../core/log.js';
import { replayRecords } from '../core/replay.js';
import { NdjsonDeadLetters } from '../sinks/index.js';
import { assembleSinks } from '../pipeline/sinks.js';
import { pastIncidentsFromEnv } from '../mcp/past-incidents.js';
import { llmConfigFromEnv, RunLog } from '../reasoning/llm/index.js';
import { formatRunSummary, summarizeRuns } from '../eval/llm.js';
import { NightshiftError } from '../core/errors.js';
import { Progress, UsageError, type CliIo } from './io.js';

export const REPLAY_HELP = `nightshift replay --in FILE [--topology FILE] [--out FILE|-] [--dead-letters FILE] [--config FILE] [--quiet]

Runs a replay file (NDJSON, one Kafka record per line in kcat -J shape) through the embedded pipeline and writes
one NDJSON line per incident change to --out (default: stdout). A summary goes to stderr.
  --in FILE            replay file, or - for stdin
  --topology FILE      CMDB file (YAML or JSON); without it call edges are learned from traces
  --out FILE           incident output (default -: stdout)
  --dead-letters FILE  write rejected records as NDJSON (default: kept in memory, counted in the summary)
  --config FILE        configuration (YAML or JSON)
  --quiet              no progress or summary
Set NIGHTSHIFT_LLM_MODEL (and OPENAI_BASE_URL / OPENAI_API_KEY) to add LLM root-cause analysis.`;

export const REPLAY_OPTIONS = {
  in: { type: 'string' },
  topology: { type: 'string' },
  out: { type: 'string', default: '-' },
  'dead-letters': { type: 'string' },
  config: { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

export interface ReplayResult {
  readonly stats: PipelineStats;
}

/** What a caller inside nightshift may set beyond the command line. */
export interface ReplayCallOptions {
  /** pino level; default NIGHTSHIFT_LOG_LEVEL or info (warn with --quiet). */
  readonly logLevel?: string;
}

export async function replayCommand(argv: string[], io: CliIo, call: ReplayCallOptions = {}): Promise<ReplayResult> {
  const { values } = parseArgs({ args: argv, options: REPLAY_OPTIONS, strict: true });
  if (!values.in) throw new UsageError('replay needs --in FILE');
  const cfg = await loadConfig(values.config);
  const topology = values.topology ? await loadTopologyFile(values.topology) : undefined;
  const dlFile = values['dead-letters'] ? new NdjsonDeadLetters(values['dead-letters']) : null;
  const deadLetters: DeadLetterSink = dlFile ?? new MemoryDeadLetters();
  const log = createLogger(call.logLevel ?? (values.quiet ? 'warn' : undefined));
  // Inline: each LLM answer is awaited (after the ranker's output is published), so a replay is reproducible.
  const llm = llmConfigFromEnv(process.env, cfg.llm, { mode: 'inline' });
  const assembled = await assembleSinks({ config: cfg, env: process.env, deps: { log, deadLetters }, out: values.out, store: 'embedded', llm: llm !== null, ...(topology ? { topology } : {}) });
  // The embedded scope always yields a store (one that is off when NIGHTSHIFT_ANALYTICS=off).
  const analytics = assembled.analytics!;
  const { ticketing, recorder } = assembled;
  const runLog = new RunLog();
  const onRun = (r: Parameters<RunLog['add']>[0]): void => {
    runLog.add(r);
    recorder?.record(r);
  };
  // The LLM learns from past incidents whose cause feedback confirmed, in the store this replay writes to.
  const past = llm && analytics.store ? pastIncidentsFromEnv(process.env, analytics.store.client, analytics.store.config.database, analytics.description) : null;
  const p = buildEmbedded(cfg, { log, deadLetters, analytics, llm, onRun, ...(past ? { pastIncidents: past } : {}), ...(topology ? { topology } : {}) }, assembled.sink);
  const progress = new Progress(io, 'replay', 100_000, values.quiet);
  const input = values.in === '-' ? process.stdin : values.in;
  try {
    await p.run(replayRecords(input, { maxLineBytes: cfg.pipeline.maxLineBytes, deadLetters, onLine: (n) => progress.tick(n), worker: cfg.pipeline.parseWorker }));
  } finally {
    progress.done();
    await assembled.close();
    dlFile?.close();
  }
  const stats = p.stats();
  const events = stats.stages['ingest']?.sent ?? 0;
  if (stats.deadLetters.total > 0 && events === 0) {
    io.stderr.write(formatSummary(stats));
    throw new NightshiftError(
      'NO_VALID_INPUT',
      `every record of ${values.in === '-' ? 'stdin' : values.in} was rejected (${stats.deadLetters.total} dead letters ${JSON.stringify(stats.deadLetters.byCode)}); ` +
        'is it a replay file (NDJSON, one kcat -J record a line, optionally gzipped)?',
    );
  }
  if (!values.quiet) {
    io.stderr.write(formatSummary(stats));
    if (llm) io.stderr.write(formatRunSummary(summarizeRuns(runLog.runs)));
    io.stderr.write(`analytics:         ${analytics.description}\n`);
    if (ticketing) io.stderr.write(`ticketing:         ${JSON.stringify(ticketing.stats())}\n`);
  }
  return { stats };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

export function formatSummary(s: PipelineStats): string {
  const lines = [
    `records in:        ${s.rawRecords}`,
    `dead letters:      ${s.deadLetters.total}${s.deadLetters.total ? ` ${JSON.stringify(s.deadLetters.byCode)}` : ''}`,
    `secrets redacted:  ${Object.values(s.redacted).reduce((a, b) => a + b, 0)}${Object.keys(s.redacted).length ? ` ${JSON.stringify(s.redacted)}` : ''}`,
    `alert notifications: ${s.rawAlerts}`,
    `signals:           ${s.signals}`,
    `incidents:         ${s.incidents} (bundles emitted: ${s.bundles.emitted}, mean ${s.bundles.emitted ? Math.round(s.bundles.bytesTotal / s.bundles.emitted) : 0} bytes, max ${s.bundles.bytesMax})`,
    `noise reduction:   alerts->incidents ${s.rawAlerts ? pct(1 - s.incidents / s.rawAlerts) : 'n/a'}, records->bundles ${s.rawRecords ? pct(1 - s.bundles.emitted / s.rawRecords) : 'n/a'}`,
  ];
  return `${lines.join('\n')}\n`;
}
