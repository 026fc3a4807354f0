import { stableId } from '../core/hash.js';
import type { RootCauseKind } from '../schemas/common.js';
import { metricHint, type Direction } from './hints.js';

/**
 * What a metric series means and which way is bad, decided in this order (first that knows wins):
 *  1. OpenTelemetry semantic-convention names (`http.server.request.duration`, `system.cpu.utilization`, ...);
 *  2. the unit the producer declared (OTLP `unit`, UCUM) or wrote into the name (`(s)`, `_seconds`, `(%)`, `_bytes`):
 *     a time is a latency, going up; a ratio or percentage is read with the name's noun (success/availability
 *     falling, CPU/memory/utilization rising);
 *  3. the series' own statistics, for what the first two leave unknown (StatsMeaning: a ratio pinned at its
 *     ceiling is a success measure);
 *  4. name patterns (hints.ts), the last resort.
 * So `SuccessRate(%)`, `CpuUsageRate(%)`, `PodClientLatencyP90(s)` and `grpc-mrt` mean what they say without any
 * list of one system's metric names.
 */
export interface Meaning {
  readonly kind: RootCauseKind;
  readonly direction: Direction;
  /** How it was decided, for the bundle and the docs ('stats': from the series' own values, StatsMeaning). */
  readonly source: 'semconv' | 'unit' | 'name' | 'stats';
}

type Rule = readonly [RegExp, Omit<Meaning, 'source'>];

// OpenTelemetry semantic conventions (metrics): durations, utilizations, usage, errors.
const SEMCONV: readonly Rule[] = [
  [/^(http|rpc|db|messaging|faas|dns|gen_ai)\.(server|client|process|operation|request)?.*\.duration$/, { kind: 'latency', direction: 'up' }],
  [/\.(duration|latency)$/, { kind: 'latency', direction: 'up' }],
  [/^(system|process|container|k8s\.(pod|node|container))\.cpu\.(utilization|usage|time)$/, { kind: 'saturation', direction: 'up' }],
  [/^(system|process|container|k8s\.(pod|node|container)|jvm)\.memory\.(utilization|usage|used|working_set|rss)$/, { kind: 'resource', direction: 'up' }],
  [/^(system\.filesystem|k8s\.(pod|node)\.filesystem|container\.filesystem)\.(utilization|usage)$/, { kind: 'resource', direction: 'up' }],
  [/\.(active_requests|queue\.size|pending|connection\.count|connections\.usage)$/, { kind: 'saturation', direction: 'up' }],
  [/\.(errors?|failures?|failed)(\.count|\.total)?$/, { kind: 'errors', direction: 'up' }],
];

const TIME_UNITS = /^(s|ms|us|µs|ns|min|h)$/;
const RATIO_UNITS = /^(%|1|percent|ratio)$/;
const BYTE_UNITS = /^(By|KiBy|MiBy|GiBy|kBy|MBy|GBy|bytes?|Ki|Mi|Gi|MB|KB|GB)$/i;

// Units written into names: `Latency(s)`, `latency_seconds`, `duration_ms`, `Rate(%)`, `_percent`, `Usage(Mi)`.
function unitFromName(name: string): string | undefined {
  const paren = /\(([^()]{1,8})\)\s*$/.exec(name);
  if (paren) return paren[1];
  const suffix = /[_.-](seconds|secs|sec|millis|milliseconds|ms|micros|us|percent|pct|ratio|bytes|mib|gib|mb)$/i.exec(name);
  if (!suffix) return undefined;
  const s = (suffix[1] as string).toLowerCase();
  if (s.startsWith('sec')) return 's';
  if (s === 'millis' || s === 'milliseconds' || s === 'ms') return 'ms';
  if (s === 'micros' || s === 'us') return 'us';
  if (s === 'percent' || s === 'pct') return '%';
  if (s === 'ratio') return '1';
  return 'By';
}

const GOOD_RATIO = /success|availab|apdex|uptime|hit[_ ]?rate|hit[_ ]?ratio|health|\bok\b|good/i;
const BAD_RATIO = /error|fail|drop|loss|reject|timeout|5xx|throttl/i;
const CPU = /cpu|processor|load/i;
const MEM = /mem|heap|rss|working.?set|oom|swap/i;
const DISK = /disk|fs|filesystem|volume|inode/i;
const NET = /net|network|receive|transmit|rx|tx|bandwidth|throughput/i;
const LATENCY_WORDS = /latency|duration|response.?time|elapsed|wait|mrt|rtt|delay/i;

