import { z } from 'zod';
import { TopologyFile } from '../schemas/topology.js';
import { DetectorConfig } from './anomaly/index.js';
import { MinerConfig } from './templates/index.js';

const MIN = 60_000;
const posInt = z.number().int().positive();
const nonNegMs = z.number().int().nonnegative();
const unit = z.number().min(0).max(1);

/**
 * Perception's metric detectors run with the detector's own defaults: the ones `npm run bench:nab` scores, so the
 * benchmark measures what the pipeline runs. Novelty (a new extreme of a long window) only scores once a series has
 * a day of history (`noveltyMinHistoryMs`): in a stream that started minutes ago every new high is "novel".
 * Measured both ways on held-out simulated scenarios (seeds 101-108 at 6 h, 201-204 at 24 h): the same recall and
 * no false incidents as the hourly-season, novelty-off settings used before.
 */
const SEASON = {} as const;

/** Log templating and the two log signals. */
export const LogsConfig = z.strictObject({
  /** Services with their own template miner; when full the least recently seen service is evicted and, if it comes back, starts a new warm-up (so eviction can cost sensitivity but never raises false `template_new`). */
  maxServices: posInt.default(500),
  /** Per service, templates whose level/count/first_seen/rate baseline are kept; when full the least recently seen is evicted (a later hit is then treated as a known template, never as new). */
  maxTemplatesPerService: posInt.default(1000),
  /** A service's warm-up ends once BOTH this much event time has passed since its first log and `warmupLogs` logs were seen; templates first seen before that are normal vocabulary. */
  warmupMs: nonNegMs.default(20 * MIN),
  warmupLogs: z.number().int().nonnegative().default(20),
  /**
   * A new template becomes a `template_new` signal once it recurs: `newMinCount` logs within `newWindowMs` of its
   * first one. A fault repeats its error lines; a rare harmless line seen once after warm-up is not news.
   */
  newMinCount: posInt.default(3),
  newWindowMs: posInt.default(3 * MIN),
  /** A template text other services have known for at least `globalKnownMs` is routine vocabulary: its score is multiplied by `globalKnownFactor`. */
  globalKnownMs: nonNegMs.default(10 * MIN),
  globalKnownFactor: unit.default(0.3),
  /** Template texts remembered across services (LRU). */
  maxGlobalTemplates: posInt.default(50_000),
  /** Score of a `template_new` by the highest level of its logs so far; info/debug/trace never signal. */
  newScoreFatal: unit.default(0.9),
  newScoreError: unit.default(0.8),
  newScoreWarn: unit.default(0.5),
  /**
   * An error/fatal template first seen during warm-up is still a suspect: it signals like a new one once it recurs,
   * its score multiplied by this (it may be start-up noise: at 0.8 x 0.6 = 0.48 it is never a strong symptom and needs measured company to open anything).
   */
  warmupSuspectFactor: unit.default(0.6),
  /** Rate bucket of `template_burst`. */
  burstBucketMs: posInt.default(MIN),
  /** EWMA weight of one closed bucket in a template's per-bucket baseline. */
  burstAlpha: z.number().gt(0).max(1).default(0.1),
  /** A bucket bursts when count >= burstFactor * (baseline + 1) and count >= burstMinCount. Only warn/error/fatal templates burst: info rates follow traffic, which `red_rate` covers. */
  burstFactor: z.number().gt(1).default(5),
  burstMinCount: posInt.default(10),
  /**
   * Absence: a template with at least `absentMinRate` lines in each of `absentMinBuckets` consecutive buckets that
   * then logs nothing for `absentBuckets` buckets, while its service keeps logging, signals at `absentScore` (weak
   * evidence: a line that stopped says where, not what). 0 buckets turns it off.
   */
  absentMinRate: posInt.default(5),
  absentMinBuckets: posInt.default(10),
  absentBuckets: nonNegMs.default(3),
  absentScore: unit.default(0.6),
  /** Multiplier of a warn template's burst score (error/fatal: 1). */
  burstWarnWeight: unit.default(0.7),
  /** Template signals carry as `peer` a dependency of the service named in the template text (the caller's view of a failing callee). */
  peerFromText: z.boolean().default(true),
  /** Template miner per service (its own defaults, but fewer templates per service since there are many services). */
  miner: MinerConfig.partial().prefault({ maxTemplates: 1000 }),
});
export type LogsConfig = z.infer<typeof LogsConfig>;

