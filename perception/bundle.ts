import type { ChangeEvent } from '../schemas/events.js';
import type { BundleDetails, BundleSeries, BundleTemplate, EdgeFigures, IncidentBundle } from '../schemas/incident.js';
import type { AlertGroupInfo } from './alerts.js';
import type { Signal } from '../schemas/signal.js';
import type { Edge } from '../schemas/topology.js';
import type { Incident } from './incident.js';
import type { Topology } from './topology.js';

/** Where a bundle finds the details behind signal refs. */
export interface BundleSources {
  template(service: string, id: string): BundleTemplate | undefined;
  series(id: string): BundleSeries | undefined;
  /** A release's new instances against its old ones (versions.ts). */
  changeVerdict?(ev: ChangeEvent, now: number): { verdict: 'degraded' | 'healthy' | 'unknown'; comparison: string };
  readonly topology: Topology;
  /** Display details (bundle `details`), outside the byte budget. */
  templateDetail?(service: string, id: string): NonNullable<BundleDetails['templates']>[string] | undefined;
  seriesDetail?(id: string): NonNullable<BundleDetails['series']>[string] | undefined;
  alertInfo?(ref: string): AlertGroupInfo | undefined;
  edgeFigures?(caller: string, callee: string): EdgeFigures | undefined;
}

/** Bounds of the display details: series with points, edges with figures. */
const DETAIL_POINT_SERIES = 24;
const DETAIL_EDGES = 50;

export interface BundleLimits {
  readonly maxBytes: number;
  readonly maxChanges: number;
  readonly maxEdges: number;
  /** Signals this recent (event time, before the bundle's time) go first. */
  readonly recentMs: number;
}

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v), 'utf8');

/**
 * Recent evidence first (the last `recentMs` before the bundle's time), then highest score, then earliest, then id:
 * a total order, so cuts are deterministic. Recency first keeps the ranking on what is happening now: scores
 * saturate, so "highest, then earliest" alone would freeze a long incident's bundle on its first hour.
 */