/** The meaning of a series from its name and declared unit (see the class comment for the order). */
export function seriesMeaning(name: string, unit?: string): Meaning {
  // Counts of events per interval (a histogram's `.count`): traffic, whatever the unit of what was counted.
  if (/[._](count|total)$/.test(name) && !/error|fail/i.test(name)) return { kind: 'unknown', direction: 'both', source: 'name' };
  for (const [re, m] of SEMCONV) if (re.test(name)) return { ...m, source: 'semconv' };
  const u = unit && unit.trim() !== '' ? unit.trim().replace(/^\{.*\}$/, '') : unitFromName(name);
  if (u !== undefined && u !== '') {
    if (TIME_UNITS.test(u) && !/time_total|cpu/i.test(name)) return { kind: 'latency', direction: 'up', source: 'unit' };
    if (RATIO_UNITS.test(u)) {
      if (GOOD_RATIO.test(name)) return { kind: 'errors', direction: 'down', source: 'unit' };
      if (BAD_RATIO.test(name)) return { kind: 'errors', direction: 'up', source: 'unit' };
      if (CPU.test(name)) return { kind: 'saturation', direction: 'up', source: 'unit' };
      if (MEM.test(name) || DISK.test(name)) return { kind: 'resource', direction: 'up', source: 'unit' };
      return { kind: 'saturation', direction: 'up', source: 'unit' };
    }
    if (BYTE_UNITS.test(u)) {
      if (MEM.test(name) || DISK.test(name)) return { kind: 'resource', direction: 'up', source: 'unit' };
      // Network or other byte counts: traffic, which swings both ways and suggests no cause by itself.
      return { kind: 'unknown', direction: 'both', source: 'unit' };
    }
  }
  if (GOOD_RATIO.test(name) && /rate|ratio|percent|availability|apdex/i.test(name)) return { kind: 'errors', direction: 'down', source: 'name' };
  if (LATENCY_WORDS.test(name) && !NET.test(name.replace(LATENCY_WORDS, ''))) return { kind: 'latency', direction: 'up', source: 'name' };
  const h = metricHint(name);
  return { kind: h.kind, direction: h.direction, source: 'name' };
}

/** Label keys that name one instance of a service: one metric across them is one piece of evidence. */
const INSTANCE_LABELS = new Set(['service.instance.id', 'k8s.pod.name', 'pod', 'pod_name', 'instance', 'host', 'host.name', 'container', 'container.id', 'k8s.container.name', 'service.version']);
/** Label keys that select a quantile or bucket of one distribution. */
const QUANTILE_LABELS = new Set(['quantile', 'le', 'percentile']);
/** Quantile markers in names: `P90`, `_p99`, `.p95`, `p99.9`, `_quantile`, `Percentile95`. */
const QUANTILE_IN_NAME = /([_.\-\s]?(p|percentile|quantile)[_]?(50|75|90|95|98|99|999|99\.9)(?![0-9]))|([_.](quantile|percentile)s?$)/gi;

