import { NO_EFFECT, ownEffect, type Fault, type OwnEffect } from './faults.js';
import type { NoisePlan, Rollout, Window } from './noise.js';
import type { Rng } from './rng.js';
import type { SimService, World } from './world.js';

/**
 * The health of every service, one 5 s step at a time. Trouble travels up the call DAG: a caller sees its
 * callee's state from `lagSteps` steps ago (timeouts, retries and pools take time to bite), attenuated by the
 * share of its requests that touch the callee and by retries that succeed.
 */
export type DepCause = 'refused' | 'timeout' | 'upstream' | 'pool' | 'fallback' | 'slow';

export interface DepIssue {
  readonly to: string;
  readonly cause: DepCause;
  /** Share of this service's requests affected. */
  readonly ratio: number;
}

export interface SvcState {
  readonly svc: SimService;
  readonly t: number;
  up: boolean;
  load: number;
  rps: number;
  /** p95 latency (ms) without any fault contribution. */
  baseP95: number;
  p95: number;
  /** Latency added by faults (own or inherited). */
  latAdd: number;
  baseErr: number;
  /** Error ratio caused by faults (own or inherited). */
  excessErr: number;
  err: number;
  own: OwnEffect;
  issues: DepIssue[];
  cpu: number;
  mem: number;
  pool: number;
  /** A pod was OOM-killed in this step. */
  oomEvent: boolean;
  maintenance: boolean;
  rollout: Rollout | null;
  /**
   * A fault on one pod (per-pod shape): the pod and its full effect. `own` then holds the service-wide view (the
   * pod's share of errors, CPU and memory; its latency, which dominates the service's p95).
   */
  podFault: PodFault | null;
}

export interface PodFault {
  readonly pod: number;
  readonly own: OwnEffect;
  /** Memory of a healthy pod of the service at this step. */
  readonly memHealthy: number;
}

/** The service-wide view of a fault on one of n pods. */
function spread(e: OwnEffect, n: number): OwnEffect {
  const share = 1 / n;
  return { ...e, err: e.err * share, cpuAdd: e.cpuAdd * share, memFrac: e.memFrac * share, restarting: false, poolFloor: 0 };
}

const HISTORY = 32; // > the largest lag (24 steps); older states are overwritten.
const DAY_MS = 86_400_000;

/** Daily traffic shape in [0.3, ~1.1]: trough near 04:00 UTC, peak late afternoon, an evening bump. */
export function dailyLoad(t: number): number {
  const h = ((t % DAY_MS) + DAY_MS) % DAY_MS / 3_600_000;
  const wave = 0.5 - 0.5 * Math.cos((2 * Math.PI * (h - 4)) / 24);
  return 0.3 + 0.7 * Math.pow(wave, 1.3) + 0.1 * Math.exp(-(((h - 20.5) / 1.5) ** 2));
}

function within(ws: readonly Window[] | readonly Rollout[], name: string, t: number): boolean {
  for (const w of ws) if (w.service === name && t >= w.start && t < w.end) return true;
  return false;
}

export class StateModel {
  private readonly history: SvcState[][] = [];
  private step = 0;
  private readonly ar: number[];
  private readonly baseErr: number[];
  private readonly faultsBySvc: Map<string, Fault[]>;
  private readonly rolloutsBySvc: Map<string, Rollout[]>;
  private readonly maintenance: readonly Window[];
  private readonly gcPhase: number[];

  constructor(
    private readonly world: World,
    faults: readonly Fault[],
    noise: NoisePlan,
    private readonly rng: Rng,
  ) {
    const n = world.services.length;
    this.ar = new Array<number>(n).fill(0);
    this.baseErr = world.services.map((s) => (s.tier === 'datastore' ? rng.range(0.0001, 0.001) : rng.range(0.0005, 0.004)));
    this.gcPhase = world.services.map(() => rng.range(0, 1));
    this.faultsBySvc = new Map();
    for (const f of faults) this.faultsBySvc.set(f.root, [...(this.faultsBySvc.get(f.root) ?? []), f]);
    this.rolloutsBySvc = new Map();
    for (const r of noise.rollouts) this.rolloutsBySvc.set(r.service, [...(this.rolloutsBySvc.get(r.service) ?? []), r]);
    this.maintenance = noise.maintenance;
  }

  /** State `lag` steps ago (the oldest kept one if the run is younger than the lag). */
  private lagged(index: number, lag: number): SvcState | undefined {
    const h = this.history;
    if (h.length === 0) return undefined;
    const back = Math.min(lag, h.length) - 1;
    return h[(this.step - 1 - back + HISTORY * 4) % HISTORY]?.[index];
  }

  private ownAt(svc: SimService, t: number): { own: OwnEffect; pod: number | null } {
    const fs = this.faultsBySvc.get(svc.name);
    if (!fs) return { own: NO_EFFECT, pod: null };
    for (const f of fs) {
      const e = ownEffect(f, svc, t);
      if (e) return { own: e, pod: f.pod };
    }
    return { own: NO_EFFECT, pod: null };
  }

  /** Advances to time t (one step after the previous call) and returns every service's state, indexed like world.services. */
  advance(t: number): SvcState[] {
    const services = this.world.services;
    const out = new Array<SvcState>(services.length);
    const daily = dailyLoad(t);
    for (let i = services.length - 1; i >= 0; i--) {
      const svc = services[i] as SimService;
      this.ar[i] = 0.98 * (this.ar[i] as number) + 0.01 * this.rng.normal();
      out[i] = this.compute(svc, t, daily, out);
    }
    const prev = this.step > 0 ? this.history[(this.step - 1) % HISTORY] : undefined;
    for (let i = 0; i < out.length; i++) {
      const s = out[i] as SvcState;
      const was = prev?.[i];
      s.oomEvent = s.podFault
        ? s.podFault.own.restarting && !(was?.podFault?.own.restarting ?? false)
        : s.own.restarting && !(was?.own.restarting ?? false);
    }
    this.history[this.step % HISTORY] = out;
    this.step++;
    return out;
  }

