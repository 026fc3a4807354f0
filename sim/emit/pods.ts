import type { SvcState } from '../state.js';

/**
 * Per-pod views of a service's state (the per-pod shape): each pod takes its share of the traffic; a fault on one
 * pod (state.podFault) is taken out of the service-wide view for the healthy pods and put back in full on its pod.
 * Trouble inherited from dependencies reaches every pod alike.
 */
export function podStates(s: SvcState): SvcState[] {
  const n = s.svc.instances.length;
  const pf = s.podFault;
  const rps = s.rps / n;
  // A healthy pod: the service-wide view without the fault's own contribution.
  const healthy: SvcState = {
    ...s,
    rps,
    err: pf ? Math.max(s.baseErr, s.err - s.own.err) : s.err,
    p95: pf ? s.p95 - s.own.latAddMs : s.p95,
    cpu: pf ? Math.max(0, s.cpu - s.own.cpuAdd) : s.cpu,
    mem: pf ? pf.memHealthy : s.mem,
  };
  return s.svc.instances.map((_, i) => {
    if (!pf || i !== pf.pod) return healthy;
    const e = pf.own;
    const { memLimitBytes: limit, memBaseBytes: base } = s.svc;
    return {
      ...healthy,
      err: Math.min(1, healthy.err + e.err),
      p95: healthy.p95 + e.latAddMs,
      cpu: Math.min(1, healthy.cpu + e.cpuAdd),
      mem: e.restarting ? base * 0.55 : Math.min(limit, pf.memHealthy + e.memFrac * (limit - base)),
    };
  });
}
