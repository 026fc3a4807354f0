import type { MetricSnapshot } from './emit/metrics.js';
import type { RecordBuffer } from './emit/sink.js';
import { iso } from './emit/time.js';
import type { NoisePlan } from './noise.js';
import { hex64, type Rng } from './rng.js';
import { buildRules, flapThreshold, staticP95, type AlertSeverity, type Rule } from './rules.js';
import type { SvcState } from './state.js';
import type { SimService, World } from './world.js';

/**
 * Prometheus rule evaluation (pending -> firing after `for:`) and Alertmanager notification behaviour:
 * groups by (receiver, alertname, service); first notification after group_wait, changes after group_interval,
 * re-sends of still-firing groups every repeat_interval (each re-send repeats every alert in it: raw alerts too).
 */
const GROUP_WAIT = 30_000;
const GROUP_INTERVAL = 120_000;
const REPEAT: Record<AlertSeverity, number> = { critical: 240_000, warning: 300_000, info: 300_000 };
const PLAIN_REPEAT = 300_000;
const RECEIVER: Record<AlertSeverity, string> = { critical: 'pagerduty-oncall', warning: 'slack-alerts', info: 'slack-info' };
const EXTERNAL_URL = 'http://alertmanager.monitoring.svc:9093';
const PROM_URL = 'http://prometheus-k8s-0.monitoring.svc:9090';
const ZERO_TIME = '0001-01-01T00:00:00Z';

type Labels = Record<string, string>;

interface RuleInstance {
  readonly rule: Rule;
  readonly svc: SimService;
  readonly labels: Labels;
  readonly fingerprint: string;
  readonly skew: number;
  readonly instance: string;
  /** Index of the pod a per-instance rule watches. */
  readonly podIndex: number;
  pendingSince: number | null;
  firing: boolean;
  lastPlain: number;
}

interface AmAlert {
  readonly inst: RuleInstance;
  readonly annotations: Labels;
  readonly startsAt: number;
  endsAt: number | null;
}

interface Group {
  readonly key: string;
  readonly receiver: string;
  readonly severity: AlertSeverity;
  readonly groupLabels: Labels;
  readonly alerts: Map<string, AmAlert>;
  readonly firstAt: number;
  lastSent: number | null;
  dirty: boolean;
}

function sortLabels(l: Labels): Labels {
  const out: Labels = {};
  for (const k of Object.keys(l).sort()) out[k] = l[k] as string;
  return out;
}

function common(maps: readonly Labels[]): Labels {
  const first = maps[0];
  if (!first) return {};
  const out: Labels = {};
  for (const [k, v] of Object.entries(first)) if (maps.every((m) => m[k] === v)) out[k] = v;
  return out;
}

/**
 * A warning-only fleet (most real Alertmanager set-ups): every critical rule becomes a warning, and a critical rule
 * that only tightens a warning rule of the same name is dropped (the fleet has the one warning rule).
 */
export function warningFleet(rules: readonly Rule[]): Rule[] {
  const warned = new Set(rules.filter((r) => r.severity === 'warning').map((r) => r.alertname));
  return rules.flatMap((r) => (r.severity !== 'critical' ? [r] : warned.has(r.alertname) ? [] : [{ ...r, severity: 'warning' as const }]));
}

export class AlertEngine {
  private readonly instances: RuleInstance[] = [];
  private readonly groups = new Map<string, Group>();
  private readonly lastOom: number[];
  rawAlerts = 0;

  /** `warningOnly`: a fleet whose every rule is a warning (the warning-only shape, see warningFleet). */
  constructor(world: World, noise: NoisePlan, startMs: number, endMs: number, private readonly rng: Rng, warningOnly = false) {
    const ref = staticP95(world);
    const flappers = new Set(noise.flappers);
    this.lastOom = world.services.map(() => -Infinity);
    for (const svc of world.services) {
      const flapAt = flappers.has(svc.name) ? flapThreshold(svc, startMs, endMs) : null;
      const rules = buildRules(svc, ref.get(svc.name) ?? 1, flapAt, noise.longRunning);
      for (const rule of warningOnly ? warningFleet(rules) : rules) {
        const targets = rule.perInstance ? svc.instances : svc.instances.slice(0, 1);
        targets.forEach((pod, podIndex) => {
          const instance = `${pod.ip}:${rule.perInstance ? 9100 : svc.port}`;
          const base: Labels = {
            alertname: rule.alertname,
            [svc.labelKey]: svc.name,
            severity: rule.severity,
            instance,
            namespace: svc.tier === 'datastore' ? 'data' : 'shop',
            team: svc.owner,
            ...(rule.perInstance ? { pod: pod.pod } : {}),
          };
          const labels = sortLabels(base);
          this.instances.push({
            rule,
            svc,
            labels,
            fingerprint: hex64(JSON.stringify(labels)),
            skew: rule.perInstance ? 1 + 0.04 * rng.normal() : 1,
            instance,
            podIndex,
            pendingSince: null,
            firing: false,
            lastPlain: -Infinity,
          });
        });
      }
    }
  }

  /** Called every simulation step so short-lived events (OOM kills) are not missed between evaluations. */
  observe(states: readonly SvcState[]): void {
    for (const s of states) if (s.oomEvent) this.lastOom[s.svc.index] = s.t;
  }

