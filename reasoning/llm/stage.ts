import type { Logger } from 'pino';
import { Counters } from '../../core/counters.js';
import { isThenable, type Emitter, type Stage } from '../../core/stage.js';
import type { EvidenceItem, IncidentBundle, IncidentOutput, RootCause } from '../../schemas/index.js';
import { cited, evidenceIndex, incidentTitle } from '../evidence.js';
import { incidentSeverity, severityFacts, type SeverityFacts } from '../severity.js';
import type { ActiveLlmConfig } from './config.js';
import type { LlmReasoner, ReasonResult } from './reasoner.js';
import { skippedRun, type ReasoningRun, type RunObserver, type RunTrigger, type SkipReason } from './run.js';

/** A bundle with the ranker's output for it: what the LLM path works from. */
export interface RankedBundle {
  readonly bundle: IncidentBundle;
  readonly output: IncidentOutput;
}

export interface LlmStageOptions {
  readonly cfg: ActiveLlmConfig;
  /** The deterministic ranker stage; its output is published first, always. */
  readonly ranker: Stage<IncidentBundle, IncidentOutput>;
  readonly reasoner: LlmReasoner;
  /** Every run, including skips and fallbacks. */
  readonly onRun?: RunObserver;
  /** Every ranker output, before any LLM substitution: evals score "without the LLM" from these. */
  readonly onRanked?: (o: IncidentOutput) => void;
  readonly log?: Logger;
  /** Wall clock (ms) for the circuit breaker only. */
  readonly now?: () => number;
}

interface IncState {
  header: Omit<IncidentOutput, 'root_causes' | 'reasoner'>;
  rankerCauses: RootCause[];
  /** Trigger key of the latest ranker output. */
  key: string;
  /** Trigger key the latest run decision was made for (run, queued or skipped). */
  decidedKey: string | null;
  runs: number;
  tokens: number;
  /** Sequence number of the latest run started or queued for this incident. */
  seq: number;
  llm: { key: string; causes: RootCause[] } | null;
  /** The latest bundle's evidence resolved to text, so the LLM's causes get their own cited evidence. */
  index: ReadonlyMap<string, EvidenceItem>;
  /** What the severity rule reads of the latest bundle, to rate the LLM's causes. */
  facts: SeverityFacts;
  lastEmitted: string | null;
}

interface Job {
  readonly incidentId: string;
  readonly seq: number;
  readonly key: string;
  readonly trigger: RunTrigger;
  readonly ranked: RankedBundle;
}

interface Done {
  readonly job: Job;
  readonly res: ReasonResult;
}

/** The LLM runs again for an incident only when the ranker's candidates or the incident's changes change. */
/** An output with these causes, its title and cited evidence their own (not the ranker's). */
function withCauses(s: IncState, causes: RootCause[], reasoner: string): IncidentOutput {
  return {
    ...s.header,
    root_causes: causes,
    reasoner,
    title: incidentTitle(causes, s.header.services),
    severity: incidentSeverity(s.facts, causes),
    evidence: cited(s.index, causes),
  };
}

function triggerKey(r: RankedBundle): string {
  return JSON.stringify([r.output.root_causes.map((c) => [c.service, c.kind]), r.bundle.changes.map((c) => c.id)]);
}

function triggerOf(prev: string | null, next: string): RunTrigger {
  if (prev === null) return 'first';
  const [pc] = JSON.parse(prev) as [unknown, unknown];
  const [nc] = JSON.parse(next) as [unknown, unknown];
  return JSON.stringify(pc) === JSON.stringify(nc) ? 'changes_changed' : 'candidates_changed';
}

function emitKey(o: IncidentOutput): string {
  return JSON.stringify([o.status, o.services, o.counts, o.root_causes, o.reasoner]);
}

/**
 * Bundle in, incident output out, with the LLM behind the ranker:
 * - the ranker's output for a bundle is emitted at once, every time (the LLM never delays a first output);
 * - when the ranker's candidates (or the incident's changes) differ from those of the last run, an LLM run starts:
 *   bounded by `concurrency` runs in flight, `queueSize` waiting (one per incident: a newer update replaces the
 *   waiting one), `maxRunsPerIncident`, the incident's `tokenBudget`, and a circuit breaker; a run that cannot
 *   start is recorded as skipped and the ranker's result stands;
 * - an accepted answer is emitted as an update (reasoner `llm:<model>`) if the candidates it answered for are still
 *   current, and later outputs of the incident keep it while they stay current.
 * Mode `async` emits answers at the next input or at flush (the stage contract has no push). Mode `inline` waits for
 * each answer before the next input (still after the ranker's output), one run at a time, so a replay's output is
 * reproducible; `concurrency` and `queueSize` apply to async mode only.
 */
