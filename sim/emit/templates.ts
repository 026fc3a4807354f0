import type { Rng } from '../rng.js';
import type { SvcState } from '../state.js';
import type { SimService, World } from '../world.js';
import { TABLES, apiPath, clientIp, edgePath, method, ms, requestId, route, type Line } from './vars.js';
import { USER_AGENTS } from '../names.js';
import { kafkaTime, nginxAccessTime, pgTime, redisTime } from './time.js';

/**
 * Routine log lines per kind of service: mostly INFO, some routine WARN, the odd harmless ERROR. For text sources
 * (gateways, postgres, redis, kafka) the message is the whole raw line in the product's native format.
 */
export interface LineCtx {
  readonly svc: SimService;
  readonly world: World;
  readonly rng: Rng;
  readonly t: number;
  readonly s: SvcState;
}

/** Wraps a body in the native prefix of text sources; JSON/OTLP sources get the body as the message. */
export function native(c: LineCtx, level: Line['level'], body: string): Line {
  const { svc, t, rng } = c;
  if (svc.logFormat !== 'text') return { level, message: body };
  switch (svc.store) {
    case 'postgres': {
      const word = level === 'fatal' ? 'FATAL' : level === 'error' ? 'ERROR' : level === 'warn' ? 'WARNING' : 'LOG';
      return { level, message: `${pgTime(t)} [${rng.int(200, 32000)}] ${word}:  ${body}` };
    }
    case 'redis': {
      const sym = level === 'info' ? '*' : level === 'debug' ? '-' : '#';
      return { level, message: `1:M ${redisTime(t)} ${sym} ${body}` };
    }
    case 'queue':
      return { level, message: `[${kafkaTime(t)}] ${level === 'warn' ? 'WARN' : level.toUpperCase()} ${body}` };
    default:
      return { level, message: body };
  }
}

function callsStore(c: LineCtx, store: string): SimService | undefined {
  for (const call of c.svc.calls) {
    const d = c.world.byName.get(call.to);
    if (d?.store === store) return d;
  }
  return undefined;
}

function apiLine(c: LineCtx): Line {
  const { rng, svc, s } = c;
  const r = rng.next();
  if (r < 0.55) {
    const status = rng.chance(s.err) ? rng.pick([500, 502, 503]) : rng.weighted([[200, 20], [201, 2], [204, 1], [304, 1], [404, 1.2], [400, 0.5]] as const);
    return { level: 'info', message: `request completed method=${method(rng)} path=${apiPath(svc, rng)} status=${status} duration_ms=${ms(rng, svc.ownMedianMs * 2)}` };
  }
  const cache = callsStore(c, 'redis');
  if (r < 0.68 && cache) {
    return rng.chance(0.8)
      ? { level: 'info', message: `cache hit key=${svc.domain}:${rng.int(1000, 999_999)} store=${cache.name}` }
      : { level: 'info', message: `cache miss key=${svc.domain}:${rng.int(1000, 999_999)}, loading from database` };
  }
  const db = callsStore(c, 'postgres');
  if (r < 0.78 && db) return { level: 'info', message: `query ok table=${rng.pick(TABLES)} rows=${rng.int(0, 60)} duration_ms=${ms(rng, db.ownMedianMs * 2)} db=${db.name}` };
  const q = callsStore(c, 'queue');
  if (r < 0.84 && q) return { level: 'info', message: `published event ${svc.domain}.updated to ${q.name} partition=${rng.int(0, 11)} offset=${rng.int(100_000, 9_999_999)}` };
  if (r < 0.9) return { level: 'debug', message: `feature flag evaluated flag=new-${svc.domain}-flow variant=${rng.pick(['control', 'treatment'])} user=${rng.int(10_000, 999_999)}` };
  if (r < 0.94) return gcNote(c);
  if (r < 0.985) {
    return rng.pick<() => Line>([
      () => ({ level: 'warn', message: `retrying request to ${svc.calls[0]?.to ?? 'upstream'} (attempt 2/3): connection reset by peer` }),
      () => ({ level: 'warn', message: `deprecated endpoint /v1/${svc.domain}/legacy called by client=${rng.pick(USER_AGENTS).split(' ')[0] ?? 'unknown'}` }),
      () => ({ level: 'warn', message: `request body larger than 1MiB (${rng.int(1100, 4000)}KiB) on ${route(svc, rng)}` }),
      () => ({ level: 'info', message: `health check ok uptime=${rng.int(1000, 900_000)}s` }),
    ])();
  }
  return rng.pick<() => Line>([
    () => ({ level: 'error', message: `request validation failed: field 'email' is invalid for user ${rng.int(10_000, 999_999)}` }),
    () => ({ level: 'error', message: `failed to flush metrics to statsd: write udp 127.0.0.1:8125: connection refused` }),
  ])();
}