/** Metric series and `metric_anomaly`. */
export const MetricsConfig = z.strictObject({
  /** Series with a detector (a few KiB each); when full the least recently updated series is evicted (it restarts warm-up if it returns). */
  maxSeries: posInt.default(10_000),
  /** Detector score at or above which a point is anomalous. */
  threshold: unit.default(0.8),
  /** After a signal, a series stays quiet this long unless its score rises by `rearmDelta` (it still keeps its incident alive). */
  cooldownMs: nonNegMs.default(5 * MIN),
  rearmDelta: unit.default(0.1),
  /**
   * Points in a row that must be anomalous before a signal (Prometheus' `for:`): a one-point blip or a sparse
   * series' lone spike is not a fault, which lasts minutes. The signal carries the time of the first of them.
   */
  minConsecutive: posInt.default(2),
  /** An anomaly must also move the value by this fraction of its expected value (tiny absolute wiggles of a quiet series are not news). */
  minRelChange: z.number().nonnegative().default(0.2),
  /** An error-ratio series (hint 'errors', value <= 1) must also rise by at least this much (absolute). */
  minErrorDelta: z.number().nonnegative().default(0.02),
  /**
   * Absence (metric-absence.ts): a series with `absentMinPoints` points that then reports nothing for
   * `absentIntervals` of its usual intervals (and at least `absentMinMs`) is silent; 0 turns absence off. A service
   * whose every series is silent while others report signals `errors` at `absentServiceScore`; a series silent while
   * its service or instance reports signals weakly at `absentScore`; more than `absentMaxShare` of the services
   * silent at once is a collection gap (counted, not signalled). Checked every `absentCheckMs` of event time.
   */
  absentIntervals: z.number().int().nonnegative().default(3),
  absentMinPoints: posInt.default(30),
  absentMinMs: nonNegMs.default(90_000),
  absentCheckMs: posInt.default(15_000),
  absentScore: unit.default(0.5),
  absentServiceScore: unit.default(0.8),
  absentMaxShare: unit.default(0.5),
  /**
   * Habit (habit.ts): a series that started at least `habitEpisodes` episodes within `habitWindowMs` before this
   * one, and whose spike is at most `habitMagnitude` times the median of their excursions, signals at
   * `habitWeight` of its score (weak: it cannot open an incident or keep one alive). 0 episodes turns it off.
   */
  habitEpisodes: z.number().int().nonnegative().default(3),
  habitWindowMs: nonNegMs.default(120 * MIN),
  /** Episodes longer than this are not habit (habit.ts). */
  habitBriefMs: nonNegMs.default(2 * MIN),
  habitMagnitude: z.number().positive().default(2),
  habitWeight: unit.default(0.5),
  /** Detector settings for every series; `direction` is overridden per metric name (conventions.md). */
  detector: DetectorConfig.partial().prefault(SEASON),
});
export type MetricsConfig = z.infer<typeof MetricsConfig>;

