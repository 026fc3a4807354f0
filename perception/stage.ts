import { Counters } from '../core/counters.js';
import { NightshiftError } from '../core/errors.js';
import type { Emitter, Stage, StageDeps, StageFactory } from '../core/stage.js';
import type { Event, EventKind } from '../schemas/events.js';
import type { IncidentBundle } from '../schemas/incident.js';
import type { Signal, SignalType } from '../schemas/signal.js';
import type { TopologyFile } from '../schemas/topology.js';
import { AlertPerception, type AlertStats } from './alerts.js';
import { buildBundle, type BundleLimits, type BundleSources } from './bundle.js';
import { PerceptionConfig } from './config.js';
import { Correlator, type CorrelatorStats } from './correlator.js';
import { changeSignalOf } from './incident.js';
import { LogPerception, type LogStats } from './logs.js';
import { MetricPerception, type MetricStats } from './metrics.js';
import { RedPerception, type RedStats } from './red.js';
import { Topology, type TopologyStats } from './topology.js';
import type { KeepAlive } from './util.js';
import { VersionTracker } from './versions.js';

export type SignalObserver = (signal: Signal) => void;

export interface PerceptionOptions {
  readonly deps?: StageDeps;
  /** The CMDB; overrides `config.topology` when given. */
  readonly topology?: TopologyFile;
  /** Called for every signal perception produces, in order (e.g. a sink that stores signals). */
  readonly onSignal?: SignalObserver;
}

export interface PerceptionStats {
  /** Raw alert notifications in (duplicates included): the denominator of the alert noise reduction. */
  rawAlerts: number;
  /** Signals produced (all types, change signals included). */
  signals: number;
  signalsByType: Record<SignalType, number>;
  /** Incidents opened (each has one id, however many bundles it emitted). */
  incidentsOpened: number;
  bundles: number;
  events: Record<EventKind, number>;
  alerts: AlertStats;
  logs: LogStats;
  metrics: MetricStats;
  red: RedStats;
  topology: TopologyStats;
  correlator: CorrelatorStats;
}

const EVENT_KINDS: readonly EventKind[] = ['alert', 'log', 'span', 'metric', 'change'];
const SIGNAL_TYPES: readonly SignalType[] = ['template_new', 'template_burst', 'metric_anomaly', 'red_latency', 'red_errors', 'red_rate', 'alert', 'change'];

/** Parses a (partial) perception config; a bad one is a CONFIG_INVALID error naming the fields. */
export function perceptionConfig(input: unknown = {}): PerceptionConfig {
  const r = PerceptionConfig.safeParse(input ?? {});
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new NightshiftError('CONFIG_INVALID', `perception config: ${why}`);
  }
  return r.data;
}

/**
 * Event -> IncidentBundle. Runs on event time: the watermark is the largest event timestamp seen (events may be
 * somewhat out of order). A bundle is emitted when an incident opens, when its services or evidence change (at most
 * once per `updateEveryMs` of event time), when it resolves, and at end of input for every incident still open.
 */
export class PerceptionStage implements Stage<Event, IncidentBundle> {
  readonly name = 'perception';
  readonly counters = new Counters();
  private readonly topology: Topology;
  private readonly logs: LogPerception;
  private readonly metrics: MetricPerception;
  private readonly red: RedPerception;
  private readonly alerts: AlertPerception;
  private readonly correlator: Correlator;
  private readonly versions: VersionTracker;
  private readonly sources: BundleSources;
  private readonly limits: BundleLimits;
  private watermark = 0;
  private bundles = 0;
  private readonly eventCounts = Object.fromEntries(EVENT_KINDS.map((k) => [k, 0])) as Record<EventKind, number>;
  private readonly signalCounts = Object.fromEntries(SIGNAL_TYPES.map((k) => [k, 0])) as Record<SignalType, number>;

  constructor(
    private readonly config: PerceptionConfig,
    private readonly opts: PerceptionOptions = {},
  ) {
    this.topology = new Topology(opts.topology ?? config.topology, config.red.maxLearnedEdges);
    const correlator = new Correlator(config.correlator, this.topology);
    this.correlator = correlator;
    const keepAlive: KeepAlive = (service, ts, peer, strong, family) => correlator.keepAlive(service, ts, peer, strong, family);
    const topology = this.topology;
    this.logs = new LogPerception(config.logs, (service, text) => topology.dependencyNamedIn(service, text));
    const versions = new VersionTracker(config.red.maxScopes);
    this.versions = versions;
    this.metrics = new MetricPerception(
      config.metrics,
      keepAlive,
      (p) => versions.observeMetric(p),
      (service) => topology.within(service, config.correlator.maxHops),
    );
    this.red = new RedPerception(config.red, this.topology, keepAlive);
    this.alerts = new AlertPerception(config.alerts, keepAlive);
    this.limits = { maxBytes: config.bundleMaxBytes, maxChanges: config.bundleMaxChanges, maxEdges: config.bundleMaxEdges, recentMs: config.bundleRecentMs };
    const { logs, metrics, red, alerts } = this;
    this.sources = {
      changeVerdict: (ev, now) => versions.verdict(ev, now),
      template: (service, id) => logs.template(service, id),
      series: (id) => metrics.seriesInfo(id) ?? red.seriesInfo(id),
      topology: this.topology,
      templateDetail: (service, id) => logs.templateDetail(service, id),
      seriesDetail: (id) => metrics.seriesDetail(id) ?? red.seriesDetail(id),
      alertInfo: (ref) => alerts.groupInfo(ref),
      edgeFigures: (caller, callee) => red.edgeFigures(caller, callee),
    };
  }

