import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { NightshiftError } from '../core/errors.js';
import type { GroundTruth } from '../schemas/replay.js';
import type { TopologyFile } from '../schemas/topology.js';
import { parseSimConfig, type SimConfigInput } from './config.js';
import type { ReplayRecordLine, Topic } from './emit/sink.js';
import type { Fault } from './faults.js';
import { buildScenario, generate, newTally, topologyOf, truthOf, type Scenario, type Tally } from './generate.js';
import type { NoisePlan, PlannedChange } from './noise.js';
import type { MetricStyle, ShapePlan, Spike } from './shapes.js';

export { SimConfig, FaultType, NoiseConfig, ShapesConfig, NO_SHAPES, parseSimConfig, type SimConfigInput } from './config.js';
export type { MetricStyle, CloseFaults } from './shapes.js';
export { FAULT_KIND, type Fault, type TruthKind } from './faults.js';
export type { ReplayRecordLine, Topic } from './emit/sink.js';
export { buildScenario, type Scenario } from './generate.js';

export interface SimulationResult {
  records: number;
  byTopic: Record<Topic, number>;
  faults: GroundTruth[];
  topology: TopologyFile;
  startMs: number;
  endMs: number;
  /** Alert notifications: entries of alerts[] of every webhook (repeats included) plus plain alerts. */
  rawAlerts: number;
  /** The faults with their scenario type (e.g. memory_leak, whose truth kind is resource). */
  faultDetails: Fault[];
  /** Deploys/config changes of healthy neighbours placed shortly before faults on purpose. */
  redHerrings: PlannedChange[];
  /** The noise that is not a fault (for diagnosing false incidents): blips, flappers, long-running alerts, backups. */
  noise: Pick<NoisePlan, 'blips' | 'flappers' | 'longRunning' | 'maintenance'>;
  /** The real-recording shapes the scenario carries (percentage metrics, warning-only fleet, close faults, ...). */
  shapes: ShapeSummary;
}

/** The shape plan without the per-service arrays: which shapes are on, and which services export per pod. */
export interface ShapeSummary {
  percentMetrics: boolean;
  warningOnly: boolean;
  closeFaults: ShapePlan['closeFaults'];
  quantiles: boolean;
  perPod: boolean;
  /** The service with habitual latency spikes (`spiky` shape), and when they are. */
  spiky: { service: string; ts: number[] } | null;
  /** Services whose metrics are exported per pod. */
  podServices: string[];
  /** Services per metric style (`percent`, `ratio`; `classic` is the rest). */
  styles: Record<string, MetricStyle>;
}

function shapeSummary(sc: Scenario): ShapeSummary {
  const { percentMetrics, warningOnly, closeFaults, quantiles, perPod, style, podSeries, spikes } = sc.shapes;
  const names = sc.world.services.map((s) => s.name);
  const styles: Record<string, MetricStyle> = {};
  names.forEach((n, i) => {
    const st = style[i] ?? 'classic';
    if (st !== 'classic') styles[n] = st;
  });
  const spiky = spikes.length > 0 ? { service: (spikes[0] as Spike).service, ts: spikes.map((b) => b.ts) } : null;
  return { percentMetrics, warningOnly, closeFaults, quantiles, perPod, spiky, podServices: names.filter((_, i) => podSeries[i]), styles };
}

function resultOf(sc: Scenario, tally: Tally): SimulationResult {
  return {
    records: tally.records,
    byTopic: { ...tally.byTopic },
    faults: truthOf(sc),
    topology: topologyOf(sc),
    startMs: sc.startMs,
    endMs: sc.endMs,
    rawAlerts: tally.rawAlerts,
    faultDetails: [...sc.faults],
    redHerrings: sc.noise.changes.filter((c) => c.reason === 'red_herring'),
    noise: { blips: sc.noise.blips, flappers: sc.noise.flappers, longRunning: sc.noise.longRunning, maintenance: sc.noise.maintenance },
    shapes: shapeSummary(sc),
  };
}

