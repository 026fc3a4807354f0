import { StableIdMemo } from '../core/hash.js';
import type { LogLevel, LogRecord } from '../schemas/events.js';
import type { BundleTemplate } from '../schemas/incident.js';
import type { Signal } from '../schemas/signal.js';
import type { LogsConfig } from './config.js';
import { levelRank, logHint } from './hints.js';
import { TemplateMiner } from './templates/index.js';
import { LruMap, fmt, makeSignal } from './util.js';

const TEMPLATE_TEXT_MAX = 500;
const WARN = levelRank('warn');
const ERROR = levelRank('error');

interface TemplateInfo {
  id: string;
  template: string;
  /** Highest level seen with this template. */
  level: LogLevel;
  count: number;
  firstSeen: number;
  /** Current rate bucket index and its count. */
  bucket: number;
  bucketCount: number;
  /** EWMA of closed buckets' counts; undefined until the first bucket closes. */
  ewma: number | undefined;
  burstSignalled: boolean;
  /** First seen after the service's warm-up and still within its recurrence window (or signalled). */
  novel: boolean;
  newSignalled: boolean;
  /** Other services knew this text long before: routine vocabulary. */
  routine: boolean;
  /** Buckets in a row with at least `absentMinRate` lines (a regular pattern), and whether its stop was signalled. */
  regular: number;
  absentSignalled: boolean;
  /** First seen during the service's warm-up at error level or above: not learned as normal (a fault may be under way at start-up). */
  warmupSuspect: boolean;
  /** When the template last started signalling (a bucket start), and its count before that bucket: before/during. */
  splitTs: number | undefined;
  splitCount: number;
}

/** A template that signals again this long after its split starts a new before/during split (a new fault). */
const SPLIT_RESET_MS = 60 * 60_000;

interface ServiceLogs {
  readonly miner: TemplateMiner;
  readonly firstTs: number;
  logs: number;
  readonly templates: LruMap<string, TemplateInfo>;
  /** Last rate bucket in which the service's templates were checked for absence (once per bucket). */
  absenceBucket: number;
}

export interface LogStats {
  logs: number;
  services: number;
  servicesEvicted: number;
  templatesEvicted: number;
  newDuringWarmup: number;
}

/**
 * Per-service log templating. Emits `template_new` for a warn/error/fatal template first seen after the service's
 * warm-up once it recurred (`newMinCount` within `newWindowMs`; weaker if other services have long known the text), and `template_burst` when a warn/error/fatal template's per-bucket count is far above its EWMA baseline.
 * The evidence ref of both is the template id, which is service-scoped (`tpl_...` of service and miner id).
 */
export class LogPerception {
  private readonly services: LruMap<string, ServiceLogs>;
  /** Template text id (the miner's, service-independent) -> where and when it was first seen. */
  private readonly global: LruMap<string, { service: string; ts: number }>;
  private newDuringWarmup = 0;
  private logs = 0;
  private templatesEvicted = 0;
  /** Service-scoped template ids: one sha1 per (service, template), not one per line. */
  private readonly ids = new StableIdMemo('tpl');

  /**
   * @param namedDependency finds the dependency of a service that a template's text names ("connection refused to
   *   orders-db:5432"); template signals then carry it as `peer`: the log is the caller's view of a failing callee.
   */
  constructor(
    private readonly cfg: LogsConfig,
    private readonly namedDependency?: (service: string, text: string) => string | undefined,
  ) {
    this.services = new LruMap(cfg.maxServices, (_k, v) => {
      this.templatesEvicted += v.templates.evictions;
    });
    this.global = new LruMap(cfg.maxGlobalTemplates);
  }

