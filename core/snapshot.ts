import { deserialize, serialize } from 'node:v8';
import { NightshiftError } from './errors.js';

/**
 * A generic snapshot of a stage's object graph (maps, sets, arrays, typed arrays, plain objects and instances of
 * known classes), restored by hydrating a freshly constructed twin of the stage in place.
 *
 * Why generic: perception's state is spread over a dozen classes (template miners, detectors, RED buckets, the
 * correlator's open incidents) and changes as perception evolves. Walking the graph captures all of it exactly, so a
 * restored stage continues byte-for-byte like the original (a test checks it on a simulated stream); a class the
 * registry does not know fails the snapshot with its name and path instead of being silently lost.
 *
 * How: class instances are encoded as tagged plain objects, then the graph goes through `v8.serialize`, which keeps
 * shared references, cycles, -0, NaN and typed arrays. Restoring pairs the snapshot's constructor-built objects with
 * the fresh twin's (same field path, same class) and assigns their fields in place, so closures the constructor
 * wired between components (callbacks, the logger) stay the fresh ones; everything else is created from the
 * registered prototypes. Functions can only live in paired objects; one found elsewhere fails the restore.
 */
const CLASS = '\u0000class';
const FIELDS = '\u0000fields';
const FN = '\u0000fn';
const KEPT = '\u0000kept';

type Proto = object;
type Node = { [CLASS]: string; [FIELDS]: Record<string, unknown> };
type Bag = Record<string, unknown>;

export class ClassRegistry {
  private readonly byName = new Map<string, Proto>();
  private readonly byProto = new Map<Proto, string>();
  /** Own fields of a class that are never snapshotted: the restored object keeps the fresh twin's value. */
  private readonly kept = new Map<string, ReadonlySet<string>>();

  register(proto: Proto, name?: string): void {
    if (this.byProto.has(proto)) return;
    const n = name ?? (proto as { constructor?: { name?: string } }).constructor?.name;
    if (!n) throw new RangeError('a registered class needs a name');
    const other = this.byName.get(n);
    if (other !== undefined && other !== proto) throw new RangeError(`two different classes are named ${n}; register one under another name`);
    this.byName.set(n, proto);
    this.byProto.set(proto, n);
  }

  keep(className: string, fields: readonly string[]): void {
    this.kept.set(className, new Set([...(this.kept.get(className) ?? []), ...fields]));
  }

  /** Registers the class of every object reachable from `root` (bounded by `maxObjects`). */
  discover(root: unknown, maxObjects = 1_000_000): void {
    const seen = new Set<object>();
    const stack: unknown[] = [root];
    while (stack.length > 0 && seen.size < maxObjects) {
      const v = stack.pop();
      if (v === null || typeof v !== 'object' || seen.has(v)) continue;
      seen.add(v);
      if (ArrayBuffer.isView(v)) continue;
      // One push per item: spreading a large array (a 200k-slot ring) would exceed the argument limit.
      if (Array.isArray(v)) for (const x of v) stack.push(x);
      else if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
      else if (v instanceof Set) for (const x of v) stack.push(x);
      else {
        const proto = Object.getPrototypeOf(v) as Proto | null;
        if (proto !== null && proto !== Object.prototype && !isBuiltin(proto)) this.register(proto);
        for (const k of Object.keys(v)) stack.push((v as Bag)[k]);
      }
    }
  }

  nameOf(proto: Proto): string | undefined {
    return this.byProto.get(proto);
  }

  protoOf(name: string): Proto | undefined {
    return this.byName.get(name);
  }

  keptFields(name: string): ReadonlySet<string> | undefined {
    return this.kept.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}

function isBuiltin(proto: Proto): boolean {
  return proto === Map.prototype || proto === Set.prototype || proto === Array.prototype || proto === Date.prototype || proto === RegExp.prototype;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Set) && CLASS in v;
}

function isPlain(v: unknown): v is Bag {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
}

