import type { Edge, TopologyFile } from '../schemas/topology.js';
import { LruMap } from './util.js';

/** Largest neighbourhood one BFS visits: a bound on work per lookup even on a huge CMDB. */
const BFS_MAX_NODES = 10_000;

export interface TopologyStats {
  services: number;
  staticEdges: number;
  learnedEdges: number;
  learnedRefused: number;
}

/**
 * The service graph: static edges from the CMDB (`depends_on`: name -> dep) plus call edges learned from spans.
 * An edge `from -> to` means `from` calls (depends on) `to`. Learned edges are bounded; when full new ones are refused
 * (counted), because evicting an edge the correlator relied on would make grouping flap.
 */
export class Topology {
  private readonly out = new Map<string, Set<string>>();
  private readonly in = new Map<string, Set<string>>();
  private readonly staticKeys = new Set<string>();
  private readonly learnedKeys = new Set<string>();
  private learnedRefused = 0;
  /** Bumped on every new edge; neighbourhood caches are valid for one version. */
  private version = 0;
  private readonly cache = new LruMap<string, { version: number; dist: ReadonlyMap<string, number> }>(4096);

  constructor(
    file?: TopologyFile,
    private readonly maxLearnedEdges = 10_000,
  ) {
    for (const s of file?.services ?? []) {
      this.node(s.name);
      for (const dep of s.depends_on ?? []) {
        if (dep === s.name) continue;
        if (this.link(s.name, dep)) this.staticKeys.add(edgeKey(s.name, dep));
      }
    }
  }

  private node(s: string): void {
    if (!this.out.has(s)) this.out.set(s, new Set());
    if (!this.in.has(s)) this.in.set(s, new Set());
  }

  private link(from: string, to: string): boolean {
    this.node(from);
    this.node(to);
    const deps = this.out.get(from) as Set<string>;
    if (deps.has(to)) return false;
    deps.add(to);
    (this.in.get(to) as Set<string>).add(from);
    this.version++;
    return true;
  }

  /** Adds a learned call edge; returns true when it is new. */
  learn(from: string, to: string): boolean {
    if (from === to) return false;
    const key = edgeKey(from, to);
    if (this.staticKeys.has(key) || this.learnedKeys.has(key)) return false;
    if (this.learnedKeys.size >= this.maxLearnedEdges) {
      this.learnedRefused++;
      return false;
    }
    this.learnedKeys.add(key);
    return this.link(from, to);
  }

  knows(s: string): boolean {
    return this.out.has(s);
  }

  hasEdge(from: string, to: string): boolean {
    return this.out.get(from)?.has(to) ?? false;
  }

  /** What `s` calls, sorted. */
  dependencies(s: string): string[] {
    return [...(this.out.get(s) ?? [])].sort();
  }

  /** Who calls `s`, sorted. */
  callers(s: string): string[] {
    return [...(this.in.get(s) ?? [])].sort();
  }

  /** Direct neighbours in either direction, sorted. */
  neighbours(s: string): string[] {
    return [...new Set([...(this.out.get(s) ?? []), ...(this.in.get(s) ?? [])])].sort();
  }

  /**
   * Hop distances from `s` in the undirected graph, up to `maxHops` (s itself at 0). A service the graph does not
   * know is only near itself.
   */
  within(s: string, maxHops: number): ReadonlyMap<string, number> {
    const key = `${maxHops}\u0000${s}`;
    const hit = this.cache.get(key);
    if (hit && hit.version === this.version) return hit.dist;
    const dist = new Map<string, number>([[s, 0]]);
    let frontier = [s];
    for (let h = 1; h <= maxHops && frontier.length > 0 && dist.size < BFS_MAX_NODES; h++) {
      const next: string[] = [];
      for (const u of frontier) {
        for (const v of [...(this.out.get(u) ?? []), ...(this.in.get(u) ?? [])]) {
          if (dist.has(v) || dist.size >= BFS_MAX_NODES) continue;
          dist.set(v, h);
          next.push(v);
        }
      }
      frontier = next;
    }
    this.cache.set(key, { version: this.version, dist });
    return dist;
  }

  /** Hop distance if at most `maxHops`, else undefined. */
  distance(a: string, b: string, maxHops: number): number | undefined {
    return this.within(a, maxHops).get(b);
  }

  /** Services that `s` depends on, transitively up to `maxHops` (directed), excluding `s`. */
  dependenciesWithin(s: string, maxHops: number): Set<string> {
    const seen = new Set<string>([s]);
    let frontier = [s];
    for (let h = 1; h <= maxHops && frontier.length > 0 && seen.size < BFS_MAX_NODES; h++) {
      const next: string[] = [];
      for (const u of frontier) for (const v of this.out.get(u) ?? []) if (!seen.has(v)) (seen.add(v), next.push(v));
      frontier = next;
    }
    seen.delete(s);
    return seen;
  }

  /**
   * The dependency of `s` whose name occurs in `text` as a whole word (service-name characters around it do not
   * count), longest name first; undefined if none.
   */
  dependencyNamedIn(s: string, text: string): string | undefined {
    const deps = this.out.get(s);
    if (!deps || deps.size === 0) return undefined;
    const byLength = [...deps].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    for (const d of byLength) {
      let i = text.indexOf(d);
      while (i >= 0) {
        const before = i > 0 ? text.charAt(i - 1) : '';
        const after = text.charAt(i + d.length);
        if (!NAME_CHAR.test(before) && !NAME_CHAR.test(after)) return d;
        i = text.indexOf(d, i + 1);
      }
    }
    return undefined;
  }

  /** Edges with both ends in `nodes`, sorted. */
  edgesAmong(nodes: ReadonlySet<string>): Edge[] {
    const edges: Edge[] = [];
    for (const from of [...nodes].sort()) for (const to of this.dependencies(from)) if (nodes.has(to)) edges.push([from, to]);
    return edges;
  }

  stats(): TopologyStats {
    return { services: this.out.size, staticEdges: this.staticKeys.size, learnedEdges: this.learnedKeys.size, learnedRefused: this.learnedRefused };
  }
}

const NAME_CHAR = /^[A-Za-z0-9_-]$/;

function edgeKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}
