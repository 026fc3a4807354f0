import { createHash } from 'node:crypto';
import { ClassRegistry, encodeGraph, hydrateGraph } from '../core/snapshot.js';
import { StatsMeaning } from './meaning.js';
import { NightshiftError } from '../core/errors.js';
import { createDetector } from './anomaly/index.js';
import type { PerceptionConfig } from './config.js';
import { SignalGate } from './metrics.js';
import { SeriesHabit } from './habit.js';
import type { PerceptionStage } from './stage.js';
import { TemplateMiner } from './templates/index.js';
import { LruMap } from './util.js';

/**
 * Snapshot and restore of a PerceptionStage's learned state (template miners and template history, detector
 * baselines, RED buckets and scopes, learned call edges, alert fingerprints, open incidents and pending symptoms),
 * for cluster mode: the state of one partition's stage is checkpointed to Kafka and restored on another instance.
 *
 * The whole object graph is captured (core/snapshot.ts), so a restored stage produces exactly what the
 * original would have from the same next input. Not captured: the stage's config (a checkpoint is only restored
 * into a stage built from a config with the same digest), its counters (process metrics) and its dependencies.
 */
/** Bumped when the layout of the state changes (2: ring-buffer span index, linked-slot maps; 3: point trails, template splits, alert groups; 4: trail points carry the band's half-width; 5: release cohorts, series absence, meaning learned from values; 6: series habits), see the digest. */
export const PERCEPTION_SNAPSHOT_KIND = 'nightshift.perception/6';

/** Classes only created while running (not by the constructor), seeded so that discovery finds their prototypes. */
function dynamicSeeds(config: PerceptionConfig): unknown[] {
  const seeds: unknown[] = [new TemplateMiner(config.logs.miner), new SignalGate(1, 1), new LruMap(1), new StatsMeaning(1), new SeriesHabit()];
  for (const d of [config.metrics.detector, config.red.detector]) seeds.push(createDetector(d));
  // Every optional part of a detector (seasonal profile, novelty ranges), whatever the configured ones turn on.
  seeds.push(createDetector({ seasonPeriodMs: 60_000, seasonBuckets: 2, noveltyWindow: 1000, noveltyBlock: 10 }));
  return seeds;
}

const registries = new WeakMap<PerceptionStage, ClassRegistry>();

/** The class registry for a stage: every class reachable from it or from the seeds. */
export function perceptionRegistry(stage: PerceptionStage): ClassRegistry {
  const hit = registries.get(stage);
  if (hit) return hit;
  const reg = new ClassRegistry();
  reg.discover(stage);
  for (const s of dynamicSeeds(configOf(stage))) reg.discover(s);
  reg.keep('PerceptionStage', ['config', 'opts', 'counters']);
  // Pure caches of ids (up to 2 x 65,536 entries each): a restored stage recomputes them, so they stay out of the
  // checkpoint (a few MB of strings each otherwise).
  reg.keep('StableIdMemo', ['young', 'old']);
  registries.set(stage, reg);
  return reg;
}

function configOf(stage: PerceptionStage): PerceptionConfig {
  // The config is a private constructor parameter; reading it here keeps PerceptionStage's API unchanged.
  return (stage as unknown as { config: PerceptionConfig }).config;
}

/**
 * A digest of the config and of the state layout: a checkpoint restores only into a stage configured the same way
 * whose classes keep their state in the same fields (an older layout would hydrate without error and fail later).
 */
export function perceptionConfigDigest(stage: PerceptionStage): string {
  return createHash('sha1').update(PERCEPTION_SNAPSHOT_KIND).update(JSON.stringify(configOf(stage))).digest('hex').slice(0, 16);
}

/** The stage's state as bytes (v8 serialization of the tagged graph). */
export function snapshotPerception(stage: PerceptionStage): Buffer {
  return encodeGraph(stage, perceptionRegistry(stage));
}

/**
 * Loads a snapshot into `fresh`, a stage that has processed nothing yet and was built with the same config.
 * Throws SCHEMA_MISMATCH when the snapshot does not fit; `fresh` must then be discarded.
 */
export function restorePerception(fresh: PerceptionStage, snapshot: Buffer): void {
  const st = fresh.stats();
  if (st.signals > 0 || Object.values(st.events).some((n) => n > 0)) {
    throw new NightshiftError('INTERNAL', 'restorePerception needs a stage that has processed nothing yet');
  }
  hydrateGraph(fresh, snapshot, perceptionRegistry(fresh));
}

/** What a stage has learned, for logs and tests: a restored stage shows the original's figures before any input. */
export interface LearnedSummary {
  readonly logServices: number;
  readonly templates: number;
  readonly series: number;
  readonly redScopes: number;
  readonly learnedEdges: number;
  readonly openIncidents: number;
  /** A digest of the learned template ids (service-scoped), to compare two stages' vocabularies. */
  readonly templateDigest: string;
}

export function learnedSummary(stage: PerceptionStage): LearnedSummary {
  const st = stage.stats();
  const ids: string[] = [];
  // Template ids live in per-service LRU maps inside LogPerception; read them without changing their recency.
  const logs = (stage as unknown as { logs: { services: LruMap<string, { templates: LruMap<string, unknown> }> } }).logs;
  for (const [, svc] of logs.services.entries()) for (const [id] of svc.templates.entries()) ids.push(id);
  ids.sort();
  return {
    logServices: st.logs.services,
    templates: ids.length,
    series: st.metrics.series,
    redScopes: st.red.scopes,
    learnedEdges: st.topology.learnedEdges,
    openIncidents: st.correlator.open,
    templateDigest: createHash('sha1').update(ids.join('\n')).digest('hex').slice(0, 16),
  };
}
