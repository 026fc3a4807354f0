/**
 * Hand-written guards for the per-entry hot path: each one answers "would this zod schema accept the value, and give
 * back the same data?" without building the copy zod's parse returns. A guard may be stricter than its schema (the
 * caller then asks zod, which gives the real answer and the error text) but never looser: test/ingest-guards.test.ts
 * runs every guard and its schema over the same table of bad and good inputs and checks that they agree.
 *
 * Only schemas without transforms or defaults have guards: for those, zod's output equals its input minus unknown
 * keys, and the callers read known keys only, so using the input itself changes nothing downstream.
 */

/** zod's `isObject`: what z.object accepts (any non-null, non-array object). */
export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** z.number(): zod 4 refuses NaN and ±Infinity. */
export function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** z.number().int(): zod 4 bounds it to the safe integers. */
export function isInt(v: unknown): v is number {
  return Number.isSafeInteger(v);
}

/** Int64 (`*UnixNano` and other int64s): a string or a z.number(). */
export function isInt64(v: unknown): v is string | number {
  return typeof v === 'string' || isNum(v);
}

/** EnumValue: an int or a name. */
export function isEnumValue(v: unknown): v is string | number {
  return typeof v === 'string' || isInt(v);
}

export function optString(v: unknown): v is string | undefined {
  return v === undefined || typeof v === 'string';
}

export function nullishString(v: unknown): v is string | null | undefined {
  return v === undefined || v === null || typeof v === 'string';
}

/**
 * Labels (z.record(z.string(), z.string())) that zod would return unchanged: a plain object of string values. An own
 * `__proto__` key is refused here, though zod accepts it, because zod's copy drops it: the caller must take zod's copy.
 */
export function isPlainLabels(v: unknown): v is Record<string, string> {
  if (!isObj(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  if (Object.hasOwn(v, '__proto__')) return false;
  // zod's isPlainObject also looks at `constructor`; an own `constructor` label is rare enough to leave to zod.
  if (Object.hasOwn(v, 'constructor')) return false;
  for (const k in v) if (typeof v[k] !== 'string') return false;
  return true;
}