/** The kcat -J line of a record (fixed key order, so files are byte-stable). */
export function replayLine(r: ReplayRecordLine): string {
  // Same text as JSON.stringify({topic, key, payload, ts}) without building the object (this is the hot path).
  const key = r.key === null ? 'null' : JSON.stringify(r.key);
  return `{"topic":"${r.topic}","key":${key},"payload":${JSON.stringify(r.payload)},"ts":${r.ts}}`;
}

/**
 * In-memory generation: `records` yields records in ts order, lazily; `result()` reports the counts of what the
 * latest iteration has yielded so far (final once it is complete). Throws CONFIG_INVALID on a bad config.
 */
export function simulate(cfg: Partial<SimConfigInput>): { records: Iterable<ReplayRecordLine>; result: () => SimulationResult } {
  const sc = buildScenario(parseSimConfig(cfg));
  let tally = newTally();
  // Each iteration regenerates the same records from scratch (and restarts the counts).
  const records = {
    [Symbol.iterator]: (): Iterator<ReplayRecordLine> => {
      tally = newTally();
      return generate(sc, tally);
    },
  };
  return { records, result: () => resultOf(sc, tally) };
}

const CHUNK_CHARS = 1 << 18;

async function writeAll(ws: WriteStream, chunk: string): Promise<void> {
  if (!ws.write(chunk)) await once(ws, 'drain');
}

async function close(ws: WriteStream): Promise<void> {
  ws.end();
  await once(ws, 'finish');
}

function open(path: string): WriteStream {
  const ws = createWriteStream(path, { encoding: 'utf8', highWaterMark: 4 << 20 });
  // Errors surface through `once` (it rejects on 'error'); this listener only prevents an unhandled event.
  ws.on('error', () => undefined);
  return ws;
}

/** `<out>.topology.json` beside the replay file (`out.ndjson` -> `out.topology.json`). */
export function defaultTopologyPath(replay: string): string {
  return `${replay.replace(/\.(ndjson|jsonl|json)$/i, '')}.topology.json`;
}

/**
 * Streams the replay file (never the whole file in memory: lines are written in ~256 KiB chunks with back-pressure),
 * then the ground truth (NDJSON) and the topology (JSON).
 */
export async function simulateToFiles(
  cfg: Partial<SimConfigInput>,
  paths: { replay: string; truth: string; topology?: string },
  onProgress?: (p: { ts: number; records: number }) => void,
): Promise<SimulationResult> {
  const sc = buildScenario(parseSimConfig(cfg));
  const tally = newTally();
  const streams: WriteStream[] = [];
  try {
    const replay = open(paths.replay);
    streams.push(replay);
    let chunk = '';
    let nextProgress = 50_000;
    for (const r of generate(sc, tally)) {
      chunk += replayLine(r) + '\n';
      if (chunk.length >= CHUNK_CHARS) {
        await writeAll(replay, chunk);
        chunk = '';
      }
      if (onProgress && tally.records >= nextProgress) {
        onProgress({ ts: r.ts, records: tally.records });
        nextProgress += 50_000;
      }
    }
    if (chunk) await writeAll(replay, chunk);
    await close(replay);
    const truth = open(paths.truth);
    streams.push(truth);
    await writeAll(truth, truthOf(sc).map((g) => JSON.stringify(g) + '\n').join(''));
    await close(truth);
    const topo = open(paths.topology ?? defaultTopologyPath(paths.replay));
    streams.push(topo);
    await writeAll(topo, JSON.stringify(topologyOf(sc), null, 2) + '\n');
    await close(topo);
  } catch (err) {
    for (const s of streams) s.destroy();
    if (err instanceof NightshiftError) throw err;
    throw new NightshiftError('IO_ERROR', `simulate: cannot write output: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  onProgress?.({ ts: tally.lastTs, records: tally.records });
  return resultOf(sc, tally);
}
