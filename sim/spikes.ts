import type { Fault } from './faults.js';
import type { Rng } from './rng.js';
import type { Spike } from './shapes.js';
import type { World } from './world.js';

const MIN = 60_000;

/**
 * The habitual spikes of a `spiky` scenario: one service that is not a root or a datastore but calls or is called by
 * a fault's root, whose p95 latency is multiplied by 8-15 for 2-4 scrapes (1-2 min at 30 s), every 8-15 minutes
 * from the start to the end of the scenario, faults included: its spikes land in fault windows by chance.
 */
export function planSpikes(world: World, faults: readonly Fault[], startMs: number, endMs: number, intervalMs: number, rng: Rng): Spike[] {
  const roots = new Set(faults.map((f) => f.root));
  const near = new Set<string>();
  for (const f of faults) {
    const root = world.byName.get(f.root);
    if (!root) continue;
    for (const n of [...root.callers, ...root.calls.map((c) => c.to)]) near.add(n);
  }
  const pool = world.services.filter((s) => near.has(s.name) && !roots.has(s.name) && s.tier !== 'datastore');
  if (pool.length === 0) return [];
  const svc = rng.pick(pool);
  const out: Spike[] = [];
  const tick = (t: number): number => startMs + Math.ceil((t - startMs) / intervalMs) * intervalMs;
  for (let t = tick(startMs + rng.range(5 * MIN, 15 * MIN)); t < endMs; t = tick(t + rng.range(8 * MIN, 15 * MIN))) {
    const factor = rng.range(8, 15);
    const points = rng.int(2, 4);
    for (let k = 0; k < points && t + k * intervalMs < endMs; k++) out.push({ ts: t + k * intervalMs, service: svc.name, metric: 'latency_p95_ms', factor });
  }
  return out;
}
