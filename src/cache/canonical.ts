/**
 * A canonical, type-tagged text for a value, used to build cache keys. Object keys are
 * sorted, so two plans that differ only in key order give the same text; every value is
 * tagged with its type, so values that JSON would confuse stay apart: `1` and `1n`, `'1'`
 * and `1`, `null` and `undefined`, `0` and `-0`, a `Buffer` and an array of numbers, a
 * `Date` and its ISO string. A boxed primitive (`new Number(2)`), an `ArrayBuffer` and a
 * `RegExp` are keyed by what they hold, not by their (absent) own keys.
 *
 * Returns `undefined` for a value that has no stable text (a cycle, a function, a symbol,
 * a promise, a class instance whose state is all out of sight — no own fields, no `toJSON`):
 * the caller then bypasses the cache rather than risk two different values
 * sharing one key.
 */
export function canonicalize(value: unknown): string | undefined {
  try {
    return encode(value, new Set());
  } catch (error) {
    if (error === UNKEYABLE) return undefined;
    throw error;
  }
}

const UNKEYABLE = Symbol('unkeyable');

function encode(value: unknown, path: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return `s${JSON.stringify(value)}`;
    case 'number':
      return Object.is(value, -0) ? 'n-0' : `n${String(value)}`;
    case 'bigint':
      return `b${value.toString()}`;
    case 'boolean':
      return value ? 'T' : 'F';
    case 'undefined':
      return 'U';
    case 'object':
      if (value === null) return 'N';
      return encodeObject(value, path);
    default:
      // functions and symbols have no value-based identity
      throw UNKEYABLE;
  }
}

function encodeObject(value: object, path: Set<object>): string {
  if (path.has(value)) throw UNKEYABLE;
  path.add(value);
  try {
    if (Array.isArray(value)) return `[${value.map((v) => encode(v, path)).join(',')}]`;
    if (value instanceof Date) return `d${value.getTime()}`;
    // A boxed primitive binds as the value it holds (JSON writes `new Number(2)` as 2), but
    // has no keys of its own: keyed by its fields, every boxed number would share one entry.
    if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt) return `W${encode(value.valueOf(), path)}`;
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)) {
      return `x${value.constructor.name}:${Buffer.from(new Uint8Array(value)).toString('base64')}`;
    }
    if (value instanceof RegExp) return `r${JSON.stringify(String(value))}`;
    if (ArrayBuffer.isView(value)) {
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      // The view's type matters to a driver (a Buffer is a blob; a Float64Array is not).
      return `x${value.constructor.name}:${bytes.toString('base64')}`;
    }
    if (value instanceof Map) {
      const entries = [...value].map(([k, v]) => `${encode(k, path)}=${encode(v, path)}`).sort();
      return `M{${entries.join(',')}}`;
    }
    if (value instanceof Set) return `S{${[...value].map((v) => encode(v, path)).sort().join(',')}}`;
    if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet) throw UNKEYABLE;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto !== Object.prototype && proto !== null) {
      // A class instance: its JSON form if it has one (e.g. a decimal library), else its fields.
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      const tag = `${(value as { constructor?: { name?: string } }).constructor?.name ?? '?'}`;
      if (typeof toJSON === 'function') return `J${tag}:${encode((toJSON as () => unknown).call(value), path)}`;
      // No field to key it by: its state is out of sight (`#private` fields, closures), so two
      // such instances holding different values would share a key.
      if (Object.keys(value).length === 0) throw UNKEYABLE;
      return `O${tag}:${encodePlain(value, path)}`;
    }
    return encodePlain(value, path);
  } finally {
    path.delete(value);
  }
}

function encodePlain(value: object, path: Set<object>): string {
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${encode((value as Record<string, unknown>)[k], path)}`).join(',')}}`;
}
