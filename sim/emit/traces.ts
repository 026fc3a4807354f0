import type { Rng } from '../rng.js';
import type { SvcState } from '../state.js';
import type { Call, SimService, World } from '../world.js';
import { SCOPE, SPAN_KIND, int, resource, str, type KeyValue } from './otlp.js';
import type { RecordBuffer } from './sink.js';
import { nanos } from './time.js';
import { TABLES, method, route } from './vars.js';

/**
 * Sampled traces: a request enters at an edge (or a worker picks a job) and walks the call DAG, each call a
 * CLIENT span on the caller and a SERVER span (its child) on the callee. Durations come from the same state as
 * the latency metrics; errors and timeouts propagate per request. A datastore that is down yields only the
 * caller's failed CLIENT span (nothing answers, so nothing records a SERVER span).
 */
const MAX_SPANS = 80;
const STEP = 5000;

interface OutSpan {
  readonly service: string;
  readonly pod: string;
  readonly span: Record<string, unknown>;
}

interface Ctx {
  readonly traceId: string;
  readonly spans: OutSpan[];
  readonly states: readonly SvcState[];
}

export class TraceEmitter {
  /** Per service, deploys in time order: `service.version` of its spans at any time (the instances run it). */
  private readonly releases = new Map<string, { ts: number; version: string }[]>();

  constructor(
    private readonly world: World,
    private readonly rng: Rng,
    private readonly perMinute: number,
    private readonly delay: (maxMs: number) => number,
    deploys: readonly { readonly ts: number; readonly service: string; readonly version: string | null }[] = [],
  ) {
    for (const d of [...deploys].sort((a, b) => a.ts - b.ts)) {
      if (d.version === null) continue;
      const l = this.releases.get(d.service) ?? [];
      l.push({ ts: d.ts, version: d.version });
      this.releases.set(d.service, l);
    }
  }

  /** The version a service's instances run at `t`: its latest deploy at or before `t`, else its initial version. */
  private versionAt(service: string, t: number): string | undefined {
    let v = this.world.byName.get(service)?.version;
    for (const r of this.releases.get(service) ?? []) if (r.ts <= t) v = r.version;
    return v;
  }

  emit(t: number, states: readonly SvcState[], buf: RecordBuffer): number {
    let n = 0;
    for (const s of states) {
      const svc = s.svc;
      if (svc.tier !== 'edge' && svc.tier !== 'worker') continue;
      const rate = svc.tier === 'edge' ? this.perMinute : this.perMinute / 3;
      const count = this.rng.poisson((rate / 60) * (STEP / 1000) * Math.min(1.5, s.load));
      for (let k = 0; k < count; k++) {
        const start = t + this.rng.range(0, STEP);
        const ctx: Ctx = { traceId: this.rng.hex(32), spans: [], states };
        const root = this.serve(ctx, svc, null, start, null, svc.tier === 'worker' ? SPAN_KIND.consumer : SPAN_KIND.server);
        buf.push('traces', ctx.traceId, JSON.stringify(this.request(ctx, start)), root.end + this.delay(5000));
        n++;
      }
    }
    return n;
  }

  private opName(svc: SimService, caller: SimService | null): string {
    const rng = this.rng;
    switch (svc.store) {
      case 'postgres':
        return `${rng.pick(['SELECT', 'SELECT', 'UPDATE', 'INSERT'])} ${rng.pick(TABLES)}`;
      case 'redis':
        return rng.pick(['GET', 'GET', 'SET', 'EXPIRE']);
      case 'queue':
        return `${svc.name} ${caller?.tier === 'worker' ? 'receive' : 'publish'}`;
      case 'search':
        return 'POST /products/_search';
      default:
        return svc.tier === 'worker' ? `process ${svc.domain}.job` : svc.tier === 'edge' ? `${method(rng)} /${svc.domain}` : `${method(rng)} ${route(svc, rng)}`;
    }
  }

  private attrs(svc: SimService): KeyValue[] {
    if (svc.store === 'postgres') return [str('db.system', 'postgresql')];
    if (svc.store === 'redis') return [str('db.system', 'redis')];
    if (svc.store === 'queue') return [str('messaging.system', 'kafka')];
    if (svc.store === 'search') return [str('db.system', 'elasticsearch')];
    return [];
  }

