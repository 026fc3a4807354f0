import type { TopologyFile } from '../schemas/topology.js';
import type { SimConfig } from './config.js';
import {
  API_DOMAINS,
  EDGE_NAMES,
  EXTERNALS,
  QUEUE_NAMES,
  REDIS_NAMES,
  SEARCH_NAMES,
  SPARE_DB_NAMES,
  TEAMS,
  WORKER_NAMES,
} from './names.js';
import type { Rng } from './rng.js';

export type Tier = 'edge' | 'api' | 'worker' | 'datastore';
export type StoreKind = 'postgres' | 'redis' | 'queue' | 'search';
export type Lang = 'java' | 'node' | 'go' | 'python' | 'nginx' | 'envoy';
export type LogFormat = 'otlp' | 'json' | 'text';

/** A synchronous call edge `from -> to` with how strongly and how fast trouble travels back up it. */
export interface Call {
  readonly to: string;
  /** Fraction of the caller's requests that touch the callee. */
  readonly weight: number;
  /** Calls to the callee per touching request (queries per request for a database). */
  readonly fanout: number;
  /** Steps (5 s) before the callee's trouble shows in the caller's metrics and logs. */
  readonly lagSteps: number;
  readonly timeoutMs: number;
  /** Share of callee errors that reach the caller's own responses (the rest is absorbed by retries). */
  readonly passErr: number;
  /** The caller degrades to a slower path instead of failing when the callee is down (caches). */
  readonly fallback: boolean;
}

export interface SimService {
  readonly index: number;
  readonly name: string;
  readonly tier: Tier;
  readonly store: StoreKind | null;
  readonly domain: string;
  readonly owner: string;
  readonly lang: Lang;
  readonly calls: Call[];
  readonly callers: string[];
  readonly external: string | null;
  /** Requests (or jobs, or queries) per second at daily load factor 1. */
  baseRps: number;
  /** Median own processing time per request (ms) at load 1, without dependencies. */
  readonly ownMedianMs: number;
  readonly cpuIdle: number;
  /** CPU used per rps (fraction of the service's CPU). */
  cpuPerRps: number;
  readonly memBaseBytes: number;
  readonly memLimitBytes: number;
  readonly poolBase: number;
  readonly instances: readonly { readonly pod: string; readonly ip: string }[];
  readonly port: number;
  readonly logFormat: LogFormat;
  readonly metricFormat: 'otlp' | 'plain';
  readonly labelKey: 'service' | 'app' | 'job';
  /** JSON log `ts` style for this service's JSON lines. */
  readonly jsonTs: 'ms' | 'iso';
  /** Log lines per second at load 1 (before fault storms). */
  readonly logRate: number;
  readonly version: string;
}

export interface World {
  readonly services: readonly SimService[];
  readonly byName: ReadonlyMap<string, SimService>;
  readonly topology: TopologyFile;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}

interface Draft {
  name: string;
  tier: Tier;
  store: StoreKind | null;
  domain: string;
  deps: string[];
}

