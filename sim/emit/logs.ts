import type { NoisePlan, Window } from '../noise.js';
import type { Rng } from '../rng.js';
import type { DepIssue, SvcState } from '../state.js';
import type { SimService, World } from '../world.js';
import { issueLine, oomLines, outageLines, ownLine, shutdownLine, startupLine } from './faultlines.js';
import { SCOPE, SEVERITY_NUMBER, resource, str } from './otlp.js';
import type { RecordBuffer } from './sink.js';
import { baselineLine, native, type LineCtx } from './templates.js';
import { iso, nanos } from './time.js';
import type { Line } from './vars.js';

/**
 * Log volume per service per 5 s step: a Poisson baseline following load, plus error lines in proportion to the
 * failing requests (apps log a sample of failures; capped so a storm stays bounded), slow-call warnings, and
 * one-off lines for OOM kills, restarts, outages and backups.
 */
const STEP = 5000;
const ERROR_LOG_SAMPLE = 0.02;
const MAX_ERROR_LINES = 30;
const MAX_WARN_LINES = 10;

interface Stamped extends Line {
  readonly ts: number;
}

export interface LogOptions {
  readonly volume: number;
  readonly delay: (maxMs: number) => number;
}

export class LogEmitter {
  private readonly wasUp: boolean[];
  private readonly backups: readonly Window[];

  constructor(
    private readonly world: World,
    noise: NoisePlan,
    private readonly rng: Rng,
    private readonly opts: LogOptions,
  ) {
    this.wasUp = world.services.map(() => true);
    this.backups = noise.maintenance;
  }

  /** Emits every log record of the step starting at t; returns the number of records pushed. */
  emit(t: number, states: readonly SvcState[], buf: RecordBuffer): number {
    let n = 0;
    for (const s of states) n += this.emitService(t, s, buf);
    return n;
  }

  private emitService(t: number, s: SvcState, buf: RecordBuffer): number {
    const { svc } = s;
    const rng = this.rng;
    const lines: Stamped[] = [];
    const at = (ts: number): LineCtx => ({ svc, world: this.world, rng, t: ts, s });
    const add = (ts: number, make: (c: LineCtx) => Line | Line[]): void => {
      const made = make(at(ts));
      for (const l of Array.isArray(made) ? made : [made]) lines.push({ ...l, ts });
    };
    const when = (): number => t + rng.int(0, STEP - 1);
    const i = svc.index;
    if (!s.up) {
      if (this.wasUp[i]) add(t, (c) => outageLines(c, 'start'));
      this.wasUp[i] = false;
      return this.flush(svc, lines, buf);
    }
    if (!this.wasUp[i]) add(t + rng.int(0, 2000), (c) => outageLines(c, 'end'));
    this.wasUp[i] = true;

    const base = rng.poisson(svc.logRate * s.load * (STEP / 1000) * this.opts.volume * (svc.logFormat === 'text' && svc.tier === 'edge' ? 2 : 1));
    for (let k = 0; k < base; k++) add(when(), baselineLine);

    if (s.excessErr > 0.003) {
      const lambda = Math.min(MAX_ERROR_LINES, s.rps * s.excessErr * (STEP / 1000) * ERROR_LOG_SAMPLE + (s.excessErr > 0.01 ? 0.6 : 0.1));
      const sources: [DepIssue | 'own', number][] = s.issues.filter((x) => x.cause !== 'slow' && x.cause !== 'fallback').map((x) => [x, x.ratio]);
      // A pod being OOM-killed logs nothing itself; its callers see the failures.
      if (s.own.cause && s.own.err > 0 && !s.own.restarting) sources.push(['own', s.own.err]);
      const count = Math.min(MAX_ERROR_LINES, rng.poisson(lambda));
      for (let k = 0; k < count && sources.length > 0; k++) {
        const src = rng.weighted(sources);
        const cause = s.own.cause;
        if (src === 'own' && cause) add(when(), (c) => ownLine(c, cause));
        else if (src !== 'own') add(when(), (c) => issueLine(c, src));
      }
    }
    if (s.latAdd > 150) {
      const lambda = Math.min(MAX_WARN_LINES, s.rps * (STEP / 1000) * 0.004 * Math.min(1, s.latAdd / 1000) + 0.3);
      const slow = s.issues.filter((x) => x.cause === 'slow');
      const ownSlow = s.own.latAddMs > 50 && (s.own.cause === 'slow' || s.own.cause === 'external' || s.own.cause === 'saturated');
      const count = Math.min(MAX_WARN_LINES, rng.poisson(lambda));
      for (let k = 0; k < count; k++) {
        if (ownSlow && (slow.length === 0 || rng.chance(0.6))) add(when(), (c) => ownLine(c, 'slow'));
        else if (slow.length > 0) {
          const issue = rng.pick(slow);
          add(when(), (c) => issueLine(c, issue));
        }
      }
    }
    for (const f of s.issues) {
      if (f.cause !== 'fallback') continue;
      const count = Math.min(MAX_WARN_LINES, rng.poisson(s.rps * f.ratio * (STEP / 1000) * 0.01 + 0.2));
      for (let k = 0; k < count; k++) add(when(), (c) => issueLine(c, f));
    }
    if (s.own.cause === 'oom' && !s.own.restarting && rng.chance(0.5)) add(when(), (c) => ownLine(c, 'oom'));
    if (s.oomEvent) add(t, oomLines);
    this.lifecycle(t, s, add);
    return this.flush(svc, lines, buf);
  }

