import { createHash } from 'node:crypto';

/**
 * Stable short ids: the same text gives the same id in every process and version, so template ids, incident ids
 * and signal ids survive restarts and agree across instances.
 */
export function stableId(prefix: string, ...parts: readonly (string | number)[]): string {
  const h = createHash('sha1');
  for (const p of parts) {
    h.update(String(p));
    h.update('\u0000');
  }
  return `${prefix}_${h.digest('hex').slice(0, 16)}`;
}