/** Picks the estate: names, layers and the call DAG (calls only go to later entries, so the array is a topological order). */
function layout(n: number, rng: Rng): Draft[] {
  const nEdge = clamp(Math.round(n * 0.12), 2, 4);
  const nData = clamp(Math.round(n * 0.25), 3, 9);
  const nWorker = clamp(Math.round(n * 0.15), 1, WORKER_NAMES.length);
  const nApi = n - nEdge - nData - nWorker;
  const nRedis = nData >= 6 ? 2 : 1;
  const nQueue = nData >= 8 ? 2 : 1;
  const nSearch = nData >= 5 ? 1 : 0;
  const nPg = nData - nRedis - nQueue - nSearch;

  // Every shop has payments (with its external provider); the rest of the domains vary by seed.
  const domains = rng.shuffle(['payments', ...rng.shuffle(API_DOMAINS.filter((d) => d !== 'payments')).slice(0, nApi - 1)]);
  const nFront = Math.max(1, Math.ceil(nApi * 0.4));
  const front = domains.slice(0, nFront);
  const core = domains.slice(nFront);
  const edges = rng.shuffle(EDGE_NAMES).slice(0, nEdge);
  const workers = rng.shuffle(WORKER_NAMES).slice(0, nWorker);
  const pgDomains = [...core, ...front].slice(0, nPg);
  const pg = pgDomains.map((d) => `${d}-db`);
  for (let i = 0; pg.length < nPg; i++) pg.push(SPARE_DB_NAMES[i % SPARE_DB_NAMES.length] as string);
  const redis = rng.shuffle(REDIS_NAMES).slice(0, nRedis);
  const queues = QUEUE_NAMES.slice(0, nQueue);
  const search = SEARCH_NAMES.slice(0, nSearch);

  const drafts: Draft[] = [];
  for (const e of edges) drafts.push({ name: e, tier: 'edge', store: null, domain: e.split('-')[0] as string, deps: [] });
  for (const d of [...front, ...core]) drafts.push({ name: `${d}-api`, tier: 'api', store: null, domain: d, deps: [] });
  for (const w of workers) drafts.push({ name: w, tier: 'worker', store: null, domain: w.split('-')[0] as string, deps: [] });
  pg.forEach((p, i) => drafts.push({ name: p, tier: 'datastore', store: 'postgres', domain: pgDomains[i] ?? p, deps: [] }));
  for (const r of redis) drafts.push({ name: r, tier: 'datastore', store: 'redis', domain: r, deps: [] });
  for (const q of queues) drafts.push({ name: q, tier: 'datastore', store: 'queue', domain: q, deps: [] });
  for (const s of search) drafts.push({ name: s, tier: 'datastore', store: 'search', domain: s, deps: [] });

  const byName = new Map(drafts.map((d) => [d.name, d]));
  const get = (name: string): Draft => byName.get(name) as Draft;
  const add = (from: string, to: string): void => {
    const d = get(from);
    if (!d.deps.includes(to) && from !== to) d.deps.push(to);
  };
  const frontApis = front.map((d) => `${d}-api`);
  const coreApis = core.map((d) => `${d}-api`);
  const pick = (arr: readonly string[], k: number): string[] => rng.shuffle(arr).slice(0, Math.min(k, arr.length));

  for (const e of edges) for (const t of pick(frontApis, rng.int(2, 4))) add(e, t);
  frontApis.forEach((f, i) => {
    if (!edges.some((e) => get(e).deps.includes(f))) add(edges[i % edges.length] as string, f);
  });
  if (edges.length > 0 && redis.length > 0 && rng.chance(0.7)) add(edges[0] as string, redis[redis.length - 1] as string);
  for (const f of frontApis) for (const c of pick(coreApis, rng.int(1, 3))) add(f, c);
  coreApis.forEach((c, i) => {
    for (const c2 of coreApis.slice(i + 1)) if (rng.chance(0.15)) add(c, c2);
    const callers = drafts.filter((d) => d.deps.includes(c));
    if (callers.length === 0) add(frontApis.length > 0 ? rng.pick(frontApis) : rng.pick(edges), c);
  });
  const apis = [...frontApis, ...coreApis];
  for (const a of apis) {
    const dom = get(a).domain;
    const own = pg.find((p) => get(p).domain === dom);
    if (own) add(a, own);
    else if (coreApis.includes(a) || rng.chance(0.3)) add(a, rng.pick(pg));
    if (redis.length > 0 && rng.chance(0.4)) add(a, rng.pick(redis));
    if (queues.length > 0 && rng.chance(0.25)) add(a, rng.pick(queues));
    if (search.length > 0 && (dom === 'catalog' || dom === 'recommendations' || rng.chance(0.1))) add(a, search[0] as string);
  }
  for (const w of workers) {
    add(w, rng.pick(queues));
    for (const p of pick(pg, rng.int(1, 2))) add(w, p);
    if (w === 'search-indexer' && search.length > 0) add(w, search[0] as string);
  }
  // Every datastore has at least one caller, and every queue a producer.
  for (const d of drafts.filter((x) => x.tier === 'datastore')) {
    const callers = drafts.filter((x) => x.deps.includes(d.name));
    if (callers.length === 0 || (d.store === 'queue' && !callers.some((c) => c.tier === 'api'))) add(rng.pick(apis.length > 0 ? apis : edges), d.name);
  }
  return drafts;
}

const LANGS: readonly Lang[] = ['java', 'node', 'go', 'python'];
const PORTS: Record<StoreKind, number> = { postgres: 5432, redis: 6379, queue: 9092, search: 9200 };

