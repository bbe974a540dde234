/**
 * One row: column name → value. Connectors produce rows (their values follow the values
 * policy in `sources/sql/normalize.ts`); the merge tree, the cache and the result consume them.
 */
export type Row = Record<string, unknown>;

/**
 * Sets a column on a row as an own data property. Plain assignment would treat a column
 * named `__proto__` (possible in untrusted JSON) as the prototype setter.
 */
export function setColumn(row: Row, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    row[name] = value;
  }
}

/** Object.prototype, for the fast own-property checks of `readColumn`. */
export const OBJECT_PROTOTYPE: object = Object.prototype;

/**
 * Reads a column that is an own property of the row, else `undefined`. Plain indexing would
 * return inherited members for columns named `__proto__`, `constructor` or `toString`.
 */
export function getColumn(row: Row, name: string): unknown {
  return readColumn(row, name, !(name in OBJECT_PROTOTYPE));
}

/**
 * `getColumn` for hot loops, with `plainName = !(name in Object.prototype)` worked out once
 * per column (`plainName(name)`). It skips the `Object.hasOwn` call where the answer is
 * known: a value read from a row whose prototype is null, or Object.prototype when the name
 * is none of its members, can only be an own property.
 */
export function readColumn(row: Row, name: string, plainName: boolean): unknown {
  const value = row[name];
  if (value === undefined) return undefined;
  if (plainName) {
    const proto: unknown = Object.getPrototypeOf(row);
    if (proto === OBJECT_PROTOTYPE || proto === null) return value;
  }
  return Object.hasOwn(row, name) ? value : undefined;
}

/** True when the row's (or any object's) prototype is Object.prototype or null (see `readColumn`). */
export function isPlainRow(row: object): boolean {
  const proto: unknown = Object.getPrototypeOf(row);
  return proto === OBJECT_PROTOTYPE || proto === null;
}

/** True when `row[name]` cannot reach a member of Object.prototype (see `readColumn`). */
export function plainName(name: string): boolean {
  return !(name in OBJECT_PROTOTYPE);
}

/** True when a value is SQL NULL: `null`, or `undefined` for a column the row lacks. */
export function isNullish(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}
