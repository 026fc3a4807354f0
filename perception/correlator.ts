import { stableId } from '../core/hash.js';
import type { ChangeEvent, Event } from '../schemas/events.js';
import type { Signal } from '../schemas/signal.js';
import { ChangeBuffer } from './changes.js';
import type { CorrelatorConfig } from './config.js';
import { better, changeSignalOf, familyOf, isStrong, isWeak, signalServices, symptomService, type Incident } from './incident.js';
import type { Topology } from './topology.js';

export type IncidentTransition = 'opened' | 'updated' | 'resolved' | 'final';

export interface CorrelatorStats {
  symptoms: number;
  /** Symptoms taken by an already open incident. */
  absorbed: number;
  /** Symptoms that waited and expired without opening anything: the noise perception filtered. */
  expired: number;
  pendingEvicted: number;
  pending: number;
  opened: number;
  resolved: number;
  /** Incidents resolved early because `maxOpen` was reached. */
  forcedResolved: number;
  open: number;
  changes: number;
  changesAttached: number;
  changesDropped: number;
}

/**
 * Folds signals into incidents by event time, topology and change windows.
 *
 * - An incident's core is the services of the symptoms that opened it. A symptom joins the earliest-opened open
 *   incident whose core is within `maxHops` of one of the symptom's services and whose last strong symptom near its
 *   core (within `coreHops`) is at most `joinWindowMs` before it. Only strong symptoms near the core, and persistence
 *   of the core's own anomalies, keep an incident alive: weak or peripheral symptoms join it but do not stretch it,
 *   so steady background anomalies cannot grow one incident into the next fault. New evidence it does not explain
 *   joins only while it grows (a strong symptom added a family within `onsetGapMs`), and it grows only in its first
 *   `growthMs`: a lingering anomaly at the core later cannot hold the door open either. Incidents never merge: an
 *   incident that was published keeps its id and membership.
 * - Otherwise it waits (pending, `openWindowMs`). An incident opens when the pending symptoms within `maxHops` of
 *   the newest one and within `openWindowMs` of it reach `openScore` summed over the max score per distinct ref
 *   with at least `openMinRefs` evidence families (request-rate swings weighted by `openWeakWeight`; quantiles of one
 *   metric and one metric across pods are one family) and one of them is a strong symptom (latency/errors/resource,
 *   score >= `openStrongScore`). Alerts open by corroboration: one with a score >= `openStrongScore` (critical/error),
 *   `alertQuorum` distinct alerts in one neighbourhood, or an alert with a measured latency/errors/resource symptom
 *   scoring at least `corroborateScore`; corroboration stands in for the score sum. A lone flapping alert (one ref) or
 *   a lone blip never does.
 * - Changes are buffered per service; a change of an incident service or of one of their dependencies (directed,
 *   within `maxHops`) made at most `changeLookbackMs` before the first symptom, or while the incident is open,
 *   is attached as a `change` signal. Changes never open incidents.
 * - An incident resolves when the watermark passes its last strong symptom near the core plus `resolveAfterMs`.
 */
export class Correlator {
  private readonly open = new Map<string, Incident>();
  private pending: Signal[] = [];
  private pendingHead = 0;
  private readonly changes: ChangeBuffer;
  private readonly outbox: Array<{ incident: Incident; transition: IncidentTransition }> = [];
  private watermark = 0;
  private seq = 0;
  private lastPrune = -Infinity;
  private readonly st = { symptoms: 0, absorbed: 0, expired: 0, pendingEvicted: 0, opened: 0, resolved: 0, forcedResolved: 0, changes: 0, changesAttached: 0 };

  constructor(
    private readonly cfg: CorrelatorConfig,
    private readonly topology: Topology,
  ) {
    this.changes = new ChangeBuffer(cfg.changeRetentionMs, cfg.maxChangesPerService, cfg.maxChangeServices);
  }

  /** Counts a raw record against the open incidents of its service. */
  observeRaw(ev: Event): void {
    for (const inc of this.open.values()) {
      if (!inc.services.has(ev.service)) continue;
      inc.counts.events++;
      if (ev.kind === 'alert') inc.counts.alerts++;
    }
  }