  /** One rule evaluation at t; pushes notifications into buf and returns how many raw alerts were sent. */
  /** `pods`: per-pod scrapes of services exported per pod; their per-instance rules watch their own pod. */
  evaluate(
    t: number,
    states: readonly SvcState[],
    snaps: readonly (MetricSnapshot | null)[],
    buf: RecordBuffer,
    delay: () => number,
    pods: readonly (readonly MetricSnapshot[] | null)[] = [],
  ): number {
    const before = this.rawAlerts;
    for (const inst of this.instances) {
      const i = inst.svc.index;
      const s = states[i] as SvcState;
      const factor = inst.rule.perInstance ? inst.skew * (1 + 0.02 * this.rng.normal()) : 1;
      const own = inst.rule.perInstance ? pods[i]?.[inst.podIndex] : undefined;
      // An OOM kill on one pod (a per-pod fault) is that pod's, not its siblings'.
      const oomHere = !own || !s.podFault || s.podFault.pod === inst.podIndex;
      const m = own ?? snaps[i] ?? null;
      const v = inst.rule.test({ s, m, t, inst: own ? inst.skew : factor, lastOom: oomHere ? (this.lastOom[i] as number) : -Infinity });
      if (v !== null) {
        if (inst.pendingSince === null) inst.pendingSince = t;
        if (!inst.firing && t - inst.pendingSince >= inst.rule.forMs) {
          inst.firing = true;
          this.fire(inst, t, v);
        }
      } else {
        if (inst.firing) this.resolve(inst, t);
        inst.firing = false;
        inst.pendingSince = null;
      }
      if (inst.firing && inst.rule.plain && t - inst.lastPlain >= PLAIN_REPEAT) this.sendPlain(inst, t, v ?? 0, buf, delay);
    }
    for (const g of [...this.groups.values()]) this.maybeSend(g, t, buf, delay);
    return this.rawAlerts - before;
  }

  private fire(inst: RuleInstance, t: number, v: number): void {
    if (inst.rule.plain) return;
    const { rule, svc } = inst;
    const key = `${RECEIVER[rule.severity]}|${rule.alertname}|${svc.name}`;
    let g = this.groups.get(key);
    if (!g) {
      g = {
        key,
        receiver: RECEIVER[rule.severity],
        severity: rule.severity,
        groupLabels: sortLabels({ alertname: rule.alertname, [svc.labelKey]: svc.name }),
        alerts: new Map(),
        firstAt: t,
        lastSent: null,
        dirty: true,
      };
      this.groups.set(key, g);
    }
    g.alerts.set(inst.fingerprint, { inst, annotations: { summary: rule.summary, description: rule.describe(v) }, startsAt: t, endsAt: null });
    g.dirty = true;
  }

  private resolve(inst: RuleInstance, t: number): void {
    if (inst.rule.plain) return;
    const key = `${RECEIVER[inst.rule.severity]}|${inst.rule.alertname}|${inst.svc.name}`;
    const g = this.groups.get(key);
    const a = g?.alerts.get(inst.fingerprint);
    if (!g || !a) return;
    a.endsAt = t;
    g.dirty = true;
  }

  private maybeSend(g: Group, t: number, buf: RecordBuffer, delay: () => number): void {
    const alerts = [...g.alerts.values()];
    const firing = alerts.filter((a) => a.endsAt === null);
    const due =
      g.lastSent === null
        ? t - g.firstAt >= GROUP_WAIT
        : (g.dirty && t - g.lastSent >= GROUP_INTERVAL) || (firing.length > 0 && t - g.lastSent >= REPEAT[g.severity]);
    if (!due || alerts.length === 0) return;
    const sev = g.severity;
    const body = {
      version: '4',
      groupKey: `{}/{severity="${sev}"}:{${Object.entries(g.groupLabels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(', ')}}`,
      truncatedAlerts: 0,
      status: firing.length > 0 ? 'firing' : 'resolved',
      receiver: g.receiver,
      groupLabels: g.groupLabels,
      commonLabels: common(alerts.map((a) => a.inst.labels)),
      commonAnnotations: common(alerts.map((a) => a.annotations)),
      externalURL: EXTERNAL_URL,
      alerts: alerts.map((a) => ({
        status: a.endsAt === null ? 'firing' : 'resolved',
        labels: a.inst.labels,
        annotations: a.annotations,
        startsAt: iso(a.startsAt),
        endsAt: a.endsAt === null ? ZERO_TIME : iso(a.endsAt),
        generatorURL: `${PROM_URL}/graph?g0.expr=${encodeURIComponent(a.inst.rule.expr)}&g0.tab=1`,
        fingerprint: a.inst.fingerprint,
      })),
    };
    buf.push('alerts', g.receiver, JSON.stringify(body), t + delay());
    this.rawAlerts += alerts.length;
    for (const a of alerts) if (a.endsAt !== null) g.alerts.delete(a.inst.fingerprint);
    g.lastSent = t;
    g.dirty = false;
    if (g.alerts.size === 0) this.groups.delete(g.key);
  }

  private sendPlain(inst: RuleInstance, t: number, v: number, buf: RecordBuffer, delay: () => number): void {
    const { rule, svc } = inst;
    const body = {
      ts: iso(t),
      service: svc.name,
      name: rule.alertname,
      severity: rule.severity,
      summary: `${rule.summary}: ${rule.describe(v)}`,
      labels: { source: rule.plain ?? 'monitor', instance: inst.instance, region: 'eu-west-1' },
    };
    buf.push('alerts', null, JSON.stringify(body), t + delay());
    inst.lastPlain = t;
    this.rawAlerts += 1;
  }

  /** Firing alert instances (for tests and progress reporting). */
  firingCount(): number {
    return this.instances.filter((i) => i.firing).length;
  }
}