export function buildWorld(cfg: SimConfig, rng: Rng): World {
  const drafts = layout(cfg.services, rng);
  const services: SimService[] = drafts.map((d, index) => {
    const nInst = d.tier === 'datastore' ? rng.int(1, 2) : rng.int(2, 4);
    const hash = rng.hex(10);
    const instances = Array.from({ length: nInst }, (_, i) => ({
      pod: d.tier === 'datastore' ? `${d.name}-${i}` : `${d.name}-${hash.slice(0, 9)}-${rng.hex(5)}`,
      ip: `10.${10 + index}.${rng.int(0, 15)}.${rng.int(2, 250)}`,
    }));
    const lang: Lang = d.tier === 'edge' ? (d.name.includes('gateway') ? rng.pick(['nginx', 'envoy'] as const) : 'node') : rng.pick(LANGS);
    const logFormat: LogFormat =
      d.tier === 'datastore' ? (d.store === 'search' ? 'json' : 'text') : d.tier === 'edge' && lang !== 'node' ? 'text' : rng.chance(0.5) ? 'otlp' : 'json';
    const memBase = (d.tier === 'datastore' ? rng.range(1.5, 6) : rng.range(0.25, 1.5)) * 1024 ** 3;
    const own: Record<Tier, [number, number]> = { edge: [2, 8], api: [5, 40], worker: [30, 250], datastore: [0.4, 6] };
    const [lo, hi] = own[d.tier];
    const storeMedian = d.store === 'redis' ? rng.range(0.2, 0.8) : d.store === 'search' ? rng.range(6, 25) : rng.range(lo, hi);
    return {
      index,
      name: d.name,
      tier: d.tier,
      store: d.store,
      domain: d.domain,
      owner: d.tier === 'datastore' ? rng.pick(['team-platform', 'team-data', 'team-sre']) : rng.pick(TEAMS),
      lang,
      calls: [],
      callers: [],
      external: d.tier === 'api' ? (EXTERNALS[d.domain] ?? null) : null,
      baseRps: d.tier === 'edge' ? rng.range(40, 220) : 0,
      ownMedianMs: d.tier === 'datastore' ? storeMedian : rng.range(lo, hi),
      cpuIdle: rng.range(0.02, 0.08),
      cpuPerRps: 0,
      memBaseBytes: memBase,
      memLimitBytes: memBase * rng.range(1.7, 2.6),
      poolBase: rng.range(0.15, 0.35),
      instances,
      port: d.store ? PORTS[d.store] : d.tier === 'edge' ? 443 : 8080,
      logFormat,
      metricFormat: index % 2 === 0 ? 'otlp' : 'plain',
      labelKey: rng.weighted([['service', 7], ['app', 2], ['job', 1]] as const),
      jsonTs: rng.chance(0.5) ? 'ms' : 'iso',
      logRate: d.tier === 'datastore' ? rng.range(0.1, 0.28) : rng.range(0.18, 0.45),
      version: `v${rng.int(1, 4)}.${rng.int(0, 30)}.${rng.int(0, 12)}`,
    };
  });
  const byName = new Map(services.map((s) => [s.name, s]));
  drafts.forEach((d, i) => {
    const s = services[i] as SimService;
    for (const to of d.deps) {
      const callee = byName.get(to) as SimService;
      s.calls.push({
        to,
        // Only writes publish to a queue; workers consume from it on every job.
        weight:
          callee.store === 'queue'
            ? s.tier === 'worker'
              ? 1
              : rng.range(0.1, 0.4)
            : s.tier === 'edge'
              ? rng.range(0.2, 0.7)
              : callee.tier === 'datastore'
                ? rng.range(0.5, 1)
                : rng.range(0.3, 0.9),
        fanout: callee.store === 'postgres' ? rng.int(1, 4) : callee.store === 'redis' ? rng.int(1, 3) : 1,
        lagSteps: rng.chance(0.8) ? rng.int(1, 8) : rng.int(9, 24),
        timeoutMs: rng.pick([1000, 2000, 3000, 5000]),
        passErr: rng.range(0.55, 0.95),
        fallback: callee.store === 'redis',
      });
      callee.callers.push(s.name);
    }
  });
  deriveLoad(services, byName, rng);
  return { services, byName, topology: topologyFile(services, cfg.noise.staleTopologyEdges, rng) };
}

/** Request rates flow down the DAG (array order is topological); CPU is sized so the daily peak sits at 35-65 %. */
function deriveLoad(services: SimService[], byName: ReadonlyMap<string, SimService>, rng: Rng): void {
  const queueRps = new Map<string, number>();
  for (const s of services) {
    if (s.tier === 'worker') {
      const q = s.calls.find((c) => byName.get(c.to)?.store === 'queue');
      const consumers = q ? services.filter((w) => w.tier === 'worker' && w.calls.some((c) => c.to === q.to)).length : 1;
      s.baseRps = Math.max(0.5, ((q ? (queueRps.get(q.to) ?? 1) : 1) * rng.range(0.5, 1)) / consumers);
    }
    s.baseRps = Math.max(s.baseRps, 0.5);
    s.cpuPerRps = (rng.range(0.3, 0.6) - s.cpuIdle) / s.baseRps;
    for (const c of s.calls) {
      const callee = byName.get(c.to) as SimService;
      const add = s.baseRps * c.weight * c.fanout;
      callee.baseRps += add;
      if (callee.store === 'queue' && s.tier !== 'worker') queueRps.set(c.to, (queueRps.get(c.to) ?? 0) + add);
    }
  }
}

function topologyFile(services: readonly SimService[], stale: number, rng: Rng): TopologyFile {
  // A stale CMDB misses a few recently added API calls; candidates exclude an edge's only dependency.
  const candidates = services.flatMap((s) => (s.tier === 'api' && s.calls.length > 1 ? s.calls.map((c) => `${s.name}>${c.to}`) : []));
  const dropped = new Set(rng.shuffle(candidates).slice(0, stale));
  return {
    services: services.map((s) => ({
      name: s.name,
      owner: s.owner,
      tier: s.tier,
      tags: [s.store ?? s.lang, ...(s.external ? [`external:${s.external}`] : [])],
      depends_on: s.calls.map((c) => c.to).filter((to) => !dropped.has(`${s.name}>${to}`)),
    })),
  };
}