export class LlmReasoningStage implements Stage<IncidentBundle, IncidentOutput> {
  readonly name = 'reasoning-llm';
  readonly counters = new Counters();
  private readonly states = new Map<string, IncState>();
  private readonly queue = new Map<string, Job>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly ready: Done[] = [];
  private readonly pendingInline: Promise<Done>[] = [];
  private readonly controllers = new Set<AbortController>();
  private running = 0;
  private nextSeq = 1;
  private failures = 0;
  private openUntil = -Infinity;
  private closed = false;
  private readonly now: () => number;
  private readonly runStats = new Map<string, number>();

  constructor(private readonly o: LlmStageOptions) {
    this.now = o.now ?? (() => performance.now());
  }

  get model(): string {
    return this.o.reasoner.model;
  }

  /** Answers received and not yet published (async mode: they go out with the next input or at flush). */
  get readyAnswers(): number {
    return this.ready.length;
  }

  /** Runs in flight or waiting (async mode). */
  get activeRuns(): number {
    return this.inflight.size + this.queue.size;
  }

  /** Runs by outcome and reason (`llm`, `fallback:error:TIMEOUT`, `skipped:queue_full`, ...). */
  runCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.runStats.keys()].sort()) out[k] = this.runStats.get(k) ?? 0;
    return out;
  }

  async process(b: IncidentBundle, out: Emitter<IncidentOutput>): Promise<void> {
    this.drain(out);
    const captured: IncidentOutput[] = [];
    const r = this.o.ranker.process(b, { emit: (x) => captured.push(x) });
    if (isThenable(r)) await r;
    for (const o of captured) this.onRanked({ bundle: b, output: o }, out);
    await this.waitInline(out, 1);
  }

  async flush(out: Emitter<IncidentOutput>): Promise<void> {
    if (this.o.ranker.flush) {
      const captured: IncidentOutput[] = [];
      const r = this.o.ranker.flush({ emit: (x) => captured.push(x) });
      if (isThenable(r)) await r;
      // A flushed output has no new bundle: it is published as is, without a new LLM run.
      for (const o of captured) this.emit(out, o);
    }
    await this.waitInline(out, 1);
    // Async: every queued and running run finishes (each bounded by runTimeoutMs), then the answers go out.
    while (this.inflight.size > 0 || this.queue.size > 0) {
      this.startQueued();
      if (this.inflight.size > 0) await Promise.race(this.inflight);
    }
    this.drain(out);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.controllers) c.abort(new Error('stage closed'));
    this.queue.clear();
    await Promise.allSettled([...this.inflight, ...this.pendingInline]);
    await this.o.ranker.close?.();
  }

  private state(id: string): IncState | undefined {
    const s = this.states.get(id);
    if (s) {
      // Most recently used last, so that eviction takes the incident untouched the longest.
      this.states.delete(id);
      this.states.set(id, s);
    }
    return s;
  }

  private onRanked(rb: RankedBundle, out: Emitter<IncidentOutput>): void {
    this.o.onRanked?.(rb.output);
    const { root_causes: rankerCauses, reasoner: _r, ...header } = rb.output;
    const key = triggerKey(rb);
    let s = this.state(rb.bundle.incident_id);
    if (!s) {
      s = { header, rankerCauses, key, decidedKey: null, runs: 0, tokens: 0, seq: 0, llm: null, lastEmitted: null, index: new Map(), facts: severityFacts(rb.bundle) };
      this.states.set(rb.bundle.incident_id, s);
      if (this.states.size > this.o.cfg.maxTracked) {
        const oldest = this.states.keys().next().value;
        if (oldest !== undefined) this.states.delete(oldest);
      }
    }
    s.header = header;
    s.rankerCauses = rankerCauses;
    s.key = key;
    s.index = evidenceIndex(rb.bundle);
    s.facts = severityFacts(rb.bundle);
    const current = s.llm !== null && s.llm.key === key;
    this.emit(out, current ? withCauses(s, s.llm!.causes, `llm:${this.model}`) : { ...header, root_causes: rankerCauses, reasoner: 'ranker' });
    if (rankerCauses.length > 0 && key !== s.decidedKey) this.decide(rb, s);
  }

  private decide(rb: RankedBundle, s: IncState): void {
    const trigger = triggerOf(s.decidedKey, s.key);
    s.decidedKey = s.key;
    const cfg = this.o.cfg;
    const skip = (reason: SkipReason): void =>
      this.record(skippedRun(rb.bundle.incident_id, rb.bundle.updated_at, trigger, this.model, reason, rb.output.root_causes.map((c) => c.service)));
    if (this.closed) return skip('closed');
    if (s.runs >= cfg.maxRunsPerIncident) return skip('max_runs');
    if (s.tokens >= cfg.tokenBudget) return skip('token_budget');
    if (this.now() < this.openUntil) return skip('circuit_open');
    const job: Job = { incidentId: rb.bundle.incident_id, seq: this.nextSeq++, key: s.key, trigger, ranked: rb };
    if (cfg.mode === 'inline') {
      s.runs++;
      s.seq = job.seq;
      this.pendingInline.push(this.execute(job));
      return;
    }
    const replacing = this.queue.has(job.incidentId);
    if (!replacing && this.running >= cfg.concurrency && this.queue.size >= cfg.queueSize) return skip('queue_full');
    s.seq = job.seq;
    // A waiting run of the same incident is replaced in place: its bundle is older, and it has not cost anything.
    this.queue.set(job.incidentId, job);
    this.startQueued();
  }

  private startQueued(): void {
    while (this.running < this.o.cfg.concurrency && this.queue.size > 0) {
      const [id, job] = this.queue.entries().next().value as [string, Job];
      this.queue.delete(id);
      const s = this.states.get(id);
      if (s) s.runs++;
      this.running++;
      const p: Promise<void> = this.execute(job).then((d) => {
        this.ready.push(d);
        this.running--;
        this.inflight.delete(p);
        this.startQueued();
      });
      this.inflight.add(p);
    }
  }

  private async execute(job: Job): Promise<Done> {
    const ctl = new AbortController();
    this.controllers.add(ctl);
    const timer = setTimeout(() => ctl.abort(new Error('run deadline')), this.o.cfg.runTimeoutMs);
    try {
      const res = await this.o.reasoner.reason(job.ranked.bundle, job.ranked.output.root_causes, job.trigger, ctl.signal);
      return { job, res };
    } catch (e) {
      // The reasoner records its own failures; this is a bug path, kept from stalling the stage.
      this.o.log?.error({ err: e }, 'LLM reasoner failed');
      const b = job.ranked.bundle;
      const base = skippedRun(b.incident_id, b.updated_at, job.trigger, this.model, 'closed', job.ranked.output.root_causes.map((c) => c.service));
      return { job, res: { causes: null, run: { ...base, outcome: 'fallback', reason: 'error:INTERNAL' } } };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(ctl);
    }
  }

  private async waitInline(out: Emitter<IncidentOutput>, room: number): Promise<void> {
    // Inline: answers are applied in start order, before the next input, so their place in the output is fixed.
    while (this.pendingInline.length >= room && this.pendingInline.length > 0) {
      const d = await this.pendingInline.shift()!;
      this.apply(d, out);
    }
  }

  private drain(out: Emitter<IncidentOutput>): void {
    for (const d of this.ready.splice(0)) this.apply(d, out);
  }

  private apply(d: Done, out: Emitter<IncidentOutput>): void {
    const { job, res } = d;
    let run = res.run;
    if (run.reason?.startsWith('error:')) {
      if (++this.failures >= this.o.cfg.breakerFailures) {
        this.openUntil = this.now() + this.o.cfg.breakerCooldownMs;
        this.o.log?.warn({ failures: this.failures, cooldown_ms: this.o.cfg.breakerCooldownMs }, 'LLM failing, pausing it');
        this.failures = 0;
      }
    } else if (run.attempts > 0) this.failures = 0;
    const s = this.states.get(job.incidentId);
    if (s) s.tokens += run.tokens_in + run.tokens_out;
    if (res.causes) {
      if (s && s.seq === job.seq && s.key === job.key) {
        s.llm = { key: job.key, causes: res.causes };
        this.emit(out, withCauses(s, res.causes, `llm:${this.model}`));
      } else {
        // The candidates moved on (or the incident was forgotten) while the model thought: its answer is stale.
        run = { ...run, outcome: 'fallback', reason: 'superseded' };
      }
    }
    this.record(run);
  }

  private record(run: ReasoningRun): void {
    const k = run.reason ? `${run.outcome}:${run.reason}` : run.outcome;
    this.runStats.set(k, (this.runStats.get(k) ?? 0) + 1);
    this.o.onRun?.(run);
  }

  private emit(out: Emitter<IncidentOutput>, o: IncidentOutput): void {
    const s = this.states.get(o.incident_id);
    const k = emitKey(o);
    if (s && s.lastEmitted === k) {
      this.counters.drop('unchanged');
      return;
    }
    if (s) s.lastEmitted = k;
    out.emit(o);
  }
}