  process(ev: Event, out: Emitter<IncidentBundle>): void {
    if (typeof ev !== 'object' || ev === null || !Number.isFinite(ev.ts) || typeof ev.service !== 'string') {
      this.counters.drop('invalid_event');
      return;
    }
    if (!EVENT_KINDS.includes(ev.kind)) {
      this.counters.drop('unknown_kind');
      return;
    }
    this.eventCounts[ev.kind]++;
    if (ev.ts > this.watermark) this.watermark = ev.ts;
    this.correlator.advance(this.watermark, this.config.updateEveryMs);
    this.correlator.observeRaw(ev);
    switch (ev.kind) {
      case 'alert':
        this.symptoms(this.alerts.observe(ev));
        break;
      case 'log':
        this.symptoms(this.logs.observe(ev));
        break;
      case 'metric':
        this.symptoms(this.metrics.observe(ev));
        break;
      case 'span':
        this.versions.observe(ev);
        this.symptoms(this.red.observe(ev));
        break;
      case 'change': {
        const sig = changeSignalOf(ev, this.config.correlator.changeScore);
        this.notify(sig);
        this.correlator.addChange(ev, sig);
        break;
      }
    }
    // Any record moves event time, so RED buckets close even when spans pause.
    if (ev.kind !== 'span') this.symptoms(this.red.advance(this.watermark));
    this.symptoms(this.metrics.advance(this.watermark));
    this.correlator.advance(this.watermark, this.config.updateEveryMs);
    this.emitPending(out);
  }

  flush(out: Emitter<IncidentBundle>): void {
    this.symptoms(this.red.flush());
    this.correlator.flush(this.watermark);
    this.emitPending(out);
  }

  private symptoms(sigs: readonly Signal[]): void {
    for (const s of sigs) {
      this.notify(s);
      this.correlator.addSymptom(s);
    }
  }

  private notify(s: Signal): void {
    this.signalCounts[s.type]++;
    this.opts.onSignal?.(s);
  }

  private emitPending(out: Emitter<IncidentBundle>): void {
    for (const { incident, transition } of this.correlator.drain()) {
      const b = buildBundle(incident, this.watermark, this.sources, this.limits);
      this.bundles++;
      this.opts.deps?.log.debug({ incident: b.incident_id, transition, services: b.services }, 'incident');
      out.emit(b);
    }
  }

  stats(): PerceptionStats {
    let total = 0;
    for (const t of SIGNAL_TYPES) total += this.signalCounts[t];
    const corr = this.correlator.stats();
    const alerts = this.alerts.stats();
    return {
      rawAlerts: alerts.notifications,
      signals: total,
      signalsByType: { ...this.signalCounts },
      incidentsOpened: corr.opened,
      bundles: this.bundles,
      events: { ...this.eventCounts },
      alerts,
      logs: this.logs.stats(),
      metrics: this.metrics.stats(),
      red: this.red.stats(),
      topology: this.topology.stats(),
      correlator: corr,
    };
  }
}

/** The factory: the CMDB travels in `config.topology` (the CLI parses the file into it). */
export const perceptionFactory: StageFactory<PerceptionConfig, Event, IncidentBundle> = {
  type: 'perception',
  configSchema: PerceptionConfig,
  defaultConfig: () => PerceptionConfig.parse({}),
  create: (config, deps) => new PerceptionStage(config, { deps }),
};

/**
 * Convenience: parse a (partial) config and build the stage. `topology` overrides `config.topology`; `onSignal`
 * sees every signal.
 */
export function createPerception(config: unknown = {}, deps?: StageDeps, topology?: TopologyFile, onSignal?: SignalObserver): PerceptionStage {
  return new PerceptionStage(perceptionConfig(config), {
    ...(deps ? { deps } : {}),
    ...(topology ? { topology } : {}),
    ...(onSignal ? { onSignal } : {}),
  });
}