  /** Records the span of `svc` serving one request starting at `start`; returns when it ended and whether it failed. */
  private serve(ctx: Ctx, svc: SimService, caller: SimService | null, start: number, parent: string | null, kind: number): { end: number; error: boolean } {
    const rng = this.rng;
    const s = ctx.states[svc.index] as SvcState;
    const spanId = rng.hex(16);
    const name = this.opName(svc, caller);
    let ownMs = rng.lognormal(svc.ownMedianMs * (0.85 + 0.25 * s.load), 0.5);
    if (s.own.latAddMs > 0) ownMs += s.own.latAddMs * rng.range(0.5, 1.3);
    let error = rng.chance(s.baseErr + s.own.err);
    let cursor = start + ownMs * 0.3;
    for (const c of svc.calls) {
      if (!rng.chance(c.weight)) continue;
      const calls = Math.min(c.fanout, 3);
      for (let k = 0; k < calls && ctx.spans.length < MAX_SPANS; k++) {
        const r = this.call(ctx, svc, c, cursor, spanId);
        cursor = r.end;
        if (r.error && !c.fallback && rng.chance(c.passErr)) error = true;
      }
    }
    const end = cursor + ownMs * 0.7;
    const status = error ? { code: 2, message: svc.store ? 'server error' : 'Internal Server Error' } : { code: 0 };
    const attributes = [...this.attrs(svc)];
    if (!svc.store) attributes.push(int('http.response.status_code', error ? 500 : 200));
    ctx.spans.push({
      service: svc.name,
      pod: rng.pick(svc.instances).pod,
      span: {
        traceId: ctx.traceId,
        spanId,
        ...(parent ? { parentSpanId: parent } : {}),
        name,
        kind,
        startTimeUnixNano: nanos(start),
        endTimeUnixNano: nanos(end),
        attributes,
        status,
      },
    });
    return { end, error };
  }

  private call(ctx: Ctx, caller: SimService, c: Call, start: number, parent: string): { end: number; error: boolean } {
    const rng = this.rng;
    const callee = this.world.byName.get(c.to) as SimService;
    const d = ctx.states[callee.index] as SvcState;
    const spanId = rng.hex(16);
    // A network fault in front of the callee delays the call on the wire: the caller's CLIENT span, not the callee's.
    const net = rng.range(0.2, 1.5) + d.own.netDelayMs;
    let end: number;
    let error: boolean;
    let message = '';
    if (!d.up) {
      end = start + rng.range(0.5, 3);
      error = true;
      message = `connect ECONNREFUSED ${callee.instances[0]?.ip ?? '10.0.0.1'}:${callee.port}`;
    } else {
      const r = this.serve(ctx, callee, caller, start + net / 2, spanId, SPAN_KIND.server);
      end = r.end + net / 2;
      error = r.error;
      if (end - start > c.timeoutMs) {
        end = start + c.timeoutMs;
        error = true;
        message = `deadline exceeded after ${c.timeoutMs}ms`;
      } else if (error) message = callee.store ? 'query failed' : '503 Service Unavailable';
    }
    ctx.spans.push({
      service: caller.name,
      pod: rng.pick(caller.instances).pod,
      span: {
        traceId: ctx.traceId,
        spanId,
        parentSpanId: parent,
        name: callee.store ? this.opName(callee, caller) : `${method(rng)} ${callee.name}`,
        kind: SPAN_KIND.client,
        startTimeUnixNano: nanos(start),
        endTimeUnixNano: nanos(end),
        attributes: [str('peer.service', callee.name), str('server.address', callee.name), int('server.port', callee.port), ...this.attrs(callee)],
        status: error ? { code: 2, message } : { code: 0 },
      },
    });
    return { end, error };
  }

  /** One ExportTraceServiceRequest per trace, spans grouped per service in order of first appearance. */
  private request(ctx: Ctx, t: number): unknown {
    const byService = new Map<string, OutSpan[]>();
    for (const sp of ctx.spans) {
      const list = byService.get(sp.service);
      if (list) list.push(sp);
      else byService.set(sp.service, [sp]);
    }
    return {
      resourceSpans: [...byService.entries()].map(([service, spans]) => ({
        resource: resource(service, [str('host.name', (spans[0] as OutSpan).pod), ...versionAttr(this.versionAt(service, t))]),
        scopeSpans: [{ scope: SCOPE, spans: spans.map((x) => x.span) }],
      })),
    };
  }
}

function versionAttr(v: string | undefined): KeyValue[] {
  return v === undefined ? [] : [str('service.version', v)];
}