  /** Rolling restarts (one pod at a time) and backup start/end lines. */
  private lifecycle(t: number, s: SvcState, add: (ts: number, make: (c: LineCtx) => Line | Line[]) => void): void {
    const { svc } = s;
    const r = s.rollout;
    if (r) {
      const n = svc.instances.length;
      for (let k = 0; k < n; k++) {
        const at = Math.round(r.start + ((k + 0.5) * (r.end - r.start)) / n);
        if (at >= t && at < t + STEP) {
          add(at, shutdownLine);
          add(at + 3000 < t + STEP ? at + 3000 : at, (c) => startupLine(c, r.version, c.rng));
        }
      }
    }
    for (const b of this.backups) {
      if (b.service !== svc.name) continue;
      if (b.start >= t && b.start < t + STEP) add(b.start, (c) => native(c, 'info', `starting nightly backup: pg_basebackup -D /backup/${svc.name} -Ft -z -X stream`));
      if (b.end >= t && b.end < t + STEP) add(b.end, (c) => native(c, 'info', `nightly backup completed in ${Math.round((b.end - b.start) / 60_000)}m, ${c.rng.int(20, 200)} GB written`));
    }
  }

  private flush(svc: SimService, lines: Stamped[], buf: RecordBuffer): number {
    if (lines.length === 0) return 0;
    lines.sort((a, b) => a.ts - b.ts);
    const rng = this.rng;
    if (svc.logFormat === 'text') {
      for (const l of lines) buf.push('logs', svc.name, l.message, l.ts);
      return lines.length;
    }
    const pod = rng.pick(svc.instances).pod;
    if (svc.logFormat === 'json') {
      for (const l of lines) {
        const rec: Record<string, string | number> = {
          ts: svc.jsonTs === 'ms' ? l.ts : iso(l.ts),
          service: svc.name,
          level: svc.lang === 'java' ? l.level.toUpperCase() : l.level,
          message: l.message,
          host: pod,
        };
        if (rng.chance(0.3)) rec.trace_id = rng.hex(32);
        buf.push('logs', svc.name, JSON.stringify(rec), l.ts + this.opts.delay(1500));
      }
      return lines.length;
    }
    const logRecords = lines.map((l) => ({
      timeUnixNano: nanos(l.ts),
      observedTimeUnixNano: nanos(l.ts + rng.int(1, 40)),
      severityNumber: SEVERITY_NUMBER[l.level],
      severityText: l.level === 'warn' ? 'WARN' : l.level.toUpperCase(),
      body: { stringValue: l.message },
      attributes: [str('log.logger', `${svc.domain}.${l.level === 'info' ? 'http' : 'app'}`)],
      ...(rng.chance(0.3) ? { traceId: rng.hex(32), spanId: rng.hex(16) } : {}),
    }));
    const req = { resourceLogs: [{ resource: resource(svc.name, [str('host.name', pod)]), scopeLogs: [{ scope: SCOPE, logRecords }] }] };
    // The batch leaves when its exporter flushes: no line is more than maxDelayMs older than its record.
    const first = (lines[0] as Stamped).ts;
    const last = (lines[lines.length - 1] as Stamped).ts;
    buf.push('logs', svc.name, JSON.stringify(req), first + Math.max(last - first, this.opts.delay(5000)));
    return 1;
  }
}