function setOwn(o: Bag, k: string, v: unknown): void {
  // `__proto__` from parsed JSON is an own data property; plain assignment would change the prototype instead.
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

function fail(msg: string, path: readonly string[]): never {
  throw new NightshiftError('INTERNAL', `${msg} at ${path.join('.') || '(root)'}`);
}

/** Encodes the graph under `root`; throws INTERNAL naming the path of anything it cannot represent. */
export function encodeGraph(root: object, reg: ClassRegistry): Buffer {
  const memo = new Map<object, unknown>();
  const path: string[] = [];
  const enc = (v: unknown): unknown => {
    if (typeof v === 'function') return FN;
    if (typeof v === 'symbol') fail('a symbol value cannot be snapshotted', path);
    if (v === null || typeof v !== 'object') return v;
    const hit = memo.get(v);
    if (hit !== undefined) return hit;
    if (ArrayBuffer.isView(v)) {
      memo.set(v, v);
      return v;
    }
    if (Array.isArray(v)) {
      const a: unknown[] = new Array<unknown>(v.length);
      memo.set(v, a);
      for (let i = 0; i < v.length; i++) {
        path.push(String(i));
        a[i] = enc(v[i]);
        path.pop();
      }
      return a;
    }
    if (v instanceof Map) {
      const m = new Map<unknown, unknown>();
      memo.set(v, m);
      path.push('<map>');
      for (const [k, x] of v) m.set(enc(k), enc(x));
      path.pop();
      return m;
    }
    if (v instanceof Set) {
      const s = new Set<unknown>();
      memo.set(v, s);
      path.push('<set>');
      for (const x of v) s.add(enc(x));
      path.pop();
      return s;
    }
    const proto = Object.getPrototypeOf(v) as Proto | null;
    if (proto === Object.prototype || proto === null) {
      const o: Bag = {};
      memo.set(v, o);
      for (const k of Object.keys(v)) {
        path.push(k);
        setOwn(o, k, enc((v as Bag)[k]));
        path.pop();
      }
      return o;
    }
    const name = reg.nameOf(proto);
    if (name === undefined) fail(`class ${(proto as { constructor?: { name?: string } }).constructor?.name ?? '?'} is not registered for snapshots`, path);
    const fields: Bag = {};
    const node: Node = { [CLASS]: name, [FIELDS]: fields };
    memo.set(v, node);
    const kept = reg.keptFields(name);
    for (const k of Object.keys(v)) {
      path.push(k);
      setOwn(fields, k, kept?.has(k) ? KEPT : enc((v as Bag)[k]));
      path.pop();
    }
    return node;
  };
  return serialize(enc(root));
}

/**
 * Restores a snapshot into `live`, a freshly constructed object of the same class as the snapshot's root.
 * Throws SCHEMA_MISMATCH when the snapshot does not fit (unknown class, different root class, a closure in a
 * dynamically created object); `live` may then be partly written and must be discarded.
 */
export function hydrateGraph(live: object, snapshot: Buffer, reg: ClassRegistry): void {
  let root: unknown;
  try {
    root = deserialize(snapshot);
  } catch (e) {
    throw new NightshiftError('SCHEMA_MISMATCH', `snapshot does not deserialize: ${(e as Error).message}`);
  }
  const liveName = reg.nameOf(Object.getPrototypeOf(live) as Proto);
  if (!isNode(root) || root[CLASS] !== liveName) {
    throw new NightshiftError('SCHEMA_MISMATCH', `snapshot root is ${isNode(root) ? root[CLASS] : 'not a class instance'}, expected ${liveName}`);
  }
  const mismatch = (msg: string): never => {
    throw new NightshiftError('SCHEMA_MISMATCH', `snapshot does not fit: ${msg}`);
  };
  // Pass 1: pair snapshot objects with the live objects at the same field paths (constructor-built structure).
  const paired = new Map<object, object>();
  const order: Array<[object, object]> = [];
  const pair = (node: object, obj: object): void => {
    if (paired.has(node)) return;
    paired.set(node, obj);
    order.push([node, obj]);
    const fields: Bag | null = isNode(node) ? node[FIELDS] : isPlain(node) ? node : null;
    if (fields === null) return;
    for (const k of Object.keys(fields)) {
      const sv = fields[k];
      const lv = (obj as Bag)[k];
      if (typeof sv !== 'object' || sv === null || typeof lv !== 'object' || lv === null) continue;
      if (isNode(sv)) {
        if (reg.nameOf(Object.getPrototypeOf(lv) as Proto) === sv[CLASS]) pair(sv, lv);
      } else if (isPlain(sv) && isPlain(lv)) pair(sv, lv);
      else if (sv instanceof Map && lv instanceof Map) pair(sv, lv);
      else if (sv instanceof Set && lv instanceof Set) pair(sv, lv);
      else if (Array.isArray(sv) && Array.isArray(lv)) pair(sv, lv);
    }
  };
  pair(root, live);

  // Pass 2: materialize everything else, then write the paired objects' contents in place.
  const made = new Map<object, unknown>();
  const mat = (v: unknown): unknown => {
    if (v === FN) return mismatch('a function outside the constructor-built structure');
    if (v === KEPT) return mismatch('a kept field outside the constructor-built structure');
    if (v === null || typeof v !== 'object') return v;
    const p = paired.get(v);
    if (p !== undefined) return p;
    const hit = made.get(v);
    if (hit !== undefined) return hit;
    if (ArrayBuffer.isView(v)) {
      made.set(v, v);
      return v;
    }
    if (Array.isArray(v)) {
      const a: unknown[] = new Array<unknown>(v.length);
      made.set(v, a);
      for (let i = 0; i < v.length; i++) a[i] = mat(v[i]);
      return a;
    }
    if (v instanceof Map) {
      const m = new Map<unknown, unknown>();
      made.set(v, m);
      for (const [k, x] of v) m.set(mat(k), mat(x));
      return m;
    }
    if (v instanceof Set) {
      const s = new Set<unknown>();
      made.set(v, s);
      for (const x of v) s.add(mat(x));
      return s;
    }
    if (isNode(v)) {
      const proto = reg.protoOf(v[CLASS]) ?? mismatch(`class ${v[CLASS]} is unknown here`);
      const o = Object.create(proto) as Bag;
      made.set(v, o);
      const fields = v[FIELDS];
      for (const k of Object.keys(fields)) setOwn(o, k, mat(fields[k]));
      return o;
    }
    const o: Bag = {};
    made.set(v, o);
    for (const k of Object.keys(v)) setOwn(o, k, mat((v as Bag)[k]));
    return o;
  };
  for (const [node, obj] of order) {
    if (node instanceof Map) {
      const m = obj as Map<unknown, unknown>;
      const entries = [...node].map(([k, x]) => [mat(k), mat(x)] as const);
      m.clear();
      for (const [k, x] of entries) m.set(k, x);
    } else if (node instanceof Set) {
      const s = obj as Set<unknown>;
      const items = [...node].map(mat);
      s.clear();
      for (const x of items) s.add(x);
    } else if (Array.isArray(node)) {
      const a = obj as unknown[];
      const items = node.map(mat);
      a.length = 0;
      for (const x of items) a.push(x);
    } else {
      const fields = isNode(node) ? node[FIELDS] : (node as Bag);
      const target = obj as Bag;
      for (const k of Object.keys(fields)) {
        const sv = fields[k];
        if (sv === FN) {
          if (typeof target[k] !== 'function') mismatch(`field ${k} was a function and is not one now`);
          continue;
        }
        if (sv === KEPT) continue;
        const value = mat(sv);
        if (value === target[k]) continue;
        const cur = target[k];
        // A typed array the constructor sized: copy into it when the sizes agree (keeps any other reference valid).
        if (ArrayBuffer.isView(cur) && ArrayBuffer.isView(value) && cur.constructor === value.constructor && cur.byteLength === value.byteLength) {
          new Uint8Array(cur.buffer, cur.byteOffset, cur.byteLength).set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
        } else setOwn(target, k, value);
      }
    }
  }
}
