/** A small seeded PRNG (mulberry32): retry jitter that a test can reproduce, without Math.random. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Delay before retry `attempt` (1-based): the cap doubles from `minMs` up to `maxMs` (throttling doubles it once
 * more, still within `maxMs`), and the delay is drawn from [cap/2, cap) ("equal jitter"): never zero, so a dead
 * server is not hammered, and spread out, so many writers do not retry in step.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, throttled: boolean, random: () => number): number {
  const exp = Math.min(30, Math.max(0, attempt - 1) + (throttled ? 1 : 0));
  const cap = Math.min(maxMs, minMs * 2 ** exp);
  return Math.round(cap / 2 + random() * (cap / 2));
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
