import { HTTP_PATHS } from '../names.js';
import type { Rng } from '../rng.js';
import type { SimService } from '../world.js';

/** Variable fields of log lines: ids, paths, addresses, durations. */

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface Line {
  readonly level: Level;
  readonly message: string;
}

export function clientIp(rng: Rng): string {
  return rng.chance(0.7) ? `${rng.int(24, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}` : `10.0.${rng.int(0, 31)}.${rng.int(2, 250)}`;
}

export function method(rng: Rng): string {
  return rng.weighted([['GET', 7], ['POST', 2], ['PUT', 0.5], ['DELETE', 0.3]] as const);
}

export function apiPath(svc: SimService, rng: Rng): string {
  return rng
    .pick(HTTP_PATHS.api)
    .replace('{dom}', svc.domain)
    .replace('{id}', String(rng.int(1000, 999_999)));
}

export function edgePath(rng: Rng): string {
  return rng
    .pick(HTTP_PATHS.edge)
    .replace('{id}', String(rng.int(1000, 99_999)))
    .replace('{hex}', rng.hex(8));
}

/** A service's request route with its id masked (what a framework logs as the matched route). */
export function route(svc: SimService, rng: Rng): string {
  return rng.pick([`/v1/${svc.domain}`, `/v1/${svc.domain}/{id}`, `/v1/${svc.domain}/{id}/items`, `/v1/${svc.domain}/search`]);
}

export function ms(rng: Rng, median: number, sigma = 0.6): number {
  return Math.max(1, Math.round(rng.lognormal(median, sigma)));
}

export function requestId(rng: Rng): string {
  const h = rng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function capitalise(s: string): string {
  return s
    .split('-')
    .map((p) => (p[0] ?? '').toUpperCase() + p.slice(1))
    .join('');
}

export function depAddress(dep: SimService, rng: Rng): string {
  const inst = rng.pick(dep.instances);
  return `${inst.ip}:${dep.port}`;
}

export const TABLES = ['orders', 'order_items', 'payments', 'users', 'sessions', 'inventory', 'products', 'carts', 'invoices', 'shipments'] as const;