/** RED (rate, errors, duration) from spans. */
export const RedConfig = z.strictObject({
  /**
   * Event-time aggregation bucket: one detector point per scope and metric per bucket. 30 s: with two anomalous
   * buckets needed, a fault shows within a minute, and a three-minute fault gives six points, not three.
   */
  bucketMs: posInt.default(30_000),
  /** A bucket closes once the watermark passes its end plus this grace (late spans and parents still land in it). */
  graceMs: nonNegMs.default(30_000),
  /** span_id -> service, FIFO-evicted when full; an evicted parent makes a later child's edge unknown. */
  maxSpanIndex: posInt.default(200_000),
  /**
   * Spans waiting for their parent span (children usually end, and arrive, first), and CLIENT spans waiting for a
   * SERVER child, each buffer at most this many. Full: the oldest is dropped (counted).
   */
  maxPending: posInt.default(50_000),
  /**
   * A waiting child whose parent has not arrived within this event time counts for its service only (counted); an
   * unanswered CLIENT span is then counted for the callee that answered that call name before (a down datastore).
   */
  pendingMs: nonNegMs.default(30_000),
  /** Scopes (services, call edges and client edges' network time) tracked; full: least recently active is evicted with its detectors. */
  maxScopes: posInt.default(2_000),
  /**
   * Minimum spans in a bucket before its latency is judged. Low on purpose: many real call edges carry a few calls a
   * second (12 a minute on one real recording), and the robust baseline of a noisy small-count series is wide anyway.
   */
  minCount: posInt.default(5),
  /** A latency anomaly must also be at least this fraction above expected. */
  minLatencyRelChange: z.number().nonnegative().default(0.3),
  /** ... and at least this many milliseconds (a cache going from 0.5 to 1.1 ms is not an incident). */
  minLatencyDeltaMs: z.number().nonnegative().default(5),
  /**
   * Network time of a call: the caller's CLIENT span minus the callee's SERVER span that answered it, per client edge,
   * its median judged per bucket. A delay between two services shows here whatever the callee's own latency does:
   * a callee whose work takes 100-600 ms hides a 230 ms network delay in its callers' p95, not in this median (on
   * real data, 4 ms becoming 234 ms). It is the same calls' evidence as the client edge's latency (one family).
   */
  networkTime: z.boolean().default(true),
  /** A network-time anomaly must be at least this many milliseconds above expected (jitter of a few ms is not a fault). */
  minNetworkDeltaMs: z.number().nonnegative().default(10),
  /**
   * Anomalous buckets needed for a network-time signal (`minConsecutive` for the others): a median of the calls' own
   * network time is steadier than a p95 of their durations, so it needs less persistence to be believed.
   */
  networkMinConsecutive: posInt.default(2),
  /** Minimum spans in a bucket before its error ratio is judged (a jump from 0 to most calls failing shows on fewer). */
  minErrorCount: posInt.default(3),
  /** Error signals need at least this many errors and this error ratio in the bucket. */
  minErrors: posInt.default(3),
  minErrorRatio: unit.default(0.05),
  /** Rate signals need an expected rate of at least this many spans per bucket (a quiet scope going quiet is not news). */
  minRateExpected: z.number().nonnegative().default(10),
  /** A scope silent for more than this many buckets stops being fed zero rates. */
  zeroFeedBuckets: posInt.default(30),
  /**
   * When more than this fraction of the recently active scopes (and at least `feedGapMinScopes`) fall silent in one
   * bucket, the span feed itself stopped (a collector gap, a sampling window, a lost file), not the services: no zero
   * rates are judged that bucket. A real crash silences one service and its edges, a minority; an outage of the
   * entry point that silences everything shows in its other signals (errors at its callers, metrics, alerts).
   */
  feedGapFraction: unit.default(0.5),
  feedGapMinScopes: posInt.default(4),
  /** Detector score at or above which a bucket is anomalous. */
  threshold: unit.default(0.8),
  /** Anomalous buckets needed (within two buckets of each other) before a signal; it carries the first one's time. */
  minConsecutive: posInt.default(3),
  /** After a signal, a RED series stays quiet this long unless its score rises by `rearmDelta` (it still keeps its incident alive). */
  cooldownMs: nonNegMs.default(5 * MIN),
  rearmDelta: unit.default(0.1),
  /** Learned call edges kept in the topology; full: new edges are refused (counted). */
  maxLearnedEdges: posInt.default(10_000),
  /** RED detectors see one point per bucket, so they warm up on fewer points than metric detectors (8 buckets: 4 minutes). */
  detector: DetectorConfig.partial().prefault({ ...SEASON, warmupPoints: 8 }),
});
export type RedConfig = z.infer<typeof RedConfig>;

/** Alert deduplication and flapping suppression. */
export const AlertsConfig = z.strictObject({
  /** Fingerprints tracked; full: least recently seen is evicted (a later notification counts as a new occurrence). */
  maxFingerprints: posInt.default(20_000),
  /** More than `flapMax` occurrences (firing after resolved) of one fingerprint within `flapWindowMs` are suppressed as flapping. */
  flapWindowMs: posInt.default(60 * MIN),
  flapMax: posInt.default(3),
  /** Signal score by severity; info alerts never signal. A re-sent critical/error alert keeps its incident alive. */
  scoreCritical: unit.default(0.9),
  scoreError: unit.default(0.75),
  scoreWarning: unit.default(0.4),
});
export type AlertsConfig = z.infer<typeof AlertsConfig>;