function gcNote(c: LineCtx): Line {
  const { rng, svc } = c;
  switch (svc.lang) {
    case 'java':
      return { level: 'info', message: `GC pause (G1 Evacuation Pause) young ${rng.int(200, 900)}M->${rng.int(100, 300)}M ${ms(rng, 12)}ms` };
    case 'node':
      return rng.chance(0.8)
        ? { level: 'info', message: `event loop utilization ${rng.range(0.05, 0.4).toFixed(2)}, heap ${rng.int(120, 600)}MB` }
        : { level: 'warn', message: `event loop blocked for ${ms(rng, 60)}ms` };
    case 'go':
      return { level: 'info', message: `gc ${rng.int(100, 9999)} @${rng.int(10, 90_000)}.${rng.int(100, 999)}s ${rng.int(0, 3)}%: heap ${rng.int(40, 400)}->${rng.int(20, 200)} MB` };
    default:
      return { level: 'info', message: `worker pid=${rng.int(7, 300)} handled ${rng.int(1000, 99_999)} requests, rss=${rng.int(90, 400)}MB` };
  }
}

function workerLine(c: LineCtx): Line {
  const { rng, svc } = c;
  const q = callsStore(c, 'queue');
  const job = `${svc.domain}.${rng.pick(['process', 'sync', 'send', 'reconcile'])}`;
  const r = rng.next();
  if (r < 0.6) return { level: 'info', message: `processed job type=${job} id=${requestId(rng)} attempts=1 duration_ms=${ms(rng, svc.ownMedianMs * 1.5)}` };
  if (r < 0.78 && q) return { level: 'info', message: `consumed batch of ${rng.int(1, 50)} messages from ${q.name} partition=${rng.int(0, 11)} lag=${rng.int(0, 40)}` };
  if (r < 0.88) return { level: 'info', message: `committed offset ${rng.int(100_000, 9_999_999)} for partition ${rng.int(0, 11)}` };
  if (r < 0.92) return gcNote(c);
  if (r < 0.985) return { level: 'warn', message: `job ${requestId(rng)} failed (attempt 1/5), retrying in 30s: ${rng.pick(['lock wait timeout', 'HTTP 429 from provider', 'stale read, will retry'])}` };
  return { level: 'error', message: `job ${requestId(rng)} moved to dead-letter queue after 5 attempts: ${rng.pick(['invalid payload schema v1', 'customer record deleted'])}` };
}

function postgresLine(c: LineCtx): Line {
  const { rng, svc } = c;
  const r = rng.next();
  const table = rng.pick(TABLES);
  if (r < 0.5) return native(c, 'info', `duration: ${(rng.lognormal(svc.ownMedianMs * 60, 0.5)).toFixed(3)} ms  statement: SELECT * FROM ${table} WHERE id = $1`);
  if (r < 0.7) return native(c, 'info', `connection authorized: user=${rng.pick(TABLES).split('_')[0]}_svc database=${svc.domain.replace(/-db$/, '')}`);
  if (r < 0.8) return native(c, 'info', 'checkpoint starting: time');
  if (r < 0.88) return native(c, 'info', `checkpoint complete: wrote ${rng.int(20, 3000)} buffers (${rng.range(0.1, 9).toFixed(1)}%); 0 WAL file(s) added, 0 removed, ${rng.int(0, 3)} recycled; write=${rng.range(0.1, 30).toFixed(3)} s, sync=${rng.range(0.001, 0.05).toFixed(3)} s, total=${rng.range(0.2, 31).toFixed(3)} s`);
  if (r < 0.96) return native(c, 'info', `automatic vacuum of table "shop.public.${table}": index scans: ${rng.int(0, 2)}`);
  if (r < 0.99) return native(c, 'warn', 'there is no transaction in progress');
  return native(c, 'error', `duplicate key value violates unique constraint "${table}_pkey"`);
}

function redisLine(c: LineCtx): Line {
  const { rng } = c;
  return rng.pick<() => Line>([
    () => native(c, 'info', `${rng.int(1, 10_000)} changes in 300 seconds. Saving...`),
    () => native(c, 'info', `Background saving started by pid ${rng.int(100, 9999)}`),
    () => native(c, 'info', 'DB saved on disk'),
    () => native(c, 'info', 'Background saving terminated with success'),
    () => native(c, 'info', `Fork CoW for RDB: current ${rng.int(1, 40)} MB, peak ${rng.int(1, 60)} MB, average ${rng.int(1, 30)} MB`),
  ])();
}

