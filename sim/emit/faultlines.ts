import type { OwnCause } from '../faults.js';
import { hash32, type Rng } from '../rng.js';
import type { DepIssue } from '../state.js';
import type { SimService } from '../world.js';
import { accessLine, native, type LineCtx } from './templates.js';
import { nginxErrorTime, pgTime } from './time.js';
import { TABLES, apiPath, capitalise, clientIp, depAddress, edgePath, method, ms, requestId, route, type Line } from './vars.js';

/**
 * Lines that only trouble produces: the root's own failure templates and its callers' complaints about their
 * dependencies (which name the dependency: "connection refused to payments-db:5432").
 */

const PROPS = ['currency', 'amount', 'items', 'address', 'discount', 'locale', 'customerId'] as const;

/** The bad deploy's bug is one stack site per root (a new template, stable through the fault). */
function bugSite(svc: SimService): { prop: string; file: string; line: number; col: number } {
  const h = hash32(svc.name + svc.version);
  return { prop: PROPS[h % PROPS.length] as string, file: `${svc.domain}-${['handler', 'mapper', 'service'][h % 3]}`, line: 20 + (h % 400), col: 5 + (h % 30) };
}

export function ownLine(c: LineCtx, cause: OwnCause): Line {
  const { rng, svc, s } = c;
  const dom = capitalise(svc.domain);
  switch (cause) {
    case 'bug':
      if (rng.chance(0.35)) return { level: 'error', message: `request completed method=${method(rng)} path=${apiPath(svc, rng)} status=500 duration_ms=${ms(rng, svc.ownMedianMs * 2)}` };
      switch (svc.lang) {
        case 'java':
          return { level: 'error', message: `unhandled exception in ${method(rng)} ${route(svc, rng)}: java.lang.IllegalStateException: ${svc.domain} ${rng.int(10_000, 999_999)} in unexpected state RELEASED` };
        case 'go':
          return { level: 'error', message: `handler error route=${route(svc, rng)} err="${svc.domain} ${rng.int(10_000, 999_999)}: unexpected state RELEASED"` };
        case 'python':
          return { level: 'error', message: `Exception in ${route(svc, rng)}: KeyError: 'reservation_id' (request ${requestId(rng)})` };
        default:
          return { level: 'error', message: `Unhandled error in ${route(svc, rng)}: Error: invariant violated: ${svc.domain}.total < 0 (id=${rng.int(10_000, 999_999)})` };
      }
    case 'deploy_bug': {
      const b = bugSite(svc);
      if (rng.chance(0.3)) return { level: 'error', message: `request completed method=${method(rng)} path=${apiPath(svc, rng)} status=500 duration_ms=${ms(rng, svc.ownMedianMs * 2)}` };
      switch (svc.lang) {
        case 'java':
          return { level: 'error', message: `java.lang.NullPointerException: Cannot invoke "com.shop.${svc.domain}.${dom}${capitalise(b.prop)}.get()" because "${b.prop}" is null at com.shop.${svc.domain}.${dom}Service.handle(${dom}Service.java:${b.line})` };
        case 'go':
          return { level: 'error', message: `panic recovered in ${route(svc, rng)}: runtime error: invalid memory address or nil pointer dereference (${b.file}.go:${b.line})` };
        case 'python':
          return { level: 'error', message: `AttributeError: 'NoneType' object has no attribute '${b.prop}' (File "/app/${b.file}.py", line ${b.line})` };
        default:
          return { level: 'error', message: `TypeError: Cannot read properties of undefined (reading '${b.prop}') at /app/dist/${b.file}.js:${b.line}:${b.col}` };
      }
    }
    case 'slow':
      switch (svc.store) {
        case 'postgres':
          return rng.chance(0.75)
            ? native(c, 'info', `duration: ${(s.latAdd * rng.range(0.6, 1.6) + 5).toFixed(3)} ms  statement: SELECT * FROM ${rng.pick(TABLES)} WHERE id = $1`)
            : native(c, 'info', `process ${rng.int(200, 32000)} still waiting for ShareLock on transaction ${rng.int(1_000_000, 99_999_999)} after 1000.${rng.int(100, 999)} ms`);
        case 'search':
          return { level: 'warn', message: `[i.s.s.query] [${svc.instances[0]?.pod ?? svc.name}] [products][${rng.int(0, 4)}] took[${(s.latAdd / 1000).toFixed(1)}s], took_millis[${Math.round(s.latAdd)}], total_hits[${rng.int(0, 9999)} hits], search_type[QUERY_THEN_FETCH]` };
        default: {
          const took = Math.max(260, Math.round(s.p95 * rng.range(0.7, 1.3)));
          return { level: 'warn', message: `slow request ${method(rng)} ${route(svc, rng)} took ${took}ms (threshold ${took >= 1000 ? 1000 : 250}ms)` };
        }
      }
    case 'saturated':
      switch (svc.store) {
        case 'postgres':
          return rng.chance(0.7) ? native(c, 'fatal', 'sorry, too many clients already') : native(c, 'fatal', 'remaining connection slots are reserved for non-replication superuser connections');
        case 'redis':
          return native(c, 'warn', `Error accepting a client connection: max number of clients reached (addr=${clientIp(rng)}:${rng.int(30000, 60000)})`);
        case null:
          return svc.lang === 'java' && rng.chance(0.5)
            ? { level: 'error', message: `HikariPool-1 - Connection is not available, request timed out after ${rng.pick([5000, 30000])}ms.` }
            : { level: 'error', message: `thread pool exhausted: 200/200 workers busy, queue 500/500, rejecting ${method(rng)} ${route(svc, rng)}` };
        default:
          return { level: 'warn', message: `rejected execution: queue capacity 1000 reached on ${svc.name}` };
      }
    case 'oom':
      return { level: 'warn', message: gcPressure(svc, s.mem, rng) };
    case 'external': {
      const ext = svc.external ?? 'provider.example.com';
      return rng.pick<() => Line>([
        () => ({ level: 'error', message: `POST https://${ext}/v1/${rng.pick(['charges', 'labels', 'messages', 'quotes'])} failed: ETIMEDOUT after ${rng.pick([8000, 10000])}ms` }),
        () => ({ level: 'error', message: `${ext} returned 503 Service Unavailable (attempt 3/3)` }),
        () => ({ level: 'warn', message: `circuit breaker '${ext}' is OPEN, failing fast for ${rng.int(10, 60)}s` }),
      ])();
    }
    case 'down':
      return native(c, 'fatal', 'the database system is shutting down');
  }
}