/** Folding signals into incidents. */
export const CorrelatorConfig = z.strictObject({
  /** Services within this many hops (undirected, static + learned edges) belong together; unknown services only with themselves. */
  maxHops: z.number().int().nonnegative().default(2),
  /** Symptoms wait this long (event time) for enough company to open an incident, then expire as noise. */
  openWindowMs: posInt.default(10 * MIN),
  /** Opening needs, among pending symptoms of one group, a sum of the max score per distinct ref >= openScore over >= openMinRefs refs. */
  openScore: z.number().positive().default(1.5),
  openMinRefs: posInt.default(2),
  /**
   * Opening also needs one strong symptom: a signal hinting latency, errors or resource with at least this score
   * (every fault kind shows one; hourly cron bursts, traffic swings and CPU-only wobbles do not). 0 disables.
   */
  openStrongScore: unit.default(0.7),
  /**
   * On: opening counts only the symptoms one root explains (at the root, at a service that calls it within
   * `upstreamHops`, directed, or a client edge of the root itself: a starved caller), so two siblings' unrelated blips
   * cannot open an incident together. Off (default): any symptoms within `maxHops` of each other. Measured (README,
   * "Explained-only opening"): on, false incidents fall by 60-75% on both the simulator and the real recordings
   * with the simulator's accuracy unchanged, but on the real ones 5 of 56 faults are no longer found and 1 more is
   * (two had only their own weak signals plus a sibling's latency; the others were cut into other incidents), so it
   * is a choice for teams that would rather miss a fault than be paged wrongly.
   */
  openExplainedOnly: z.boolean().default(false),
  /** Weight of request-rate swings (`red_rate`, 'unknown'-hint metric anomalies) in the opening sum: they support, rarely prove. */
  openWeakWeight: unit.default(0.5),
  /**
   * An open incident absorbs a related symptom up to this long after its last strong symptom near its core. Short:
   * a symptom after minutes of quiet is a new fault, even on the same service (faults minutes apart stay apart).
   */
  joinWindowMs: posInt.default(3 * MIN),
  /** An incident resolves when the watermark passes its last strong symptom near its core plus this. */
  resolveAfterMs: posInt.default(5 * MIN),
  /**
   * A symptom of a family the incident does not have yet joins only if the incident grew (a strong symptom added a
   * new family) within this much event time before it; later, it is a new onset and opens its own incident.
   */
  onsetGapMs: posInt.default(4 * MIN),
  /**
   * An incident grows (a strong symptom of a new family moves `lastGrowth`, so that new evidence it does not explain
   * may still join) only this long after its first symptom: the spread of one fault's effects over its first
   * minutes. Later growth, such as a memory level that stays up after a CPU fault at the core, would otherwise keep
   * the door open for the next fault's unrelated evidence (measured: the next fault on a caller joined the last one).
   */
  growthMs: posInt.default(3 * MIN),
  /** A symptom of a service that calls a core service through up to this many hops joins too (effects flow up to callers). */
  upstreamHops: z.number().int().nonnegative().default(4),
  /** Strong symptoms within this many hops of the core keep an incident alive (peripheral ones only join it). */
  coreHops: z.number().int().nonnegative().default(1),
  /** Distinct alerts (alert rules per service) in one neighbourhood that open an incident whatever their severity. */
  alertQuorum: posInt.default(3),
  /** A non-alert symptom corroborates an alert when its hint can carry an incident and its score is at least this. */
  corroborateScore: unit.default(0.5),
  /** Changes kept per service (ring) and for how long. */
  changeRetentionMs: posInt.default(120 * MIN),
  maxChangesPerService: posInt.default(50),
  /** Services whose change buffers are kept; full: least recently changed service's buffer is evicted. */
  maxChangeServices: posInt.default(5_000),
  /** A change attaches if it happened at most this long before the incident's first symptom (or while it is open). */
  changeLookbackMs: posInt.default(30 * MIN),
  /** Score of a `change` signal (evidence for the ranker, never enough to open). */
  changeScore: unit.default(0.5),
  /** Pending symptoms kept; full: the oldest is dropped (counted). */
  maxPending: posInt.default(20_000),
  /** Open incidents; full: the one with the oldest last symptom is resolved early to make room. */
  maxOpen: posInt.default(200),
  /** Per incident: distinct refs (best signal kept per ref) and services; beyond, signals are counted but not kept. */
  maxRefsPerIncident: posInt.default(500),
  maxServicesPerIncident: posInt.default(100),
});
export type CorrelatorConfig = z.infer<typeof CorrelatorConfig>;

export const PerceptionConfig = z.strictObject({
  logs: LogsConfig.prefault({}),
  metrics: MetricsConfig.prefault({}),
  red: RedConfig.prefault({}),
  alerts: AlertsConfig.prefault({}),
  correlator: CorrelatorConfig.prefault({}),
  /** Largest bundle, in bytes of JSON; signals and templates beyond it are cut and counted in `truncated`. */
  bundleMaxBytes: z.number().int().min(2048).default(16 * 1024),
  /** Per bundle, at most this many changes and edges (they are cut before signals are). */
  bundleMaxChanges: posInt.default(20),
  bundleMaxEdges: posInt.default(200),
  /** Signals of the last this-much event time enter a bundle before older ones, whatever their scores. */
  bundleRecentMs: posInt.default(10 * MIN),
  /**
   * An open incident whose evidence changed is re-emitted at most once per this much event time. 30 s, one RED
   * bucket: evidence that arrives is shown within the bucket it closes in (measured against 60 s: the simulator
   * unchanged, on the real recordings one more root first and one more in the top 3 at the end of its fault
   * window, for 11% more output updates).
   */
  updateEveryMs: nonNegMs.default(30_000),
  /** The CMDB (already parsed); learned call edges are added to it. */
  topology: TopologyFile.optional(),
});
export type PerceptionConfig = z.infer<typeof PerceptionConfig>;