  observe(log: LogRecord): Signal[] {
    this.logs++;
    let svc = this.services.get(log.service);
    if (!svc) {
      svc = {
        miner: new TemplateMiner(this.cfg.miner),
        firstTs: log.ts,
        logs: 0,
        templates: new LruMap(this.cfg.maxTemplatesPerService),
        absenceBucket: Math.floor(log.ts / this.cfg.burstBucketMs),
      };
      this.services.set(log.service, svc);
    }
    const warm = svc.logs >= this.cfg.warmupLogs && log.ts - svc.firstTs >= this.cfg.warmupMs;
    svc.logs++;
    const m = svc.miner.add(log.message);
    const id = this.ids.id(log.service, m.id);
    const text = m.template.length > TEMPLATE_TEXT_MAX ? `${m.template.slice(0, TEMPLATE_TEXT_MAX - 3)}...` : m.template;
    const bucket = Math.floor(log.ts / this.cfg.burstBucketMs);

    let info = svc.templates.get(id);
    let isNew = m.isNew && info === undefined;
    if (m.previousId !== undefined) {
      // The miner generalised a known template (possibly into one it already had): carry its history over.
      const prevId = this.ids.id(log.service, m.previousId);
      const prev = prevId === id ? undefined : svc.templates.peek(prevId);
      if (prev) {
        svc.templates.delete(prevId);
        if (info) {
          info.count += prev.count;
          if (prev.firstSeen < info.firstSeen) info.firstSeen = prev.firstSeen;
          if (levelRank(prev.level) > levelRank(info.level)) info.level = prev.level;
        } else {
          info = { ...prev, id, template: text };
          svc.templates.set(id, info);
        }
        isNew = false;
      }
    }
    const seenElsewhere = this.global.get(m.id);
    if (!seenElsewhere) this.global.set(m.id, { service: log.service, ts: log.ts });
    if (!info) {
      const routine = seenElsewhere !== undefined && seenElsewhere.service !== log.service && seenElsewhere.ts <= log.ts - this.cfg.globalKnownMs;
      // Error and fatal lines of the warm-up stay suspects: learning them as vocabulary would hide a fault that was
      // already under way when nightshift started. Warn and below are learned (start-up chatter).
      const warmupSuspect = isNew && !warm && levelRank(log.level) >= ERROR;
      info = {
        id,
        template: text,
        level: log.level,
        count: 0,
        firstSeen: log.ts,
        bucket,
        bucketCount: 0,
        ewma: undefined,
        burstSignalled: false,
        novel: isNew && (warm || warmupSuspect),
        newSignalled: false,
        routine,
        warmupSuspect,
        regular: 0,
        absentSignalled: false,
        splitTs: undefined,
        splitCount: 0,
      };
      svc.templates.set(id, info);
      if (isNew && !warm && levelRank(log.level) >= WARN) this.newDuringWarmup++;
    }
    info.template = text;
    info.count++;
    if (levelRank(log.level) > levelRank(info.level)) info.level = log.level;
    this.roll(info, bucket);
    info.bucketCount++;

    const out: Signal[] = [];
    // Once per bucket per service (the service is alive: it logs), regular templates that went silent.
    if (bucket > svc.absenceBucket) {
      this.absences(svc, log.service, bucket, out);
      svc.absenceBucket = bucket;
    }
    const rank = levelRank(log.level);
    if (info.novel && !info.newSignalled) {
      if (log.ts - info.firstSeen > this.cfg.newWindowMs) info.novel = false;
      else if (info.count >= this.cfg.newMinCount && levelRank(info.level) >= WARN) {
        info.newSignalled = true;
        this.split(info, bucket, info.count - info.bucketCount);
        const lv = info.level;
        const lvScore = lv === 'fatal' ? this.cfg.newScoreFatal : lv === 'error' ? this.cfg.newScoreError : this.cfg.newScoreWarn;
        const base = info.warmupSuspect ? lvScore * this.cfg.warmupSuspectFactor : lvScore;
        out.push(
          makeSignal({
            type: 'template_new',
            ts: log.ts,
            service: log.service,
            score: info.routine ? base * this.cfg.globalKnownFactor : base,
            hint: logHint(lv, text),
            summary: `${info.warmupSuspect ? 'error template seen since start-up' : 'new'} ${lv} log template in ${log.service} (${info.count} since ${new Date(info.firstSeen).toISOString()}): ${text}`,
            ref: id,
            ...this.peerOf(log.service, log.message),
          }),
        );
      }
    }
    if (warm && rank >= WARN && !info.burstSignalled) {
      const base = info.ewma ?? 0;
      const threshold = Math.max(this.cfg.burstMinCount, this.cfg.burstFactor * (base + 1));
      if (info.bucketCount >= threshold) {
        info.burstSignalled = true;
        this.split(info, bucket, info.count - info.bucketCount);
        const excess = info.bucketCount / threshold;
        const weight = rank >= levelRank('error') ? 1 : this.cfg.burstWarnWeight;
        out.push(
          makeSignal({
            type: 'template_burst',
            ts: log.ts,
            service: log.service,
            score: weight * Math.min(1, 0.5 + 0.25 * Math.log2(excess)),
            hint: logHint(info.level, text),
            summary: `${log.level} log template burst in ${log.service}: ${info.bucketCount}/bucket vs baseline ${fmt(base)}: ${text}`,
            ref: id,
            ...this.peerOf(log.service, log.message),
          }),
        );
      }
    }
    return out;
  }