function gcPressure(svc: SimService, mem: number, rng: Rng): string {
  const used = Math.round(mem / 1024 ** 2);
  const max = Math.round(svc.memLimitBytes / 1024 ** 2);
  const pct = Math.round((100 * mem) / svc.memLimitBytes);
  switch (svc.lang) {
    case 'java':
      return `GC overhead high: ${rng.int(40, 95)}% of time spent in GC over the last 60s (heap ${used}M/${max}M)`;
    case 'go':
      return `memory usage ${used}MiB is ${pct}% of GOMEMLIMIT ${max}MiB, GC running continuously`;
    case 'python':
      return `worker pid=${rng.int(7, 300)} rss=${used}MB exceeds soft limit ${Math.round(max * 0.8)}MB`;
    default:
      return `heap usage high: ${used}MB of ${max}MB (${pct}%), mark-compact ${rng.int(200, 1500)}ms`;
  }
}

export function oomLines(c: LineCtx): Line[] {
  const { svc, rng } = c;
  const fatal: Record<string, string> = {
    java: 'java.lang.OutOfMemoryError: Java heap space',
    node: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    go: 'fatal error: runtime: out of memory',
    python: 'MemoryError: unable to allocate array',
  };
  return [{ level: 'fatal', message: fatal[svc.lang] ?? 'out of memory' }, startupLine(c, svc.version, rng)];
}

export function startupLine(c: LineCtx, version: string, rng: Rng): Line {
  const { svc } = c;
  return svc.lang === 'java'
    ? { level: 'info', message: `Started ${capitalise(svc.domain)}Application ${version} in ${rng.range(4, 30).toFixed(3)} seconds (process running for ${rng.range(5, 32).toFixed(3)})` }
    : { level: 'info', message: `starting ${svc.name} ${version} (pid 1) listening on :${svc.port}` };
}

export function shutdownLine(c: LineCtx): Line {
  return { level: 'info', message: `received SIGTERM, shutting down gracefully (in-flight requests: ${c.rng.int(0, 40)})` };
}