function bySignalPriority(since: number): (a: Signal, b: Signal) => number {
  return (a, b) => Number(b.ts >= since) - Number(a.ts >= since) || b.score - a.score || a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A JSON array being filled under a byte budget: n items cost their bytes plus n - 1 commas. */
class Budgeted<T> {
  readonly items: T[] = [];
  cost(v: T): number {
    return bytes(v) + (this.items.length > 0 ? 1 : 0);
  }
}

/**
 * The incident as reasoning sees it, at most `maxBytes` of JSON. Fixed parts come first (services, counts,
 * first_seen, the newest `maxChanges` changes, up to `maxEdges` edges, fewer if needed to fit); then signals (the
 * best per ref) by score, each with its template or series when they fit. Signals and templates left out are
 * counted in `truncated`. The budget holds unless the service names alone exceed it.
 */
export function buildBundle(inc: Incident, updatedAt: number, src: BundleSources, lim: BundleLimits): IncidentBundle {
  const services = [...inc.services].sort();
  const serviceSet = new Set(services);
  const firstSeen: Record<string, number> = {};
  for (const s of [...inc.firstSeen.keys()].sort()) firstSeen[s] = inc.firstSeen.get(s) as number;

  const allChanges = [...inc.changes.values()].sort(byTime).map((c) => {
    if (c.change_kind !== 'deploy' || !src.changeVerdict) return c;
    const v = src.changeVerdict(c, updatedAt);
    return { ...c, verdict: v.verdict, comparison: v.comparison.slice(0, 300) };
  });
  let changes = allChanges.slice(Math.max(0, allChanges.length - lim.maxChanges));
  let edges = bundleEdges(services, serviceSet, src.topology).slice(0, lim.maxEdges);

  const bundle: IncidentBundle = {
    incident_id: inc.id,
    opened_at: inc.openedAt,
    updated_at: updatedAt,
    status: inc.status,
    services,
    counts: { ...inc.counts },
    signals: [],
    templates: [],
    series: [],
    changes,
    edges,
    first_seen: firstSeen,
    truncated: { signals: 0, templates: 0 },
  };
  // Room for the truncation counters' digits, which are filled in last.
  const slack = 24;
  let used = bytes(bundle) + slack;
  // Fixed parts too big: halve edges, then changes, until they fit (or are gone).
  while (used > lim.maxBytes && (edges.length > 0 || changes.length > 0)) {
    if (edges.length > 0) edges = edges.slice(0, Math.floor(edges.length / 2));
    else changes = changes.slice(Math.ceil(changes.length / 2));
    bundle.edges = edges;
    bundle.changes = changes;
    used = bytes(bundle) + slack;
  }

  const signals = new Budgeted<Signal>();
  const templates = new Budgeted<BundleTemplate>();
  const series = new Budgeted<BundleSeries>();
  const seenSeries = new Set<string>();
  let templatesWanted = 0;
  for (const sig of [...inc.best.values()].sort(bySignalPriority(updatedAt - lim.recentMs))) {
    const c = signals.cost(sig);
    if (used + c > lim.maxBytes) break;
    signals.items.push(sig);
    used += c;
    if (sig.type === 'template_new' || sig.type === 'template_burst') {
      const t = src.template(sig.service, sig.ref);
      if (!t) continue;
      templatesWanted++;
      const tc = templates.cost(t);
      if (used + tc <= lim.maxBytes) {
        templates.items.push(t);
        used += tc;
      }
    } else if (sig.type !== 'alert' && sig.type !== 'change' && !seenSeries.has(sig.ref)) {
      const s = src.series(sig.ref);
      if (!s) continue;
      seenSeries.add(sig.ref);
      const sc = series.cost(s);
      if (used + sc <= lim.maxBytes) {
        series.items.push(s);
        used += sc;
      }
    }
  }
  // Templates of signals that did not fit count as cut too.
  const kept = new Set(signals.items);
  for (const sig of inc.best.values()) {
    if ((sig.type === 'template_new' || sig.type === 'template_burst') && !kept.has(sig)) templatesWanted++;
  }
  bundle.signals = signals.items;
  bundle.templates = templates.items;
  bundle.series = series.items;
  bundle.truncated = { signals: Math.max(0, inc.counts.signals - signals.items.length), templates: templatesWanted - templates.items.length };
  const details = bundleDetails(bundle, serviceSet, src);
  if (details) bundle.details = details;
  return bundle;
}

/**
 * Display figures of what the bundle holds (its templates, series, alert signals and call edges among its
 * services), computed after the budget so they never change what reasoning reads. Undefined when the sources have
 * none (a bundle without details is what 0.2 emitted).
 */
function bundleDetails(b: IncidentBundle, serviceSet: ReadonlySet<string>, src: BundleSources): BundleDetails | undefined {
  const d: BundleDetails = {};
  if (src.templateDetail) {
    const t: NonNullable<BundleDetails['templates']> = {};
    for (const x of b.templates) {
      const v = src.templateDetail(x.service, x.id);
      if (v) t[x.id] = v;
    }
    if (Object.keys(t).length > 0) d.templates = t;
  }
  if (src.seriesDetail) {
    const s: NonNullable<BundleDetails['series']> = {};
    let withPoints = 0;
    for (const x of b.series) {
      const v = src.seriesDetail(x.id);
      if (!v) continue;
      const keepPoints = v.points !== undefined && v.points.length > 0 && withPoints < DETAIL_POINT_SERIES;
      if (keepPoints) withPoints++;
      const e = { ...(v.unit !== undefined ? { unit: v.unit } : {}), ...(keepPoints ? { points: v.points } : {}) };
      if (Object.keys(e).length > 0) s[x.id] = e;
    }
    if (Object.keys(s).length > 0) d.series = s;
  }
  if (src.alertInfo) {
    const a: NonNullable<BundleDetails['alerts']> = {};
    for (const sig of b.signals) {
      if (sig.type !== 'alert' || a[sig.ref]) continue;
      const v = src.alertInfo(sig.ref);
      if (v) a[sig.ref] = { name: v.name, severity: v.severity, ...(v.annotations ? { annotations: { ...v.annotations } } : {}) };
    }
    if (Object.keys(a).length > 0) d.alerts = a;
  }
  if (src.edgeFigures) {
    const edges: EdgeFigures[] = [];
    for (const [caller, callee] of b.edges) {
      if (edges.length >= DETAIL_EDGES) break;
      if (!serviceSet.has(caller) || !serviceSet.has(callee)) continue;
      edges.push(src.edgeFigures(caller, callee) ?? { caller, callee });
    }
    if (edges.length > 0) d.edges = edges;
  }
  return Object.keys(d).length > 0 ? d : undefined;
}

function byTime(a: ChangeEvent, b: ChangeEvent): number {
  return a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Edges among the incident's services first, then those to their direct neighbours. */
function bundleEdges(services: readonly string[], serviceSet: ReadonlySet<string>, topo: Topology): Edge[] {
  const nodes = new Set<string>(services);
  for (const s of services) for (const n of topo.neighbours(s)) nodes.add(n);
  const all = topo.edgesAmong(nodes);
  const inner = all.filter(([a, b]) => serviceSet.has(a) && serviceSet.has(b));
  const outer = all.filter(([a, b]) => serviceSet.has(a) !== serviceSet.has(b));
  return [...inner, ...outer];
}
