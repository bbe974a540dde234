import { isPlainRow } from '../data/row.js';

/**
 * The plan's own copy of a checked plan input: every plain object and array copied, so a
 * validated plan shares nothing the caller can still change. Queries are free-form
 * (`z.unknown()` in the plan schema), so without this a prepared plan would run whatever
 * its caller's objects said later, past validation and under cache keys worked out for
 * what they said before. A Date and the bytes of a Buffer or typed array are copied too;
 * other objects (a Decimal, a boxed primitive, another class's instance, a plain object or
 * array with its own `toJSON`, which the shape checks do not look into either) are values
 * and are kept as they are. Own `__proto__` keys stay own keys. Iterative: the raw checks have
 * bounded size and nesting and ruled out cycles, but a raised nesting limit must not
 * overflow the stack.
 */
export function ownCopy<T>(input: T): T {
  const root = shallowCopy(input);
  const stack: [from: object, into: object][] = [];
  if (root !== input) stack.push([input as object, root as object]);
  while (stack.length > 0) {
    const [from, into] = stack.pop()!;
    // Each container is filled in its own order (key order is part of a plan: columns, JSON text).
    if (Array.isArray(from)) {
      const out = into as unknown[];
      for (let i = 0; i < from.length; i++) out[i] = child(from[i], stack);
      continue;
    }
    const out = into as Record<string, unknown>;
    for (const key of Object.keys(from)) {
      const value = child((from as Record<string, unknown>)[key], stack);
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
    }
  }
  return root as T;
}

/** A value's copy; a container copied empty is queued to be filled. */
function child(value: unknown, stack: [object, object][]): unknown {
  const copy = shallowCopy(value);
  if (copy !== value && (Array.isArray(copy) || isPlainRow(copy as object))) stack.push([value as object, copy as object]);
  return copy;
}

/** An empty container to fill (array, plain object), a copied value (Date, bytes), or the value itself. */
function shallowCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  // Another typed array or a DataView: the same kind of view over a copy of its own bytes
  // (not of the whole buffer under it, which structuredClone would copy).
  if (ArrayBuffer.isView(value)) {
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    const View = Object.hasOwn(VIEWS, tag) ? VIEWS[tag] : undefined;
    return View ? new View(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)) : structuredClone(value);
  }
  // An object or array that says how it serializes is one value, as the shape checks take it:
  // they do not look inside, so what it holds is neither bounded nor free of cycles.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (Array.isArray(value)) return new Array<unknown>(value.length);
  if (isPlainRow(value)) return Object.create(Object.getPrototypeOf(value) as object | null) as object;
  return value;
}

/** The built-in views by their tag (a subclass's constructor may take other arguments). */
const VIEWS: Readonly<Record<string, (new (buffer: ArrayBufferLike) => ArrayBufferView) | undefined>> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
};