/** The datastore's own last and first words around an outage. */
export function outageLines(c: LineCtx, phase: 'start' | 'end'): Line[] {
  const { svc, rng, t } = c;
  const node = svc.instances[0]?.pod ?? svc.name;
  switch (svc.store) {
    case 'postgres':
      return phase === 'start'
        ? [native(c, 'info', 'received immediate shutdown request'), native(c, 'info', 'database system is shut down')]
        : [native(c, 'info', `database system was interrupted; last known up at ${pgTime(t - 600_000)}`), native(c, 'info', 'database system is ready to accept connections')];
    case 'redis':
      return phase === 'start'
        ? [native(c, 'warn', 'Received SIGTERM scheduling shutdown...'), native(c, 'warn', 'Redis is now ready to exit, bye bye...')]
        : [native(c, 'info', 'Server initialized'), native(c, 'info', 'Ready to accept connections tcp')];
    case 'queue':
      return phase === 'start'
        ? [native(c, 'error', `[KafkaServer id=${rng.int(1, 3)}] Fatal error during broker operation, shutting down (kafka.server.KafkaServer)`)]
        : [native(c, 'info', `[KafkaServer id=${rng.int(1, 3)}] started (kafka.server.KafkaServer)`)];
    default:
      return phase === 'start' ? [{ level: 'warn', message: `[o.e.n.Node] [${node}] stopping ...` }] : [{ level: 'info', message: `[o.e.n.Node] [${node}] started` }];
  }
}

/** A caller's complaint about one dependency. Gateways write nginx error-log lines or 5xx access lines. */
export function issueLine(c: LineCtx, issue: DepIssue): Line {
  const { rng, svc, world, t } = c;
  const dep = world.byName.get(issue.to) as SimService;
  const addr = depAddress(dep, rng);
  if (svc.tier === 'edge' && svc.lang !== 'node') {
    if (svc.lang === 'envoy' || rng.chance(0.5)) {
      const code = issue.cause === 'timeout' || issue.cause === 'slow' ? 504 : issue.cause === 'refused' ? 502 : 503;
      return accessLine(c, code, dep.name, issue.cause === 'timeout' ? 60_000 : undefined);
    }
    const what =
      issue.cause === 'timeout' || issue.cause === 'slow'
        ? 'upstream timed out (110: Connection timed out) while reading response header from upstream'
        : issue.cause === 'refused'
          ? `connect() failed (111: Connection refused) while connecting to upstream`
          : 'upstream prematurely closed connection while reading response header from upstream';
    const path = edgePath(rng);
    return { level: 'error', message: `${nginxErrorTime(t)} [error] ${rng.int(20, 40)}#${rng.int(20, 40)}: *${rng.int(10_000, 9_999_999)} ${what}, client: ${clientIp(rng)}, server: shop.example.com, request: "${method(rng)} ${path} HTTP/1.1", upstream: "http://${addr}${path}", host: "shop.example.com"` };
  }
  switch (issue.cause) {
    case 'refused':
      switch (svc.lang) {
        case 'go':
          return { level: 'error', message: `dial tcp ${addr}: connect: connection refused (calling ${dep.name})` };
        case 'node':
          return { level: 'error', message: `Error: connect ECONNREFUSED ${addr} (${dep.name})` };
        case 'java':
          return { level: 'error', message: `java.net.ConnectException: Connection refused: ${dep.name}/${addr}` };
        default:
          return { level: 'error', message: `connection refused to ${dep.name}:${dep.port}` };
      }
    case 'timeout':
      return rng.chance(0.6)
        ? { level: 'error', message: `upstream timeout after ${rng.pick([1000, 2000, 3000, 5000])}ms calling ${dep.name}` }
        : { level: 'error', message: `context deadline exceeded calling ${dep.name} ${dep.store ? 'query' : route(dep, rng)}` };
    case 'pool':
      return { level: 'error', message: `timeout acquiring connection to ${dep.name} from pool after ${rng.pick([1000, 5000])}ms (active=${rng.int(20, 50)}, idle=0, waiting=${rng.int(5, 120)})` };
    case 'upstream':
      if (dep.store === 'postgres') return { level: 'error', message: `query failed on ${dep.name}: ${rng.pick(['FATAL: sorry, too many clients already', 'ERROR: canceling statement due to statement timeout', 'server closed the connection unexpectedly'])}` };
      if (dep.store) return { level: 'error', message: `${dep.name} request failed: ${rng.pick(['connection reset by peer', 'READONLY You can\'t write against a read only replica.', 'request timed out'])}` };
      return rng.chance(0.6)
        ? { level: 'error', message: `${dep.name} returned 503 Service Unavailable for ${method(rng)} ${route(dep, rng)}` }
        : { level: 'error', message: `call to ${dep.name} failed: status=500 path=${apiPath(dep, rng)} request_id=${requestId(rng)}` };
    case 'fallback':
      return { level: 'warn', message: `${dep.name} unavailable, bypassing cache and reading from database: connect ECONNREFUSED ${addr}` };
    case 'slow':
      return { level: 'warn', message: `call to ${dep.name} took ${ms(rng, Math.max(100, c.s.latAdd), 0.3)}ms (slow)` };
  }
}
