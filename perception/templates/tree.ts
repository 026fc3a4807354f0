import { isPlaceholder, WILDCARD } from './mask.js';

/**
 * Drain's fixed-depth prefix tree: level 1 is the token count, then `depth - 2` leading tokens, then a leaf holding
 * clusters. A node holds at most `maxChildren` children; beyond that, new tokens share the `<*>` child. Nodes exist
 * only on the path of a live cluster (removal prunes empty nodes), so the tree never holds more than
 * clusters x (depth - 1) nodes.
 */

export interface TreeCluster {
  readonly tokens: readonly string[];
  /** The keys from the root to the leaf holding this cluster; set by insert. */
  path: string[];
}

interface Node<C> {
  readonly children: Map<string, Node<C>>;
  readonly clusters: C[];
  /** Clusters in this subtree (for the bounded fallback search). */
  total: number;
}

function newNode<C>(): Node<C> {
  return { children: new Map(), clusters: [], total: 0 };
}

function hasDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** Tokens that are, or may well be, variables route to `<*>` (Drain routes any token with a digit there). */
function routeKey(token: string): string {
  return token === WILDCARD || isPlaceholder(token) || hasDigit(token) ? WILDCARD : token;
}

export class PrefixTree<C extends TreeCluster> {
  private readonly root = newNode<C>();
  private readonly routeDepth: number;

  constructor(
    depth: number,
    private readonly maxChildren: number,
  ) {
    this.routeDepth = depth - 2;
  }

  /**
   * The leaves a message may belong to: at each level the exact child and the `<*>` child (at most 2^(depth-2)).
   * With `fallbackLimit` > 0 and no leaf found that way, the whole subtree where the descent stopped, if it holds at
   * most `fallbackLimit` clusters: this finds `user alice ...` for `user bob ...`, which Drain never does (its
   * routing treats the second token as structure). All or nothing, so the answer does not depend on Map order.
   */
  candidates(tokens: readonly string[], fallbackLimit = 0): C[][] {
    const first = this.root.children.get(String(tokens.length));
    if (first === undefined) return [];
    const out: C[][] = [];
    const levels = Math.min(this.routeDepth, tokens.length);
    let deepest: Node<C> = first;
    let deepestLevel = -1;
    const walk = (node: Node<C>, level: number): void => {
      if (level > deepestLevel) {
        deepest = node;
        deepestLevel = level;
      }
      if (level === levels) {
        if (node.clusters.length > 0) out.push(node.clusters);
        return;
      }
      const key = routeKey(tokens[level] as string);
      const exact = node.children.get(key);
      if (exact !== undefined) walk(exact, level + 1);
      if (key !== WILDCARD) {
        const wild = node.children.get(WILDCARD);
        if (wild !== undefined) walk(wild, level + 1);
      }
    };
    walk(first, 0);
    if (out.length === 0 && fallbackLimit > 0 && deepest.total <= fallbackLimit) this.collect(deepest, out);
    return out;
  }

  private collect(node: Node<C>, out: C[][]): void {
    if (node.clusters.length > 0) out.push(node.clusters);
    for (const child of node.children.values()) this.collect(child, out);
  }

  insert(c: C): void {
    const lenKey = String(c.tokens.length);
    const path = [lenKey];
    let node = this.child(this.root, lenKey);
    const levels = Math.min(this.routeDepth, c.tokens.length);
    for (let level = 0; level < levels; level++) {
      let key = routeKey(c.tokens[level] as string);
      if (!node.children.has(key) && key !== WILDCARD && node.children.size >= this.maxChildren - 1) {
        // Keep one slot for `<*>`: a full node sends every further new token there.
        key = WILDCARD;
      }
      node = this.child(node, key);
      path.push(key);
    }
    node.clusters.push(c);
    c.path = path;
    this.count(path, 1);
  }

  private count(path: readonly string[], delta: number): void {
    let node = this.root;
    node.total += delta;
    for (const key of path) {
      node = node.children.get(key) as Node<C>;
      node.total += delta;
    }
  }

  /** Places a cluster at a known path (snapshot restore), regardless of maxChildren. */
  insertAt(c: C, path: readonly string[]): void {
    let node = this.root;
    for (const key of path) node = this.child(node, key);
    node.clusters.push(c);
    c.path = [...path];
    this.count(path, 1);
  }

  /** True when a routing token of the cluster's template has become a variable since the cluster was placed. */
  misrouted(c: C): boolean {
    for (let level = 1; level < c.path.length; level++) {
      if (c.path[level] !== WILDCARD && routeKey(c.tokens[level - 1] as string) === WILDCARD) return true;
    }
    return false;
  }

  remove(c: C): void {
    const stack: Node<C>[] = [this.root];
    let node = this.root;
    for (const key of c.path) {
      const next = node.children.get(key);
      if (next === undefined) return;
      node = next;
      stack.push(node);
    }
    const i = node.clusters.indexOf(c);
    if (i < 0) return;
    node.clusters.splice(i, 1);
    for (const n of stack) n.total--;
    for (let d = c.path.length; d >= 1; d--) {
      const n = stack[d] as Node<C>;
      if (n.total > 0) break;
      (stack[d - 1] as Node<C>).children.delete(c.path[d - 1] as string);
    }
  }

  private child(node: Node<C>, key: string): Node<C> {
    let n = node.children.get(key);
    if (n === undefined) {
      n = newNode<C>();
      node.children.set(key, n);
    }
    return n;
  }
}