  /**
   * A symptom persists (rate-limited signal, re-sent alert): its family stays current in the incidents that have it,
   * and open incidents whose core holds the service (or the edge's callee), still within the join window of their
   * last strong symptom, stay open. A weak one (`strong` false: a traffic swing) does nothing. It adds no evidence
   * and opens nothing.
   */
  keepAlive(service: string, ts: number, peer?: string, strong = true, family?: string): void {
    if (!strong) return;
    for (const inc of this.open.values()) {
      if (family !== undefined && inc.familyLast.has(family) && ts > (inc.familyLast.get(family) as number)) inc.familyLast.set(family, ts);
      if (ts <= inc.lastStrong || ts > inc.lastStrong + this.cfg.joinWindowMs) continue;
      // Only the incident's own services: a persistent anomaly elsewhere in its neighbourhood is not this fault.
      if (inc.core.has(service) || (peer !== undefined && inc.core.has(peer))) {
        inc.lastStrong = ts;
        if (ts > inc.lastSymptom) inc.lastSymptom = ts;
      }
    }
  }

  /** A symptom signal (anything but `change`). */
  addSymptom(sig: Signal): void {
    this.st.symptoms++;
    const inc = this.matchOpen(sig);
    if (inc) {
      this.st.absorbed++;
      this.absorb(inc, sig);
      return;
    }
    if (this.pendingSize() >= this.cfg.maxPending) {
      this.pendingHead++;
      this.st.pendingEvicted++;
    }
    this.pending.push(sig);
    this.tryOpen(sig);
  }

  /** A change event and the `change` signal that stands for it. */
  addChange(ev: ChangeEvent, sig: Signal): void {
    this.st.changes++;
    this.changes.add(ev);
    for (const inc of this.open.values()) {
      if (ev.ts >= inc.firstSymptom - this.cfg.changeLookbackMs && this.inChangeScope(inc, ev.service)) this.attach(inc, ev, sig);
    }
  }

  private inChangeScope(inc: Incident, service: string): boolean {
    if (inc.services.has(service)) return true;
    for (const s of inc.services) if (this.topology.dependenciesWithin(s, this.cfg.maxHops).has(service)) return true;
    return false;
  }

  private attach(inc: Incident, ev: ChangeEvent, sig: Signal): void {
    if (inc.changes.has(ev.id)) return;
    if (inc.changes.size >= this.cfg.maxRefsPerIncident) {
      inc.capped++;
      return;
    }
    inc.changes.set(ev.id, ev);
    inc.counts.signals++;
    if (!inc.best.has(sig.ref) && inc.best.size >= this.cfg.maxRefsPerIncident) inc.capped++;
    else inc.best.set(sig.ref, sig);
    inc.dirty = true;
    this.st.changesAttached++;
  }

  /** Attaches buffered changes of `services` (and their dependencies) from the lookback on. */
  private attachBuffered(inc: Incident, services: Iterable<string>): void {
    const since = inc.firstSymptom - this.cfg.changeLookbackMs;
    const scope = new Set<string>();
    for (const s of services) {
      scope.add(s);
      for (const d of this.topology.dependenciesWithin(s, this.cfg.maxHops)) scope.add(d);
    }
    for (const svc of [...scope].sort()) {
      for (const ev of this.changes.recent(svc, since, this.watermark)) this.attach(inc, ev, changeSignalOf(ev, this.cfg.changeScore));
    }
  }

  private near(sig: Signal, services: Iterable<string>): boolean {
    const hoods = signalServices(sig).map((s) => this.topology.within(s, this.cfg.maxHops));
    for (const t of services) for (const h of hoods) if (h.has(t)) return true;
    return false;
  }

  private matchOpen(sig: Signal): Incident | undefined {
    for (const inc of this.open.values()) {
      // Map order is opening order, so the first match is the earliest opened. Joining needs the incident to be
      // still happening (a strong symptom near its core within the join window) and the symptom to be near its
      // core, not near any member: members at the edge would otherwise pull in the whole system.
      if (sig.ts > inc.lastStrong + this.cfg.joinWindowMs || !(this.near(sig, inc.core) || this.upstream(sig, inc))) continue;
      // A new piece of evidence after the incident stopped growing is a new onset (the next fault, minutes later),
      // not more of this one: it waits to open an incident of its own. Continuing anomalies of its families join.
      const seen = inc.familyLast.get(familyOf(sig));
      const continuing = seen !== undefined && sig.ts <= seen + this.cfg.onsetGapMs;
      // New evidence the incident explains joins while it is still happening (a leak that starts to fail its
      // callers' requests); other new evidence only while the incident is still growing.
      if (!continuing && sig.ts > inc.lastGrowth + this.cfg.onsetGapMs && !this.explains(inc, sig)) continue;
      return inc;
    }
    return undefined;
  }