  /** The dependency the raw line names (the template has masked `orders-db:5432` to a placeholder). */
  private peerOf(service: string, text: string): { peer?: string } {
    const peer = this.cfg.peerFromText ? this.namedDependency?.(service, text) : undefined;
    return peer !== undefined && peer !== service ? { peer } : {};
  }

  /**
   * A template that was regular (at least `absentMinRate` lines in each of `absentMinBuckets` buckets in a row) and
   * has logged nothing for `absentBuckets` buckets while its service keeps logging: a line that stopped (a job that
   * stopped running, a dependency no longer called). A `template_burst` signal (a rate anomaly of the template) with
   * hint `unknown`: it says where, not what, and weighs as weak evidence.
   */
  private absences(svc: ServiceLogs, service: string, bucket: number, out: Signal[]): void {
    if (this.cfg.absentBuckets <= 0) return;
    for (const info of svc.templates.values()) {
      if (info.absentSignalled || info.regular < this.cfg.absentMinBuckets) continue;
      // Complete buckets since the template's last line (the current bucket is not over yet).
      const silent = bucket - info.bucket - 1;
      if (silent < this.cfg.absentBuckets) continue;
      info.absentSignalled = true;
      this.split(info, info.bucket + 1, info.count);
      out.push(
        makeSignal({
          type: 'template_burst',
          ts: (info.bucket + 1) * this.cfg.burstBucketMs,
          service,
          score: this.cfg.absentScore,
          hint: 'unknown',
          summary: `log template stopped in ${service}: about ${fmt(info.ewma ?? 0)} lines per bucket before, none for ${silent} buckets: ${info.template}`,
          ref: info.id,
        }),
      );
    }
  }

  /** Marks where the template's lines split into before and during its signal (kept for a later signal of one fault). */
  private split(info: TemplateInfo, bucket: number, countBefore: number): void {
    const ts = bucket * this.cfg.burstBucketMs;
    if (info.splitTs !== undefined && ts - info.splitTs <= SPLIT_RESET_MS) return;
    info.splitTs = ts;
    info.splitCount = countBefore;
  }

  /** Lines of a template before it first signalled (at `since`, a bucket start) and since. */
  templateDetail(service: string, id: string): { before: number; during: number; since: number } | undefined {
    const info = this.services.peek(service)?.templates.peek(id);
    if (!info || info.splitTs === undefined) return undefined;
    const before = Math.min(info.splitCount, info.count);
    return { before, during: info.count - before, since: info.splitTs };
  }

  /** Closes the template's rate bucket(s) up to `bucket`; late logs (older bucket) count in the current one. */
  private roll(info: TemplateInfo, bucket: number): void {
    if (bucket <= info.bucket) return;
    // Regularity: consecutive buckets with enough lines (a gap resets it, and a new line re-arms the stop signal).
    info.regular = info.bucketCount >= this.cfg.absentMinRate ? info.regular + 1 : 0;
    if (bucket - info.bucket > 1) info.regular = 0;
    info.absentSignalled = false;
    const a = this.cfg.burstAlpha;
    info.ewma = info.ewma === undefined ? info.bucketCount : info.ewma * (1 - a) + a * info.bucketCount;
    const gap = bucket - info.bucket - 1;
    if (gap > 0) info.ewma *= Math.pow(1 - a, Math.min(gap, 10_000));
    info.bucket = bucket;
    info.bucketCount = 0;
    info.burstSignalled = false;
  }

  /** Bundle view of a template by its (service-scoped) id. */
  template(service: string, id: string): BundleTemplate | undefined {
    const info = this.services.peek(service)?.templates.peek(id);
    if (!info) return undefined;
    return { id: info.id, service, template: info.template, level: info.level, count: info.count, first_seen: info.firstSeen };
  }

  stats(): LogStats {
    let evicted = this.templatesEvicted;
    for (const s of this.services.values()) evicted += s.templates.evictions;
    return {
      logs: this.logs,
      services: this.services.size,
      servicesEvicted: this.services.evictions,
      templatesEvicted: evicted,
      newDuringWarmup: this.newDuringWarmup,
    };
  }
}
