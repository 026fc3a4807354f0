import { z } from 'zod';
import { NightshiftError } from '../../core/errors.js';
import type { Collector } from './collect.js';

/**
 * Shared OTLP/JSON helpers. Proto3 JSON rules apply: 64-bit integers may be strings, empty fields are omitted,
 * and (an OTLP deviation from proto3) trace and span ids are hex, not base64.
 */

/** `*UnixNano` fields and other int64s: a decimal string or a number. */
export const Int64 = z.union([z.string(), z.number()]);
/** Enums may arrive as their number or, from some exporters, their name. */
export const EnumValue = z.union([z.number().int(), z.string()]);

const MAX_DEPTH = 16;

function mismatch(msg: string): NightshiftError {
  return new NightshiftError('SCHEMA_MISMATCH', msg);
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An AnyValue as a plain JS value (nested arrays and kvlists become arrays and objects). */
function anyValueToPlain(v: unknown, path: string, depth: number): Plain {
  if (depth > MAX_DEPTH) throw mismatch(`${path}: value nested deeper than ${MAX_DEPTH} levels`);
  if (!isObj(v)) throw mismatch(`${path}: expected an AnyValue object ({stringValue: ...} etc.)`);
  if (v.stringValue !== undefined) {
    if (typeof v.stringValue !== 'string') throw mismatch(`${path}.stringValue: expected a string`);
    return v.stringValue;
  }
  if (v.intValue !== undefined) {
    const i = v.intValue;
    if (typeof i === 'number' && Number.isInteger(i)) return i;
    if (typeof i === 'string' && /^-?\d{1,20}$/.test(i)) return Number.isSafeInteger(Number(i)) ? Number(i) : i;
    throw mismatch(`${path}.intValue: expected an integer or a decimal string`);
  }
  if (v.doubleValue !== undefined) {
    const d = v.doubleValue;
    if (typeof d === 'number') return d;
    // proto3 JSON spells non-finite doubles as strings; keep them as text.
    if (typeof d === 'string' && (d === 'NaN' || d === 'Infinity' || d === '-Infinity' || Number.isFinite(Number(d)))) return d;
    throw mismatch(`${path}.doubleValue: expected a number`);
  }
  if (v.boolValue !== undefined) {
    if (typeof v.boolValue !== 'boolean') throw mismatch(`${path}.boolValue: expected a boolean`);
    return v.boolValue;
  }
  if (v.bytesValue !== undefined) {
    if (typeof v.bytesValue !== 'string') throw mismatch(`${path}.bytesValue: expected a base64 string`);
    return v.bytesValue;
  }
  if (v.arrayValue !== undefined) {
    const a = v.arrayValue;
    if (!isObj(a)) throw mismatch(`${path}.arrayValue: expected {values: [...]}`);
    if (a.values === undefined) return [];
    if (!Array.isArray(a.values)) throw mismatch(`${path}.arrayValue.values: expected an array`);
    return a.values.map((x, i) => anyValueToPlain(x, `${path}.arrayValue.values[${i}]`, depth + 1));
  }
  if (v.kvlistValue !== undefined) {
    const kv = v.kvlistValue;
    if (!isObj(kv)) throw mismatch(`${path}.kvlistValue: expected {values: [...]}`);
    const entries = keyValues(kv.values, `${path}.kvlistValue.values`, depth + 1, anyValueToPlain);
    return Object.fromEntries(entries);
  }
  // An empty AnyValue is legal OTLP: the value is unset.
  return null;
}

function keyValues<T>(
  list: unknown,
  path: string,
  depth: number,
  conv: (v: unknown, path: string, depth: number) => T,
): Array<[string, T]> {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw mismatch(`${path}: expected an array of {key, value}`);
  const out: Array<[string, T]> = [];
  for (let i = 0; i < list.length; i++) {
    const kv: unknown = list[i];
    if (!isObj(kv) || typeof kv.key !== 'string') throw mismatch(`${path}[${i}]: expected {key: string, value}`);
    out.push([kv.key, conv(kv.value === undefined ? {} : kv.value, `${path}[${i}].value`, depth)]);
  }
  return out;
}

function plainToString(p: Plain): string {
  if (typeof p === 'string') return p;
  if (p === null) return '';
  if (typeof p === 'number' || typeof p === 'boolean') return String(p);
  return JSON.stringify(p);
}

/** An AnyValue as label/body text: scalars as themselves, arrays and kvlists as compact JSON, unset as ''. */
export function anyValueToString(v: unknown, path: string): string {
  return plainToString(anyValueToPlain(v, path, 0));
}

/**
 * OTLP attributes as string labels. Object.fromEntries defines own properties, so a key named `__proto__`
 * stays a plain label instead of changing the object's prototype. Duplicate keys: the last wins.
 */
export function attributesToLabels(attrs: unknown, path: string): Record<string, string> {
  // keyValues + Object.fromEntries, built in place: no pair arrays, and no path strings for good values.
  const out: Record<string, string> = {};
  if (attrs === undefined) return out;
  if (!Array.isArray(attrs)) throw mismatch(`${path}: expected an array of {key, value}`);
  for (let i = 0; i < attrs.length; i++) {
    const kv: unknown = attrs[i];
    if (!isObj(kv) || typeof kv.key !== 'string') throw mismatch(`${path}[${i}]: expected {key: string, value}`);
    const v = kv.value;
    const text = isObj(v) && typeof v.stringValue === 'string' ? v.stringValue : plainToString(anyValueToPlain(v === undefined ? {} : v, `${path}[${i}].value`, 0));
    // As Object.fromEntries does: `__proto__` becomes an own label, not the object's prototype.
    if (kv.key === '__proto__') Object.defineProperty(out, kv.key, { value: text, writable: true, enumerable: true, configurable: true });
    else out[kv.key] = text;
  }
  return out;
}

/**
 * A hex id of `bytes` bytes, lowercased. Checking length and alphabet catches the common exporter bug of
 * writing proto3's default base64 instead of OTLP/JSON's hex.
 */
export function hexId(v: string, bytes: number, what: string): string {
  if (v.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(v)) {
    throw mismatch(`${what}: expected ${bytes * 2} hex characters, got ${JSON.stringify(v.slice(0, 48))}`);
  }
  if (/^0+$/.test(v)) throw mismatch(`${what}: an all-zero id is invalid`);
  return v.toLowerCase();
}

export interface OtlpResource {
  readonly service: string;
  readonly host: string | undefined;
  /** Which instance of the service: `service.instance.id`, else `k8s.pod.name` (OpenTelemetry resource conventions). */
  readonly instance: string | undefined;
  readonly version: string | undefined;
  readonly path: string;
}

/** A number or a list as `service.name` is an exporter bug; made into a string it would invent the service "7". */
function requireStringAttribute(attrs: unknown, key: string): void {
  if (!Array.isArray(attrs)) return;
  for (const a of attrs) {
    if (!isObj(a) || a.key !== key) continue;
    const v = a.value;
    if (!isObj(v) || typeof v.stringValue !== 'string') {
      const got = isObj(v) ? Object.keys(v).join(', ') || 'an empty value' : typeof v;
      throw mismatch(`resource.attributes ${key}: expected a stringValue, got ${got}`);
    }
  }
}

/** Resource attributes that identify one instance of a service, most specific first. */
export const INSTANCE_ATTRIBUTES = ['service.instance.id', 'k8s.pod.name'] as const;

export interface OtlpKeys {
  readonly resource: string; // resourceSpans
  readonly scope: string; // scopeSpans
  readonly item: string; // spans
}

function countItems(groups: unknown, itemKey: string): number {
  if (!Array.isArray(groups)) return 1;
  let n = 0;
  for (const g of groups) n += isObj(g) && Array.isArray(g[itemKey]) ? (g[itemKey] as unknown[]).length : 1;
  return Math.max(n, 1);
}

/**
 * Walks resource -> scope -> items. A bad item is reported by `visit` (it throws, we record it with its path);
 * a bad resource or scope envelope fails every item under it at once. Good items are always emitted.
 */
export function walkOtlp(
  c: Collector,
  root: Record<string, unknown>,
  keys: OtlpKeys,
  /** `path` gives the item's path (for an error it reports itself); valid while `visit` runs. */
  visit: (item: unknown, path: () => string, res: OtlpResource) => void,
): void {
  const groups = root[keys.resource];
  if (!Array.isArray(groups)) {
    throw mismatch(`${keys.resource}: expected an array (is this an OTLP/JSON export of the right signal?)`);
  }
  // The item's path, built only when an error needs it (visitors call it from their catch, at the current indices).
  let r = 0;
  let s = 0;
  let i = 0;
  const itemPath = (): string => `${keys.resource}[${r}].${keys.scope}[${s}].${keys.item}[${i}]`;
  for (r = 0; r < groups.length; r++) {
    const rPath = `${keys.resource}[${r}]`;
    const g: unknown = groups[r];
    let res: OtlpResource;
    try {
      if (!isObj(g)) throw mismatch('expected an object');
      const resource = g.resource === undefined ? {} : g.resource;
      if (!isObj(resource)) throw mismatch('resource: expected an object');
      const attrs = attributesToLabels(resource.attributes, 'resource.attributes');
      requireStringAttribute(resource.attributes, 'service.name');
      const service = attrs['service.name'];
      if (!service) throw new NightshiftError('MISSING_SERVICE', 'resource has no service.name attribute');
      if (service.length > 256) throw mismatch('service.name longer than 256 characters');
      if (g[keys.scope] !== undefined && !Array.isArray(g[keys.scope])) throw mismatch(`${keys.scope}: expected an array`);
      const instance = INSTANCE_ATTRIBUTES.map((k) => attrs[k]).find((v) => v !== undefined && v !== '');
      res = { service, host: attrs['host.name'] || undefined, instance: instance?.slice(0, 256), version: attrs['service.version']?.slice(0, 128) || undefined, path: rPath };
    } catch (e) {
      c.failFrom(e, rPath, isObj(g) ? countItems(g[keys.scope], keys.item) : 1);
      continue;
    }
    const scopes = (g as Record<string, unknown>)[keys.scope] as unknown[] | undefined;
    if (!scopes) continue;
    for (s = 0; s < scopes.length; s++) {
      const sc: unknown = scopes[s];
      const items = isObj(sc) ? sc[keys.item] : undefined;
      if (!isObj(sc) || (items !== undefined && !Array.isArray(items))) {
        c.fail('SCHEMA_MISMATCH', `${rPath}.${keys.scope}[${s}]: expected {${keys.item}: [...]}`, countItems([sc], keys.item));
        continue;
      }
      if (!items) continue;
      for (i = 0; i < items.length; i++) {
        try {
          visit(items[i], itemPath, res);
        } catch (e) {
          c.failFrom(e, itemPath());
        }
      }
    }
  }
}