  /**
   * The incident explains a symptom when each service it names is one of the incident's own or calls one of its core
   * services (within `maxHops`): the symptom lies upstream of the fault, where its effects flow. A slow call from a
   * caller to some other service is not explained by a fault in the caller's other dependency.
   */
  private explains(inc: Incident, sig: Signal): boolean {
    for (const s of signalServices(sig)) {
      if (!inc.core.has(s) && !inc.seed.has(s) && !this.callsCore(s, inc, this.cfg.maxHops)) return false;
    }
    // A call edge is explained only when its callee is (on the way to) the core: checkout's slow calls to payment are
    // not explained by a fault in cart, though checkout calls cart too.
    const callee = sig.peer;
    return callee === undefined || callee === sig.service || inc.core.has(callee) || this.callsCore(callee, inc, this.cfg.maxHops);
  }

  /** Every service of the symptom calls a core service, directly or through up to `upstreamHops` hops: where effects flow. */
  private upstream(sig: Signal, inc: Incident): boolean {
    return signalServices(sig).every((s) => inc.core.has(s) || this.callsCore(s, inc, this.cfg.upstreamHops));
  }

  /** `service` calls one of the incident's core services, directly or through up to `hops` hops (directed). */
  private callsCore(service: string, inc: Incident, hops: number): boolean {
    for (const d of this.topology.dependenciesWithin(service, hops)) if (inc.core.has(d)) return true;
    return false;
  }

  /** Within `coreHops` of the incident's core: close enough for a strong symptom to keep it alive. */
  private nearCore(sig: Signal, inc: Incident): boolean {
    for (const s of signalServices(sig)) {
      if (inc.core.has(s)) return true;
      const hood = this.topology.within(s, this.cfg.coreHops);
      for (const c of inc.core) if (hood.has(c)) return true;
    }
    return false;
  }

  private absorb(inc: Incident, sig: Signal): void {
    inc.counts.signals++;
    const prev = inc.best.get(sig.ref);
    if (prev === undefined) {
      if (inc.best.size >= this.cfg.maxRefsPerIncident) inc.capped++;
      else {
        inc.best.set(sig.ref, sig);
        inc.dirty = true;
      }
    } else if (better(sig, prev)) inc.best.set(sig.ref, sig);
    const added: string[] = [];
    for (const s of signalServices(sig)) {
      if (inc.services.has(s)) continue;
      if (inc.services.size >= this.cfg.maxServicesPerIncident) {
        inc.capped++;
        continue;
      }
      inc.services.add(s);
      added.push(s);
    }
    const sym = symptomService(sig);
    const seen = inc.firstSeen.get(sym);
    if (inc.services.has(sym) && (seen === undefined || sig.ts < seen)) inc.firstSeen.set(sym, sig.ts);
    if (sig.ts > inc.lastSymptom) inc.lastSymptom = sig.ts;
    if (sig.ts < inc.firstSymptom) inc.firstSymptom = sig.ts;
    const strong = isStrong(sig, this.cfg.openStrongScore);
    if (sig.ts > inc.lastStrong && strong && this.nearCore(sig, inc)) inc.lastStrong = sig.ts;
    const fam = familyOf(sig);
    const famSeen = inc.familyLast.get(fam);
    if (famSeen === undefined) {
      // A new family: the incident grew (bounded like its refs; past the cap a family is not tracked).
      if (inc.familyLast.size < this.cfg.maxRefsPerIncident) {
        inc.familyLast.set(fam, sig.ts);
        if (strong && sig.ts > inc.lastGrowth && sig.ts <= inc.firstSymptom + this.cfg.growthMs) inc.lastGrowth = sig.ts;
      }
    } else if (sig.ts > famSeen) inc.familyLast.set(fam, sig.ts);
    if (added.length > 0) {
      inc.dirty = true;
      this.attachBuffered(inc, added);
    }
  }

