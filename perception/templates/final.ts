import { stableId } from '../../core/hash.js';
import type { MatchResult } from './miner.js';

interface Chain {
  template: string;
  next: Chain | null;
}

export interface FinalTemplate {
  readonly template_id: string;
  readonly template: string;
}

/**
 * The miner reports a cluster's CURRENT template with each line; when a later line generalizes that cluster, it
 * reports the id the cluster had before (`previousId`). Offline use labels every line with the FINAL template of its
 * cluster (what Drain and Loghub's evaluator do), so each superseded id is chained to its successor and resolved at
 * the end. A chain node is created per id at first sight and retired once superseded, so a later cluster that happens
 * to take an old text starts a chain of its own.
 */
export function finalTemplates(results: readonly MatchResult[]): FinalTemplate[] {
  const live = new Map<string, Chain>();
  const nodeOf = (id: string, template: string): Chain => {
    let c = live.get(id);
    if (c === undefined) {
      c = { template, next: null };
      live.set(id, c);
    }
    return c;
  };
  const perLine: Chain[] = [];
  for (const r of results) {
    const node = nodeOf(r.id, r.template);
    if (r.previousId !== undefined && r.previousId !== r.id) {
      const old = live.get(r.previousId);
      if (old !== undefined && old !== node) {
        old.next = node;
        live.delete(r.previousId);
      }
    }
    perLine.push(node);
  }
  return perLine.map((c) => {
    let x = c;
    while (x.next !== null) x = x.next;
    // The miner's own id rule: the same template text has the same id in every process.
    return { template_id: stableId('tpl', x.template), template: x.template };
  });
}
