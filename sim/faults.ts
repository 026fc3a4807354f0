import { NightshiftError } from '../core/errors.js';
import type { GroundTruth } from '../schemas/replay.js';
import { FaultType, type SimConfig } from './config.js';
import type { Rng } from './rng.js';
import type { CloseFaults, ShapePlan } from './shapes.js';
import type { SimService, World } from './world.js';

/**
 * Fault scenario -> ground-truth kind (the output contract's RootCauseKind).
 * - memory_leak -> resource (memory ramps, OOM kills)
 * - datastore_outage -> errors: the datastore itself stops serving; its callers see the outage as dependency
 *   errors, but the root's own fault is that it fails. `dependency` is reserved for a root whose trouble comes
 *   from outside the estate (external_dependency: a third-party provider the root calls).
 * - bad_deploy -> deploy; saturation (pool/thread exhaustion) -> saturation.
 */
export const FAULT_KIND = {
  latency: 'latency',
  errors: 'errors',
  saturation: 'saturation',
  memory_leak: 'resource',
  bad_deploy: 'deploy',
  datastore_outage: 'errors',
  external_dependency: 'dependency',
} as const satisfies Record<FaultType, string>;
export type TruthKind = (typeof FAULT_KIND)[FaultType];

/** Which template family a service logs for its own (not inherited) trouble. */
export type OwnCause = 'bug' | 'deploy_bug' | 'slow' | 'saturated' | 'oom' | 'external' | 'down';

export interface Fault {
  readonly id: string;
  readonly type: FaultType;
  readonly kind: TruthKind;
  readonly root: string;
  readonly start: number;
  readonly end: number;
  /** Onset ramp (ms): rollouts, pool exhaustion and slow queries build up; an outage is instant. */
  readonly rampMs: number;
  readonly latAddMs: number;
  readonly err: number;
  /** Memory leak: ms from a fresh start to the OOM kill. */
  readonly leakCycleMs: number;
  /**
   * A latency fault on the network in front of the root (every other latency fault of a service that is not a
   * datastore): its callers' calls to it are slow, its own spans and metrics are not.
   */
  readonly network: boolean;
  /** The one pod (instance index) the fault hits, when its root exports per-pod series; null: every pod. */
  readonly pod: number | null;
}

/** The effect of the faults at one service on itself at one instant (before anything from its dependencies). */
export interface OwnEffect {
  latAddMs: number;
  err: number;
  cause: OwnCause | null;
  down: boolean;
  cpuAdd: number;
  /** Pool utilisation is pushed to this floor (0 = untouched). */
  poolFloor: number;
  /** Share of the headroom between baseline and limit the leak has eaten. */
  memFrac: number;
  /** Pods are being OOM-killed and restarted. */
  restarting: boolean;
  /** Delay on the network in front of the service: added to its callers' calls, not to its own work. */
  netDelayMs: number;
}

export const NO_EFFECT: Readonly<OwnEffect> = Object.freeze({
  latAddMs: 0,
  err: 0,
  cause: null,
  down: false,
  cpuAdd: 0,
  poolFloor: 0,
  memFrac: 0,
  restarting: false,
  netDelayMs: 0,
});

const MIN = 60_000;
export const FAULT_GAP_MS = 45 * MIN;
const MIN_DUR = 5 * MIN;
const MAX_DUR = 40 * MIN;
/** An OOM-killed pod set is back after a crash-loop back-off and a slow start. */
export const OOM_RESTART_MS = 45_000;

function eligible(type: FaultType, s: SimService): boolean {
  switch (type) {
    case 'latency':
      return s.tier === 'api' || s.store === 'postgres' || s.store === 'search';
    case 'errors':
      return s.tier === 'api';
    case 'saturation':
      return s.tier === 'api' || s.store === 'postgres' || s.store === 'redis';
    case 'memory_leak':
      return s.tier === 'api' || s.tier === 'worker';
    case 'bad_deploy':
      return s.tier === 'api' || s.tier === 'worker' || (s.tier === 'edge' && s.lang === 'node');
    case 'datastore_outage':
      return s.tier === 'datastore';
    case 'external_dependency':
      return s.external !== null;
  }
}

/** A pair of close faults (shapes.ts) needs this much room before the usual gap: 40 min of faults and gaps. */
const PAIR_SPAN_MS = 40 * MIN;

/** Length of one timeline segment when the faults take `slots` segments (a close pair shares one). */
export function faultSegmentMs(cfg: SimConfig, slots: number): number {
  const total = cfg.hours * 3_600_000;
  const warmup = Math.max(30 * MIN, Math.min(60 * MIN, 0.15 * total));
  return (total - warmup - 10 * MIN) / Math.max(1, slots);
}

