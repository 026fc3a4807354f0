import type { ChangeKind } from '../schemas/events.js';
import type { SimConfig } from './config.js';
import type { Fault } from './faults.js';
import { AUTHORS } from './names.js';
import type { Rng } from './rng.js';
import type { SimService, World } from './world.js';

/**
 * Everything that happens on healthy services: routine changes, a red-herring deploy near a fault, badly tuned
 * (flapping) alerts, long-running warnings, one-point metric blips and a nightly backup window.
 */
export type ChangeReason = 'routine' | 'red_herring' | 'fault' | 'rollback';

export interface PlannedChange {
  readonly ts: number;
  readonly service: string;
  readonly kind: ChangeKind;
  readonly id: string;
  readonly summary: string;
  readonly author: string;
  readonly reason: ChangeReason;
  /** Deploys: the version rolled out (the previous one for a rollback). */
  readonly version: string | null;
}

/** A rolling restart of a service's pods after a deploy. */
export interface Rollout {
  readonly service: string;
  readonly start: number;
  readonly end: number;
  readonly version: string;
}

export type BlipMetric = 'latency_p95_ms' | 'error_rate' | 'cpu_utilization' | 'request_rate';
export interface Blip {
  readonly ts: number;
  readonly service: string;
  readonly metric: BlipMetric;
  readonly factor: number;
}

export interface LongRunning {
  readonly service: string;
  readonly rule: 'DiskSpaceLow' | 'CertificateExpiringSoon';
  readonly start: number;
  /** Disk usage ratio at start (rises slowly), or days until certificate expiry. */
  readonly level: number;
}

export interface Window {
  readonly service: string;
  readonly start: number;
  readonly end: number;
}

export interface NoisePlan {
  readonly changes: readonly PlannedChange[];
  readonly rollouts: readonly Rollout[];
  readonly flappers: readonly string[];
  readonly longRunning: readonly LongRunning[];
  readonly blips: readonly Blip[];
  readonly maintenance: readonly Window[];
}

const MIN = 60_000;
const DAY = 86_400_000;

function bump(version: string, rng: Rng): string {
  const [maj = 1, min = 0, patch = 0] = version.slice(1).split('.').map(Number);
  return rng.chance(0.3) ? `v${maj}.${min + 1}.0` : `v${maj}.${min}.${patch + 1}`;
}

function neighbours(world: World, root: SimService): SimService[] {
  const names = new Set<string>([...root.callers, ...root.calls.map((c) => c.to)]);
  for (const caller of root.callers) for (const c of world.byName.get(caller)?.calls ?? []) names.add(c.to);
  names.delete(root.name);
  return [...names].map((n) => world.byName.get(n) as SimService).filter((s) => s.tier !== 'datastore');
}

const CONFIG_SUMMARIES = [
  'raise HTTP client pool size 50 -> 80',
  'rotate TLS certificates',
  'increase request timeout to 4s for batch endpoints',
  'update rate limits for partner keys',
  'log level INFO -> WARN for noisy package',
];
const FLAG_SUMMARIES = ['new-{d}-flow rolled out to 25%', 'new-{d}-flow rolled out to 50%', 'disable legacy-{d}-export', 'enable async-{d}-writes for 10% of tenants'];
const INFRA_SUMMARIES = ['node pool autoscaled 6 -> 8', 'kubernetes node drained for kernel patching', 'PVC resized to 200Gi', 'security group rule updated'];

/** Time windows around faults where noise must not land at the root (so a fault stays a single clean story). */
function nearFault(faults: readonly Fault[], t: number, beforeMs: number, afterMs: number): Fault | undefined {
  return faults.find((f) => t >= f.start - beforeMs && t < f.end + afterMs);
}

