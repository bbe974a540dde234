import { columnsOf, withColumns } from '../data/columns.js';
import type { Row } from '../data/row.js';

/**
 * Rows the cache hands to more than one caller (stored, or shared by a load in flight) are
 * its own frozen copies: a caller that changes its result's rows (assigns a column, pushes
 * onto a JSON array in a column) gets a TypeError in strict code, and never changes what
 * another caller is served. A copy, not the source's rows frozen in place: a memory source
 * answers with its table's own row objects, which stay its owner's.
 *
 * Each row and every plain object or array inside it (JSON columns) is copied and frozen;
 * other objects (a Date, a Buffer, a class instance) are shared as they are, since freezing
 * cannot stop their own methods from changing them. The array itself is not frozen (the
 * engine hands every caller its own array) and keeps its column names.
 */
export function frozenCopy(rows: readonly Row[]): Row[] {
  // Pushed, not written into `new Array(n)`: that array stays holey for good, and every hit's
  // copy of it (the merge hands each caller its own array) then takes V8's slow path, ~2× as long.
  const out: Row[] = [];
  for (let i = 0; i < rows.length; i++) out.push(frozenValue(rows[i]) as Row);
  const names = columnsOf(rows);
  return names === undefined ? out : withColumns(out, names);
}

/** Freezes rows that are already the cache's own (decoded from a store): no copy. */
export function freezeInPlace(rows: Row[]): Row[] {
  for (const row of rows) freezeValue(row);
  return rows;
}

/** A plain object or array: copied and frozen. Anything else is shared as it is. */
function isPlain(value: unknown): value is Record<string, unknown> | unknown[] {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** An empty copy of a plain value, of its own kind (array, object, object without prototype). */
function shell(value: Record<string, unknown> | unknown[]): Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return new Array<unknown>(value.length);
  return Object.getPrototypeOf(value) === null ? (Object.create(null) as Record<string, unknown>) : {};
}

/**
 * The frozen copy of one value, without recursion: a JSON column nested tens of thousands of
 * levels deep (as a source may answer) is copied like a flat one, not a stack overflow.
 * Nested plain values wait on an explicit stack of (original, copy) pairs; each copy is
 * frozen once its own entries are set (their copies are filled in later, and frozen then).
 */
function frozenValue(value: unknown): unknown {
  if (!isPlain(value)) return value;
  const root = shell(value);
  // One stack for every row (this runs for each row a load stores): left empty by each call.
  const stack = STACK;
  stack.length = 0;
  stack.push(value, root);
  while (stack.length > 0) {
    const copy = stack.pop() as Record<string, unknown> | unknown[];
    const from = stack.pop() as Record<string, unknown> | unknown[];
    if (Array.isArray(from)) {
      const out = copy as unknown[];
      for (let i = 0; i < from.length; i++) out[i] = copied(from[i], stack);
    } else {
      const out = copy as Record<string, unknown>;
      for (const key of Object.keys(from)) {
        const v = copied(from[key], stack);
        // A `__proto__` column is an own data property (see setColumn), never the prototype setter.
        if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
        else out[key] = v;
      }
    }
    Object.freeze(copy);
  }
  return root;
}

const STACK: unknown[] = [];

/** What goes into a copy for `v`: `v` itself, or the shell of its copy, queued to be filled. */
function copied(v: unknown, stack: unknown[]): unknown {
  if (!isPlain(v)) return v;
  const copy = shell(v);
  stack.push(v, copy);
  return copy;
}

/** Freezes a value and every plain value inside it, in place and without recursion. */
function freezeValue(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (!isPlain(v) || Object.isFrozen(v)) continue;
    for (const key of Object.keys(v)) stack.push((v as Record<string, unknown>)[key]);
    Object.freeze(v);
  }
}