/** Can a close pair be placed (two faults or more, and room for the pair plus the gap in one segment)? */
export function pairFits(cfg: SimConfig): boolean {
  return cfg.faults >= 2 && faultSegmentMs(cfg, cfg.faults - 1) >= PAIR_SPAN_MS + FAULT_GAP_MS;
}

/** Services that reach `root` or that it reaches in the call DAG (the branch it sits on), and itself. */
function branchOf(world: World, root: string): Set<string> {
  const out = new Set([root]);
  const walk = (from: string, next: (s: SimService) => readonly string[]): void => {
    const todo = [from];
    while (todo.length > 0) {
      const s = world.byName.get(todo.pop() as string);
      if (!s) continue;
      for (const x of next(s)) if (!out.has(x)) out.add(x), todo.push(x);
    }
  };
  walk(root, (s) => s.callers);
  walk(root, (s) => s.calls.map((c) => c.to));
  return out;
}

const round1s = (ms: number): number => Math.round(ms / 1000) * 1000;

/**
 * Places `cfg.faults` faults after a warm-up, each in its own segment of the timeline, so consecutive faults are
 * at least 45 min apart and matching incidents to faults is unambiguous. With a close pair (shapes.ts), two
 * consecutive faults share one segment: one after the other 5-10 min apart (`sequential`), or overlapping on
 * services neither of which reaches the other in the call DAG (`concurrent`; sequential when no such root exists).
 * Returns the faults and the pairing actually placed.
 */
export function planFaults(cfg: SimConfig, world: World, startMs: number, rng: Rng, shapes?: ShapePlan): { faults: Fault[]; close: CloseFaults } {
  const warmup = Math.max(30 * MIN, Math.min(60 * MIN, 0.15 * cfg.hours * 3_600_000));
  const n = cfg.faults;
  if (n === 0) return { faults: [], close: 'none' };
  let close: CloseFaults = shapes && pairFits(cfg) ? shapes.closeFaults : 'none';
  // Own streams: the pair's place and the pods do not move the draws of the faults' roots and sizes.
  const pairRng = rng.fork('close');
  const podRng = rng.fork('pods');
  const pair = close === 'none' ? -1 : pairRng.int(0, n - 2);
  const seg = faultSegmentMs(cfg, pair >= 0 ? n - 1 : n);
  if (seg < MIN_DUR + FAULT_GAP_MS) {
    const need = (warmup + 10 * MIN + n * (MIN_DUR + FAULT_GAP_MS)) / 3_600_000;
    throw new NightshiftError('CONFIG_INVALID', `hours=${cfg.hours} is too short for ${n} faults (needs at least ${need.toFixed(2)} h)`);
  }
  const kinds = cfg.faultKinds ?? FaultType.options;
  const used = new Set<string>();
  const faults: Fault[] = [];
  for (let i = 0; i < n; i++) {
    // Consecutive seeds continue the rotation, so any batch of scenarios covers every kind evenly.
    const type = kinds[(Math.abs(cfg.seed) * n + i) % kinds.length] as FaultType;
    const candidates = world.services.filter((s) => eligible(type, s));
    if (candidates.length === 0) throw new NightshiftError('CONFIG_INVALID', `no service can host a ${type} fault`);
    const fresh = candidates.filter((s) => !used.has(s.name));
    let pool = fresh.length > 0 ? fresh : candidates;
    const prev = faults[faults.length - 1];
    if (i === pair + 1 && close === 'concurrent' && prev) {
      const branch = branchOf(world, prev.root);
      const apart = pool.filter((s) => !branch.has(s.name));
      if (apart.length > 0) pool = apart;
      else close = 'sequential';
    }
    const root = rng.pick(pool);
    used.add(root.name);
    let dur = round1s(rng.range(MIN_DUR, Math.min(MAX_DUR, seg - FAULT_GAP_MS)));
    const slot = pair >= 0 && i > pair ? i - 1 : i;
    const segStart = startMs + warmup + slot * seg;
    let start = round1s(segStart + rng.range(0, seg - FAULT_GAP_MS - dur));
    if (i === pair) {
      // The first of the pair: short enough, and early enough, to leave room for the second in the segment.
      dur = round1s(pairRng.range(MIN_DUR, 15 * MIN));
      start = round1s(segStart + pairRng.range(0, seg - FAULT_GAP_MS - PAIR_SPAN_MS));
    } else if (i === pair + 1 && prev) {
      dur = round1s(pairRng.range(MIN_DUR, 15 * MIN));
      const prevDur = prev.end - prev.start;
      start =
        close === 'concurrent'
          ? round1s(prev.start + pairRng.range(30_000, 0.6 * prevDur))
          : round1s(prev.end + pairRng.range(5 * MIN, 10 * MIN));
    }
    const podFault = shapes?.podSeries[root.index] === true && POD_TYPES.has(type) && !(type === 'latency' && isNetwork(i + 1, root));
    const pod = podFault ? podRng.int(0, root.instances.length - 1) : null;
    faults.push(makeFault(`fault-${cfg.seed}-${i + 1}`, type, root, start, start + dur, rng, pod));
  }
  return { faults, close };
}