/** The family of a series: its service, its name without quantile markers, its labels without instance or quantile keys. */
export function seriesFamily(service: string, name: string, labels: Readonly<Record<string, string>>): string {
  const base = name.replace(QUANTILE_IN_NAME, '');
  const keep = Object.keys(labels)
    .filter((k) => !INSTANCE_LABELS.has(k) && !QUANTILE_LABELS.has(k))
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`);
  return stableId('family', service, base, ...keep);
}

/** Label keys naming the other end of a call, as service meshes and OpenTelemetry instrumentations write them. */
const DESTINATION_LABELS = ['peer.service', 'destination', 'destination_service', 'destination_service_name', 'destination_workload', 'destination.service.name', 'server.address', 'net.peer.name'] as const;
const SOURCE_LABELS = ['source', 'source_service', 'source_workload', 'source.service.name', 'client.service', 'caller'] as const;

export interface MetricEdge {
  readonly caller: string;
  readonly callee: string;
  /** `client`: measured by the caller (a network delay shows here); `server`: by the callee. */
  readonly side: 'client' | 'server';
}

/**
 * A metric of one call edge: its service is one end and a label names the other (Istio's `destination_workload`,
 * OpenTelemetry's `peer.service` / `server.address`, plain `destination` / `source`). Such a series is evidence about
 * the edge, like a RED signal from spans, not about its service alone.
 */
export function metricEdge(service: string, labels: Readonly<Record<string, string>>): MetricEdge | undefined {
  for (const k of DESTINATION_LABELS) {
    const v = labels[k];
    if (v && v !== service && v.length <= 256) return { caller: service, callee: v, side: 'client' };
  }
  for (const k of SOURCE_LABELS) {
    const v = labels[k];
    if (v && v !== service && v.length <= 256) return { caller: v, callee: service, side: 'server' };
  }
  return undefined;
}

const DISPLAY_UNITS: Readonly<Record<string, string>> = {
  s: 's', ms: 'ms', us: 'µs', µs: 'µs', ns: 'ns', min: 'min', h: 'h',
  '%': '%', percent: '%', '1': 'ratio', ratio: 'ratio',
  by: 'bytes', byte: 'bytes', bytes: 'bytes', kiby: 'KiB', miby: 'MiB', giby: 'GiB', kby: 'kB', mby: 'MB', gby: 'GB',
  ki: 'KiB', mi: 'MiB', gi: 'GiB', kb: 'kB', mb: 'MB', gb: 'GB', mib: 'MiB', gib: 'GiB',
  '1/s': '/s', 'by/s': 'bytes/s',
};

/**
 * The unit a person reads beside a series' values: the declared unit (OTLP `unit`, UCUM: `s`, `ms`, `1`, `By`,
 * `{request}/s`), else one written into the name (`(s)`, `_seconds`, `(%)`, `_bytes`, `_per_second`), else the
 * semantic conventions' (durations in seconds, utilizations as ratios); undefined when none of them says.
 */
export function displayUnit(name: string, unit?: string): string | undefined {
  const declared = unit?.trim();
  if (declared) {
    const ann = /^\{([^}]{1,24})\}\/s$/.exec(declared);
    if (ann) return /req/i.test(ann[1] as string) ? 'req/s' : `${ann[1]}/s`;
    const u = declared.replace(/^\{.*\}$/, '');
    if (u === '') return undefined;
    return DISPLAY_UNITS[u.toLowerCase()] ?? (u.length <= 12 ? u : undefined);
  }
  if (/(requests?|req|rps|qps)([_.](per[_.])?(second|sec|s))?$/i.test(name) && /per[_.]?s|rps|qps|_per_second/i.test(name)) return 'req/s';
  const fromName = unitFromName(name);
  if (fromName !== undefined) return DISPLAY_UNITS[fromName.toLowerCase()] ?? (fromName.length <= 12 ? fromName : undefined);
  if (/\.duration$/.test(name) && /^(http|rpc|db|messaging|faas|dns|gen_ai)\./.test(name)) return 's';
  if (/\.utilization$/.test(name)) return 'ratio';
  return undefined;
}

/** Share of a series' first points that must sit exactly at its ceiling for it to read as a success ratio. */
const CEILING_SHARE = 0.8;

/**
 * Meaning from a series' own statistics, for a series that conventions, units and names left `unknown`: a bounded
 * ratio that sits at its ceiling nearly all the time (exactly 1 with every value in [0, 1], or 100 with every value
 * in [0, 100]) is a success or availability measure (`up`, a ready flag, a success percentage under any name), whose
 * fall is an errors symptom. Decided once, from the first `points` points; it never overrides a known meaning and
 * reads nothing else into data (a series pinned at 0 could be an error ratio or an idle gauge: left unknown).
 */
export class StatsMeaning {
  private n = 0;
  private at1 = 0;
  private at100 = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  constructor(private readonly points: number) {}

  /** undefined while still learning; null once decided that the data says nothing; the meaning otherwise. */
  observe(v: number): Meaning | null | undefined {
    this.n++;
    if (v === 1) this.at1++;
    if (v === 100) this.at100++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.n < this.points) return undefined;
    if (this.min < 0) return null;
    const pinned = (this.max <= 1 && this.at1 >= CEILING_SHARE * this.n) || (this.max <= 100 && this.at100 >= CEILING_SHARE * this.n);
    return pinned ? { kind: 'errors', direction: 'down', source: 'stats' } : null;
  }
}
