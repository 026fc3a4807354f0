import type { GroundTruth } from '../schemas/replay.js';
import type { TopologyFile } from '../schemas/topology.js';
import { AlertEngine } from './alertmanager.js';
import { SIM_STEP_MS, scenarioStartMs, type SimConfig } from './config.js';
import { ChangeEmitter } from './emit/changes.js';
import { LogEmitter } from './emit/logs.js';
import { emitMetrics, observe, type MetricSnapshot, type PodPoints } from './emit/metrics.js';
import { podStates } from './emit/pods.js';
import { exportedPoints } from './emit/series.js';
import { RecordBuffer, type ReplayRecordLine, type Topic } from './emit/sink.js';
import { TraceEmitter } from './emit/traces.js';
import { groundTruth, planFaults, type Fault } from './faults.js';
import { planNoise, type Blip, type NoisePlan } from './noise.js';
import { Rng } from './rng.js';
import { planShapes, type ShapePlan } from './shapes.js';
import { planSpikes } from './spikes.js';
import { StateModel } from './state.js';
import { buildWorld, type World } from './world.js';

const POD_RATE_WINDOW_MS = 120_000;

/** Everything decided before the first record: the estate, the faults and the noise. */
export interface Scenario {
  readonly cfg: SimConfig;
  readonly world: World;
  readonly faults: readonly Fault[];
  readonly noise: NoisePlan;
  /** The real-recording shapes this scenario carries (shapes.ts). */
  readonly shapes: ShapePlan;
  readonly startMs: number;
  readonly endMs: number;
  readonly rng: Rng;
}

export function buildScenario(cfg: SimConfig): Scenario {
  // Independent streams: e.g. changing the trace rate or the noise does not move the world or the faults.
  const rng = new Rng(`nightshift-sim:${cfg.seed}`);
  const startMs = scenarioStartMs(cfg);
  const endMs = startMs + Math.round(cfg.hours * 3_600_000);
  const world = buildWorld(cfg, rng.fork(`world:${cfg.services}`));
  const drawn = planShapes(cfg, world, rng.fork('shapes'));
  const { faults, close } = planFaults(cfg, world, startMs, rng.fork('faults'), drawn);
  const spikes = drawn.spiky ? planSpikes(world, faults, startMs, endMs, cfg.metricIntervalMs, rng.fork('spikes')) : [];
  const shapes: ShapePlan = { ...drawn, closeFaults: close, spikes };
  const noise = planNoise(cfg, world, faults, startMs, endMs, rng.fork('noise'));
  return { cfg, world, faults, noise, shapes, startMs, endMs, rng };
}

export interface Tally {
  records: number;
  byTopic: Record<Topic, number>;
  rawAlerts: number;
  lastTs: number;
}

export function newTally(): Tally {
  return { records: 0, byTopic: { alerts: 0, logs: 0, metrics: 0, traces: 0, changes: 0 }, rawAlerts: 0, lastTs: 0 };
}

export function truthOf(sc: Scenario): GroundTruth[] {
  return sc.faults.map(groundTruth);
}

export function topologyOf(sc: Scenario): TopologyFile {
  return sc.world.topology;
}

/**
 * The time loop: 5 s steps of event time. Each step computes every service's state, scrapes metrics and evaluates
 * alert rules on metric ticks, writes logs, traces and changes, then releases every buffered record that no later
 * step can precede. Records come out sorted by record ts (ties in generation order).
 */
export function* generate(sc: Scenario, tally: Tally): Generator<ReplayRecordLine> {
  const { cfg, world, startMs, endMs, rng } = sc;
  const maxDelay = cfg.noise.maxDelayMs;
  const delayRng = rng.fork('delay');
  // Skewed towards short delays: most records arrive within a few hundred ms, a few take seconds.
  const delay = (maxMs: number): number => (maxDelay === 0 ? 0 : Math.round(delayRng.next() ** 3 * Math.min(maxMs, maxDelay)));
  const model = new StateModel(world, sc.faults, sc.noise, rng.fork('state'));
  const alerts = new AlertEngine(world, sc.noise, startMs, endMs, rng.fork('alerts'), sc.shapes.warningOnly);
  const logs = new LogEmitter(world, sc.noise, rng.fork('logs'), { volume: cfg.logVolume, delay });
  const traces = new TraceEmitter(world, rng.fork('traces'), cfg.traceSamplesPerMinute, delay, sc.noise.changes);
  const changes = new ChangeEmitter(sc.noise.changes, delay);
  const metricRng = rng.fork('metrics');
  // Pods and quantiles draw from their own stream, so the classic series of a scenario stay as they were.
  const shapeRng = rng.fork('metric-shapes');
  const { style, quantiles, podSeries } = sc.shapes;
  const blips = new Map<number, Blip[]>();
  for (const b of [...sc.noise.blips, ...sc.shapes.spikes]) blips.set(b.ts, [...(blips.get(b.ts) ?? []), b]);
  const buf = new RecordBuffer();

  const release = function* (limit: number): Generator<ReplayRecordLine> {
    for (const r of buf.drain(limit)) {
      tally.records++;
      tally.byTopic[r.topic]++;
      tally.lastTs = r.ts;
      yield r;
    }
  };

  for (let t = startMs; t < endMs; t += SIM_STEP_MS) {
    const states = model.advance(t);
    alerts.observe(states);
    if ((t - startMs) % cfg.metricIntervalMs === 0) {
      const now = blips.get(t) ?? [];
      const snaps: (MetricSnapshot | null)[] = states.map((s) => (s.up ? observe(s, cfg.metricIntervalMs, metricRng, now) : null));
      // Per-pod series: each pod scraped on its own (what per-instance alert rules see too).
      const views = states.map((s, i) => (s.up && podSeries[i] ? podStates(s) : null));
      // A pod's error ratio is estimated over a 2 min rate window, as per-pod dashboards and rules do
      // (`rate(...[2m])`): a pod of a low-traffic worker sees a handful of requests per scrape.
      const podWindow = Math.max(cfg.metricIntervalMs, POD_RATE_WINDOW_MS);
      const pods = views.map((v) => v?.map((ps) => observe(ps, podWindow, shapeRng, now)) ?? null);
      states.forEach((s, i) => {
        const m = snaps[i];
        if (!m) return;
        const st = style[i] ?? 'classic';
        const v = views[i];
        const ps = pods[i];
        const sets: PodPoints[] =
          v && ps
            ? v.map((view, k) => ({ pod: s.svc.instances[k]?.pod ?? `${s.svc.name}-${k}`, points: exportedPoints(view, ps[k] as MetricSnapshot, st, quantiles, shapeRng) }))
            : [{ points: exportedPoints(s, m, st, quantiles, shapeRng) }];
        emitMetrics(buf, s.svc, sets, t, t + delay(3000));
      });
      tally.rawAlerts += alerts.evaluate(t, states, snaps, buf, () => delay(2000), pods);
    }
    logs.emit(t, states, buf);
    traces.emit(t, states, buf);
    changes.emit(t, SIM_STEP_MS, buf);
    yield* release(t + SIM_STEP_MS);
  }
  yield* release(Infinity);
}