export function planNoise(cfg: SimConfig, world: World, faults: readonly Fault[], startMs: number, endMs: number, rng: Rng): NoisePlan {
  const nz = cfg.noise;
  const raw: Omit<PlannedChange, 'id' | 'version'>[] = [];
  const movable = world.services.filter((s) => s.tier !== 'datastore');
  const nRoutine = rng.poisson(nz.changesPerHour * cfg.hours);
  for (let i = 0; i < nRoutine; i++) {
    const ts = Math.round(rng.range(startMs + 2 * MIN, endMs - 2 * MIN));
    const kind = rng.weighted<ChangeKind>([['deploy', 6], ['config', 2], ['flag', 1.5], ['infra', 0.5]]);
    const pool = kind === 'infra' ? world.services : movable;
    const svc = rng.pick(pool);
    const f = nearFault(faults, ts, 30 * MIN, 10 * MIN);
    if (f && f.root === svc.name) continue;
    raw.push({ ts, service: svc.name, kind, summary: routineSummary(kind, svc, rng), author: rng.pick(AUTHORS), reason: 'routine' });
  }
  for (const f of faults) {
    const root = world.byName.get(f.root) as SimService;
    if (f.type === 'bad_deploy') {
      raw.push({ ts: f.start, service: f.root, kind: 'deploy', summary: '', author: rng.pick(AUTHORS), reason: 'fault' });
      raw.push({ ts: f.end, service: f.root, kind: 'deploy', summary: '', author: rng.pick(AUTHORS), reason: 'rollback' });
      const peers = neighbours(world, root);
      if (peers.length > 0 && rng.chance(nz.concurrentReleaseProbability)) {
        const svc = rng.pick(peers);
        const ts = Math.round(f.start + rng.range(-60_000, 60_000));
        raw.push({ ts, service: svc.name, kind: 'deploy', summary: routineSummary('deploy', svc, rng), author: rng.pick(AUTHORS), reason: 'red_herring' });
      }
    }
    const near = neighbours(world, root);
    if (near.length > 0 && rng.chance(nz.redHerringProbability)) {
      const svc = rng.pick(near);
      const kind: ChangeKind = rng.chance(0.8) ? 'deploy' : 'config';
      const ts = Math.round(f.start - rng.range(2 * MIN, 15 * MIN));
      raw.push({ ts, service: svc.name, kind, summary: routineSummary(kind, svc, rng), author: rng.pick(AUTHORS), reason: 'red_herring' });
    }
  }
  raw.sort((a, b) => a.ts - b.ts || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const { changes, rollouts } = assignVersions(world, raw, rng);
  return {
    changes,
    rollouts,
    flappers: pickFlappers(world, faults, nz.flappers, rng),
    longRunning: pickLongRunning(world, nz.longRunning, startMs, rng),
    blips: pickBlips(world, faults, nz.blipsPerHour * cfg.hours, startMs, endMs, cfg.metricIntervalMs, rng),
    maintenance: nz.maintenance ? pickMaintenance(world, faults, startMs, endMs, rng) : [],
  };
}

function routineSummary(kind: ChangeKind, svc: SimService, rng: Rng): string {
  switch (kind) {
    case 'config':
      return `${svc.name}: ${rng.pick(CONFIG_SUMMARIES)}`;
    case 'flag':
      return rng.pick(FLAG_SUMMARIES).replace('{d}', svc.domain);
    case 'infra':
      return `${svc.name}: ${rng.pick(INFRA_SUMMARIES)}`;
    default:
      return '';
  }
}

/** Walks deploys in time order so versions only move forward (a rollback returns to the previous one). */
function assignVersions(world: World, raw: readonly Omit<PlannedChange, 'id' | 'version'>[], rng: Rng): { changes: PlannedChange[]; rollouts: Rollout[] } {
  const current = new Map(world.services.map((s) => [s.name, s.version]));
  const previous = new Map<string, string>();
  const changes: PlannedChange[] = [];
  const rollouts: Rollout[] = [];
  for (const c of raw) {
    const idPrefix = c.kind === 'deploy' ? 'deploy' : c.kind === 'flag' ? 'flag' : c.kind === 'config' ? 'cfg' : 'infra';
    const id = `${idPrefix}-${rng.hex(10)}`;
    if (c.kind !== 'deploy') {
      changes.push({ ...c, id, version: null });
      continue;
    }
    const cur = current.get(c.service) ?? 'v1.0.0';
    const version = c.reason === 'rollback' ? (previous.get(c.service) ?? cur) : bump(cur, rng);
    previous.set(c.service, cur);
    current.set(c.service, version);
    const commit = rng.hex(7);
    const summary =
      c.reason === 'rollback'
        ? `rollback ${c.service} ${cur} -> ${version} (automated rollback after error spike)`
        : `deploy ${c.service} ${version} (commit ${commit}): ${rng.pick(['bump dependencies', 'refactor handlers', 'add metrics', 'fix pagination bug', 'improve retries', 'release train'])}`;
    changes.push({ ...c, id, summary, version });
    rollouts.push({ service: c.service, start: c.ts, end: c.ts + Math.round(rng.range(45_000, 120_000)), version });
  }
  return { changes, rollouts };
}

function pickFlappers(world: World, faults: readonly Fault[], n: number, rng: Rng): string[] {
  const roots = new Set(faults.map((f) => f.root));
  const pool = world.services.filter((s) => (s.tier === 'api' || s.tier === 'worker') && !roots.has(s.name));
  return rng.shuffle(pool).slice(0, n).map((s) => s.name);
}

function pickLongRunning(world: World, n: number, startMs: number, rng: Rng): LongRunning[] {
  const stores = rng.shuffle(world.services.filter((s) => s.tier === 'datastore'));
  const edges = rng.shuffle(world.services.filter((s) => s.tier === 'edge'));
  const out: LongRunning[] = [];
  for (let i = 0; i < n; i++) {
    const useDisk = i % 2 === 0;
    const svc = useDisk ? stores[i >> 1] : edges[i >> 1];
    if (!svc) continue;
    out.push(
      useDisk
        ? { service: svc.name, rule: 'DiskSpaceLow', start: startMs + Math.round(rng.range(0, 60 * MIN)), level: rng.range(0.8, 0.84) }
        : { service: svc.name, rule: 'CertificateExpiringSoon', start: startMs, level: rng.int(9, 13) },
    );
  }
  return out;
}

function pickBlips(world: World, faults: readonly Fault[], expected: number, startMs: number, endMs: number, intervalMs: number, rng: Rng): Blip[] {
  const out: Blip[] = [];
  const n = rng.poisson(expected);
  const ticks = Math.floor((endMs - startMs) / intervalMs);
  for (let i = 0; i < n && ticks > 2; i++) {
    const ts = startMs + rng.int(1, ticks - 1) * intervalMs;
    if (nearFault(faults, ts, 10 * MIN, 10 * MIN)) continue;
    const svc = rng.pick(world.services);
    const metric = rng.pick<BlipMetric>(['latency_p95_ms', 'error_rate', 'cpu_utilization', 'request_rate']);
    out.push({ ts, service: svc.name, metric, factor: metric === 'request_rate' ? rng.range(0.2, 0.5) : rng.range(3, 8) });
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** Nightly backups at 02:00 UTC on one postgres, kept clear of faults. */
function pickMaintenance(world: World, faults: readonly Fault[], startMs: number, endMs: number, rng: Rng): Window[] {
  const roots = new Set(faults.map((f) => f.root));
  const dbs = world.services.filter((s) => s.store === 'postgres' && !roots.has(s.name));
  if (dbs.length === 0) return [];
  const db = rng.pick(dbs);
  const out: Window[] = [];
  for (let day = Math.floor(startMs / DAY) * DAY; day < endMs; day += DAY) {
    const start = day + 2 * 3_600_000;
    const end = start + Math.round(rng.range(25 * MIN, 40 * MIN));
    if (end <= startMs || start >= endMs) continue;
    if (faults.some((f) => start < f.end + 15 * MIN && end > f.start - 15 * MIN)) continue;
    out.push({ service: db.name, start, end });
  }
  return out;
}