  private pendingSize(): number {
    return this.pending.length - this.pendingHead;
  }

  private tryOpen(sig: Signal): void {
    const cutoff = Math.max(sig.ts, this.watermark) - this.cfg.openWindowMs;
    const near: Signal[] = [];
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      const p = this.pending[i] as Signal;
      if (p.ts < cutoff || Math.abs(p.ts - sig.ts) > this.cfg.openWindowMs) continue;
      if (p !== sig && !this.near(sig, signalServices(p))) continue;
      near.push(p);
    }
    if (!this.cfg.openExplainedOnly) {
      if (this.openingSum(near) !== null) this.openIncident(near);
      return;
    }
    // One fault explains its symptoms: they lie at one root and upstream of it. Two neighbours' unrelated blips
    // (siblings under one caller, each a noisy series of its own) are not one incident, however close in time.
    const deps = new Map<string, Set<string>>();
    const callsRoot = (service: string, root: string): boolean => {
      let d = deps.get(service);
      if (!d) deps.set(service, (d = this.topology.dependenciesWithin(service, this.cfg.upstreamHops)));
      return d.has(root);
    };
    const explainedBy = (root: string, p: Signal): boolean => {
      // A caller starved of CPU or threads makes every call it makes look slow: its client edges are its own.
      if (p.side === 'client' && p.service === root) return true;
      for (const v of signalServices(p)) if (v !== root && !callsRoot(v, root)) return false;
      return true;
    };
    // Candidate roots: every service of the neighbourhood that explains the newest symptom (it triggers the opening).
    const roots = [...new Set(near.flatMap((p) => signalServices(p)))].sort().filter((r) => explainedBy(r, sig));
    let best: { group: Signal[]; sum: number } | undefined;
    for (const root of roots) {
      const group = near.filter((p) => explainedBy(root, p));
      const sum = this.openingSum(group);
      if (sum !== null && (!best || sum > best.sum)) best = { group, sum };
    }
    if (best) this.openIncident(best.group);
  }

  /**
   * Whether these pending symptoms are enough to open an incident (see the class comment): their opening sum (the max
   * score per evidence family, request-rate swings weighted down) when they are, else null.
   */
  private openingSum(group: readonly Signal[]): number | null {
    // One piece of evidence per family: P90/P95/P99 of one latency, or one metric on each pod, count once.
    const maxPerFamily = new Map<string, number>();
    const alertFamilies = new Set<string>();
    let corroborating = false;
    let strong = this.cfg.openStrongScore <= 0;
    for (const p of group) {
      const w = isWeak(p) ? this.cfg.openWeakWeight : 1;
      const fam = familyOf(p);
      maxPerFamily.set(fam, Math.max(maxPerFamily.get(fam) ?? 0, p.score * w));
      if (p.type === 'alert') alertFamilies.add(fam);
      // Corroboration is a measured symptom of a kind that can carry an incident (CPU alone is not: a batch job's
      // CPU plus a CPU-throttling warning is the hourly cron, not a fault).
      else if (!isWeak(p) && isStrong(p, this.cfg.corroborateScore)) corroborating = true;
      // An alert's severity scales its score but does not gate it: a warning alert is strong when corroborated.
      if (p.type !== 'alert' && isStrong(p, this.cfg.openStrongScore)) strong = true;
      if (p.type === 'alert' && p.score >= this.cfg.openStrongScore) strong = true;
    }
    // Alerts by corroboration: several distinct alerts in one neighbourhood, or an alert with another kind of symptom.
    // Corroboration stands in for the score sum: warning alerts score low by design, yet three distinct ones, or one
    // with a measured symptom, are a fault.
    const corroborated = alertFamilies.size >= this.cfg.alertQuorum || (alertFamilies.size > 0 && corroborating);
    if (corroborated) strong = true;
    let sum = 0;
    for (const v of maxPerFamily.values()) sum += v;
    return strong && maxPerFamily.size >= this.cfg.openMinRefs && (sum >= this.cfg.openScore - 1e-9 || corroborated) ? sum : null;
  }

  private openIncident(group: Signal[]): void {
    if (this.open.size >= this.cfg.maxOpen) this.forceResolveOne();
    const taken = new Set(group);
    this.pending = this.pending.slice(this.pendingHead).filter((p) => !taken.has(p));
    this.pendingHead = 0;
    const openedAt = group.reduce((m, s) => Math.max(m, s.ts), 0);
    const first = group.reduce((m, s) => Math.min(m, s.ts), openedAt);
    const id = stableId('inc', openedAt, ...group.map((s) => s.id).sort());
    const inc: Incident = {
      seq: this.seq++,
      id,
      openedAt,
      status: 'open',
      firstSymptom: first,
      lastSymptom: first,
      services: new Set(),
      // The services the symptoms are of (a call edge's callee, not its caller: callers see every fault below them).
      core: new Set(group.map((g) => symptomService(g))),
      seed: new Set(group.flatMap((g) => signalServices(g))),
      lastStrong: first,
      familyLast: new Map(),
      lastGrowth: first,
      best: new Map(),
      changes: new Map(),
      firstSeen: new Map(),
      counts: { events: 0, alerts: 0, signals: 0 },
      capped: 0,
      dirty: true,
      lastEmit: undefined,
    };
    const ordered = [...group].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const s of ordered) this.absorb(inc, s);
    // The opening group is the fault happening now, whatever its strength mix (alerts by corroboration included).
    if (openedAt > inc.lastStrong) inc.lastStrong = openedAt;
    this.open.set(id, inc);
    this.st.opened++;
    // Pending symptoms that fit the new incident but were outside the opening neighbourhood join it now.
    const rest: Signal[] = [];
    for (const p of this.pending) {
      if (p.ts >= inc.firstSymptom - this.cfg.openWindowMs && p.ts <= inc.lastStrong + this.cfg.joinWindowMs && p.ts <= inc.lastGrowth + this.cfg.onsetGapMs && this.near(p, inc.core)) this.absorb(inc, p);
      else rest.push(p);
    }
    this.pending = rest;
    inc.lastEmit = this.watermark;
    inc.dirty = false;
    this.outbox.push({ incident: inc, transition: 'opened' });
  }

  private forceResolveOne(): void {
    let victim: Incident | undefined;
    for (const inc of this.open.values()) if (!victim || inc.lastSymptom < victim.lastSymptom) victim = inc;
    if (!victim) return;
    this.st.forcedResolved++;
    this.resolve(victim);
  }

  private resolve(inc: Incident): void {
    inc.status = 'resolved';
    this.open.delete(inc.id);
    this.st.resolved++;
    this.outbox.push({ incident: inc, transition: 'resolved' });
  }

  /**
   * Moves event time forward: expires pending symptoms, resolves quiet incidents and queues updates of open incidents
   * whose evidence changed (at most once per `updateEveryMs`).
   */
  advance(watermark: number, updateEveryMs: number): void {
    if (watermark > this.watermark) this.watermark = watermark;
    const cutoff = this.watermark - this.cfg.openWindowMs;
    while (this.pendingHead < this.pending.length && (this.pending[this.pendingHead] as Signal).ts < cutoff) {
      this.pendingHead++;
      this.st.expired++;
    }
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    if (this.watermark - this.lastPrune >= 60_000) {
      this.changes.prune(this.watermark);
      this.lastPrune = this.watermark;
    }
    for (const inc of [...this.open.values()]) {
      if (this.watermark >= inc.lastStrong + this.cfg.resolveAfterMs) this.resolve(inc);
      else if (inc.dirty && (inc.lastEmit === undefined || this.watermark >= inc.lastEmit + updateEveryMs)) {
        inc.dirty = false;
        inc.lastEmit = this.watermark;
        this.outbox.push({ incident: inc, transition: 'updated' });
      }
    }
  }

  /** End of input: resolves what is quiet, then queues the final state of every incident still open. */
  flush(watermark: number): void {
    this.advance(watermark, Number.POSITIVE_INFINITY);
    for (const inc of this.open.values()) this.outbox.push({ incident: inc, transition: 'final' });
  }

  /** Incident transitions since the last call, in order. */
  drain(): Array<{ incident: Incident; transition: IncidentTransition }> {
    return this.outbox.splice(0);
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  stats(): CorrelatorStats {
    return { ...this.st, pending: this.pendingSize(), open: this.open.size, changesDropped: this.changes.dropped };
  }
}