  private compute(svc: SimService, t: number, daily: number, now: SvcState[]): SvcState {
    const i = svc.index;
    const at = this.ownAt(svc, t);
    const full = at.own;
    const own = at.pod === null ? full : spread(full, svc.instances.length);
    const cron = svc.tier === 'worker' && t % 3_600_000 < 300_000 ? 0.3 : 0;
    const shape = svc.tier === 'worker' ? 0.6 + 0.4 * daily + cron : svc.tier === 'datastore' ? 0.3 + 0.7 * daily : daily;
    const load = Math.max(0.05, shape * (1 + (this.ar[i] as number)));
    const rps = svc.baseRps * load;
    const maintenance = svc.tier === 'datastore' && within(this.maintenance, svc.name, t);
    const rollouts = this.rolloutsBySvc.get(svc.name);
    const rollout = rollouts?.find((r) => t >= r.start && t < r.end) ?? null;
    const cpu = Math.min(1, svc.cpuIdle + svc.cpuPerRps * rps + own.cpuAdd + (maintenance ? 0.25 : 0) + (rollout ? 0.05 : 0));
    // Queueing: latency climbs once CPU is busy.
    const queueing = cpu > 0.75 ? 1 + 2 * ((cpu - 0.75) / 0.25) ** 2 : 1;
    let baseP95 = svc.ownMedianMs * 2.28 * (0.85 + 0.25 * load) * queueing * (maintenance ? 1.3 : 1);
    let latAdd = own.latAddMs + (rollout ? 0.1 * baseP95 : 0);
    let excess = own.err + (rollout ? 0.002 : 0);
    const issues: DepIssue[] = [];
    for (const c of svc.calls) {
      const callee = this.world.byName.get(c.to) as SimService;
      const cur = now[callee.index];
      if (cur) baseP95 += Math.min(1, c.weight * 2.5) * c.fanout * 0.6 * cur.baseP95;
      const d = this.lagged(callee.index, c.lagSteps) ?? cur;
      if (!d) continue;
      const share = Math.min(1, c.weight * 2.5);
      if (!d.up) {
        if (c.fallback) {
          latAdd += share * 40 * c.fanout;
          issues.push({ to: c.to, cause: 'fallback', ratio: c.weight });
        } else {
          const e = c.weight * 0.95;
          excess += e;
          issues.push({ to: c.to, cause: 'refused', ratio: e });
        }
        continue;
      }
      // What the caller sees of the callee: its own added latency plus any delay on the network in front of it.
      const seenAdd = d.latAdd + d.own.netDelayMs;
      if (seenAdd > 5) {
        latAdd += share * Math.min(seenAdd * c.fanout, c.timeoutMs);
        if (seenAdd > 100) issues.push({ to: c.to, cause: 'slow', ratio: c.weight });
      }
      const seenP95 = d.p95 + d.own.netDelayMs;
      const tf = Math.max(0, Math.min(1, (seenP95 * (c.fanout > 1 ? 1.2 : 1) - 0.6 * c.timeoutMs) / (0.8 * c.timeoutMs)));
      if (tf > 0) {
        const e = c.weight * tf * c.passErr;
        excess += e;
        issues.push({ to: c.to, cause: 'timeout', ratio: e });
      }
      if (d.excessErr > 0.002) {
        const e = c.weight * Math.min(1, d.excessErr * (c.fanout > 1 ? 1.5 : 1)) * c.passErr;
        excess += e;
        issues.push({ to: c.to, cause: callee.tier === 'datastore' && d.pool >= 0.95 ? 'pool' : 'upstream', ratio: e });
      }
    }
    const excessErr = Math.min(0.98, excess);
    const baseErr = this.baseErr[i] as number;
    const headroom = svc.memLimitBytes - svc.memBaseBytes;
    const gc = ((t / 240_000 + (this.gcPhase[i] as number)) % 1) * 0.06;
    const memHealthy = Math.min(svc.memLimitBytes, svc.memBaseBytes * (1 + gc + 0.03 * Math.sin(t / 7_200_000 + i)));
    const memOf = (e: OwnEffect): number => (e.restarting ? svc.memBaseBytes * 0.55 : Math.min(svc.memLimitBytes, memHealthy + e.memFrac * headroom));
    // A fault on one pod: the service's memory is the mean over its pods.
    const n = svc.instances.length;
    const mem = at.pod === null ? memOf(own) : memHealthy + (memOf(full) - memHealthy) / n;
    let pool = svc.poolBase * (0.6 + 0.4 * load) * (1 + Math.min(2, latAdd / (baseP95 + 1)) * 0.3) + (maintenance ? 0.15 : 0);
    pool = Math.min(1, Math.max(pool, own.poolFloor));
    return {
      svc,
      t,
      up: !own.down,
      load,
      rps,
      baseP95,
      p95: baseP95 + latAdd,
      latAdd,
      baseErr,
      excessErr,
      err: Math.min(1, baseErr + excessErr),
      own,
      issues,
      cpu,
      mem,
      pool,
      oomEvent: false,
      maintenance,
      rollout,
      podFault: at.pod === null ? null : { pod: at.pod, own: full, memHealthy },
    };
  }
}