function kafkaLine(c: LineCtx): Line {
  const { rng, svc } = c;
  const topic = rng.pick(['orders', 'payments', 'events', 'emails']);
  return rng.pick<() => Line>([
    () => native(c, 'info', `[LocalLog partition=${topic}-${rng.int(0, 11)}, dir=/var/lib/kafka/data] Rolled new log segment at offset ${rng.int(100_000, 99_999_999)} in ${rng.int(1, 9)} ms. (kafka.log.LocalLog)`),
    () => native(c, 'info', `[ProducerStateManager partition=${topic}-${rng.int(0, 11)}] Wrote producer snapshot at offset ${rng.int(100_000, 99_999_999)} with 0 producer ids in ${rng.int(1, 9)} ms. (kafka.log.ProducerStateManager)`),
    () => native(c, 'info', `[GroupCoordinator 1]: Stabilized group ${svc.callers.find((n) => c.world.byName.get(n)?.tier === 'worker') ?? 'consumers'} generation ${rng.int(10, 900)} (__consumer_offsets-${rng.int(0, 49)}) with ${rng.int(1, 6)} members (kafka.coordinator.group.GroupCoordinator)`),
    () => native(c, 'info', `[UnifiedLog partition=${topic}-${rng.int(0, 11)}, dir=/var/lib/kafka/data] Deleting segment files LogSegment(baseOffset=${rng.int(1000, 9_999_999)}, size=1073741824) (kafka.log.UnifiedLog)`),
  ])();
}

function searchLine(c: LineCtx): Line {
  const { rng, svc } = c;
  const node = svc.instances[0]?.pod ?? svc.name;
  const r = rng.next();
  if (r < 0.45) return { level: 'info', message: `[o.e.i.e.Engine] [${node}] [products][${rng.int(0, 4)}] merged segment [_${rng.hex(3)}] in ${ms(rng, 300)}ms` };
  if (r < 0.75) return { level: 'info', message: `[o.e.c.m.MetadataMappingService] [${node}] [products/${rng.hex(22)}] update_mapping [_doc]` };
  if (r < 0.93) return { level: 'info', message: `[o.e.c.r.a.AllocationService] [${node}] current.health="GREEN" message="shards started [[products][${rng.int(0, 4)}]]"` };
  return { level: 'warn', message: `[o.e.m.j.JvmGcMonitorService] [${node}] [gc][${rng.int(1000, 999_999)}] overhead, spent [${ms(rng, 300)}ms] collecting in the last [1s]` };
}

/** nginx/envoy access lines; the status reflects the gateway's current error ratio. */
export function accessLine(c: LineCtx, status?: number, upstream?: string, durMs?: number): Line {
  const { rng, svc, t, s } = c;
  const code = status ?? (rng.chance(s.err) ? rng.pick([502, 503, 504]) : rng.weighted([[200, 30], [304, 4], [301, 1], [404, 1.5], [499, 0.3]] as const));
  const path = edgePath(rng);
  const m = method(rng);
  const dur = durMs ?? ms(rng, Math.max(1, s.p95 / 2.5));
  const up = upstream ?? svc.calls[0]?.to ?? 'backend';
  const upAddr = `10.${rng.int(10, 60)}.${rng.int(0, 15)}.${rng.int(2, 250)}:8080`;
  if (svc.lang === 'envoy') {
    const flag = code === 503 ? 'UF' : code === 504 ? 'UT' : '-';
    return { level: code >= 500 ? 'error' : 'info', message: `[${new Date(Math.floor(t)).toISOString()}] "${m} ${path} HTTP/1.1" ${code} ${flag} 0 ${rng.int(0, 90_000)} ${dur} ${Math.max(0, dur - 1)} "${clientIp(rng)}" "${rng.pick(USER_AGENTS)}" "${requestId(rng)}" "shop.example.com" "${upAddr}" outbound|8080||${up}.shop.svc.cluster.local` };
  }
  return { level: code >= 500 ? 'error' : 'info', message: `${clientIp(rng)} - - [${nginxAccessTime(t)}] "${m} ${path} HTTP/1.1" ${code} ${rng.int(0, 90_000)} "-" "${rng.pick(USER_AGENTS)}" rt=${(dur / 1000).toFixed(3)} uct=0.00${rng.int(0, 9)} urt=${(Math.max(0, dur - 1) / 1000).toFixed(3)} upstream=${upAddr}` };
}

export function baselineLine(c: LineCtx): Line {
  const { svc } = c;
  if (svc.tier === 'edge') return svc.lang === 'node' ? apiLine(c) : accessLine(c);
  if (svc.tier === 'worker') return workerLine(c);
  switch (svc.store) {
    case 'postgres':
      return postgresLine(c);
    case 'redis':
      return redisLine(c);
    case 'queue':
      return kafkaLine(c);
    case 'search':
      return searchLine(c);
    default:
      return apiLine(c);
  }
}