/** Fault types that can hit one pod of a service (a deploy, an outage or a provider hits every pod). */
const POD_TYPES: ReadonlySet<FaultType> = new Set(['latency', 'errors', 'saturation', 'memory_leak']);

// Deterministic (no draw from the stream, so the other faults of a seed stay as they were): even-numbered latency faults.
const isNetwork = (n: number, root: SimService): boolean => root.tier !== 'datastore' && n % 2 === 0;

function makeFault(id: string, type: FaultType, root: SimService, start: number, end: number, rng: Rng, pod: number | null): Fault {
  const store = root.tier === 'datastore';
  const network = type === 'latency' && isNetwork(Number(id.split('-').pop()), root);
  const base = { id, type, kind: FAULT_KIND[type], root: root.name, start, end, leakCycleMs: 0, network, pod };
  switch (type) {
    case 'latency':
      return { ...base, rampMs: rng.range(30_000, 120_000), latAddMs: store ? rng.range(150, 1200) : rng.range(300, 2500), err: 0.004 };
    case 'errors':
      return { ...base, rampMs: rng.range(10_000, 60_000), latAddMs: 0, err: rng.range(0.08, 0.6) };
    case 'saturation':
      return { ...base, rampMs: rng.range(60_000, 180_000), latAddMs: store ? rng.range(200, 1500) : rng.range(400, 2500), err: rng.range(0.03, 0.18) };
    case 'memory_leak': {
      const cycle = Math.min(15 * MIN, Math.max(3 * MIN, 0.45 * (end - start)));
      return { ...base, rampMs: 0, latAddMs: rng.range(300, 1500), err: rng.range(0.4, 0.7), leakCycleMs: cycle };
    }
    case 'bad_deploy':
      return { ...base, rampMs: rng.range(20_000, 90_000), latAddMs: rng.range(0, 80), err: rng.range(0.12, 0.65) };
    case 'datastore_outage':
      return { ...base, rampMs: 0, latAddMs: 0, err: 1 };
    case 'external_dependency':
      return { ...base, rampMs: rng.range(10_000, 60_000), latAddMs: rng.range(1500, 8000), err: rng.range(0.2, 0.8) };
  }
}

/** What a fault does to its root at time t (zero outside [start, end)). */
export function ownEffect(f: Fault, svc: SimService, t: number): OwnEffect | null {
  if (t < f.start || t >= f.end) return null;
  const r = f.rampMs > 0 ? Math.min(1, (t - f.start) / f.rampMs) : 1;
  const e: OwnEffect = { ...NO_EFFECT };
  switch (f.type) {
    case 'latency':
      if (f.network) {
        // The root itself is fine and says nothing: only its callers' calls to it take longer.
        e.netDelayMs = f.latAddMs * r;
        break;
      }
      e.latAddMs = f.latAddMs * r;
      e.err = f.err * r;
      e.cause = 'slow';
      e.cpuAdd = svc.tier === 'datastore' ? 0.25 * r : 0.05 * r;
      break;
    case 'errors':
      e.err = f.err * r;
      e.cause = 'bug';
      break;
    case 'saturation':
      e.latAddMs = f.latAddMs * r;
      e.err = f.err * r;
      e.cause = 'saturated';
      if (svc.tier === 'datastore') e.poolFloor = svc.poolBase + (0.995 - svc.poolBase) * r;
      else e.cpuAdd = 0.6 * r;
      break;
    case 'memory_leak': {
      const period = f.leakCycleMs + OOM_RESTART_MS;
      const tau = (t - f.start) % period;
      if (tau >= f.leakCycleMs) {
        e.restarting = true;
        e.err = f.err;
        e.cause = 'oom';
      } else {
        e.memFrac = tau / f.leakCycleMs;
        // GC thrash once the heap is nearly full: slower and a few failures.
        const gc = Math.max(0, (e.memFrac - 0.6) / 0.4) ** 1.5;
        e.latAddMs = f.latAddMs * gc;
        e.cpuAdd = 0.3 * gc;
        e.err = 0.04 * gc;
        e.cause = gc > 0 ? 'oom' : null;
      }
      break;
    }
    case 'bad_deploy':
      e.err = f.err * r;
      e.latAddMs = f.latAddMs * r;
      e.cause = 'deploy_bug';
      break;
    case 'datastore_outage':
      e.down = true;
      e.err = 1;
      e.cause = 'down';
      break;
    case 'external_dependency':
      e.err = f.err * r;
      e.latAddMs = f.latAddMs * r;
      e.cause = 'external';
      break;
  }
  return e;
}

export function groundTruth(f: Fault): GroundTruth {
  return { fault_id: f.id, service: f.root, kind: f.kind, start: f.start, end: f.end };
}
