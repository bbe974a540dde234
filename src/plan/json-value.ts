import { formatPath } from './refs.js';

/**
 * Values a plan cannot hold because JSON would silently lose them: `JSON.stringify` turns
 * a Map, a Set or a RegExp into `{}` and drops a function, so a plan built in code with
 * `params: [new Set(ids)]` would bind `'{}'` and quietly match nothing. A plan holds JSON
 * (plain objects, arrays, strings, numbers, booleans, null) plus the values a driver binds
 * as they are: a Date, a Buffer or typed array, an object with a `toJSON` method (a
 * decimal library's number) or another class's instance (bound as its JSON).
 */
export function nonJsonKind(value: unknown): string | undefined {
  switch (typeof value) {
    case 'function':
      return 'a function is not JSON';
    case 'symbol':
      return 'a symbol is not JSON';
    case 'bigint':
      // An app that taught JSON bigints (`BigInt.prototype.toJSON`) may put them in plans.
      return typeof (BigInt.prototype as { toJSON?: unknown }).toJSON === 'function' ? undefined : 'a bigint is not JSON; write it as a string, or pass it as a run param';
    case 'object':
      if (value === null) return undefined;
      if (value instanceof Map) return 'a Map is not JSON; use an object or an array of pairs';
      if (value instanceof Set) return 'a Set is not JSON; use an array';
      if (value instanceof WeakMap || value instanceof WeakSet) return 'a WeakMap or WeakSet is not JSON';
      if (value instanceof Promise) return 'a Promise is not JSON; await it before building the plan';
      if (value instanceof RegExp) return 'a RegExp is not JSON; use its source text';
      return undefined;
    default:
      return undefined;
  }
}

/**
 * The path (`fragments[0].query.params[1]`) of the first value in `root` that `nonJsonKind`
 * refuses, with what it is; depth first, in the plan's own order. Only called once the plan
 * is known to hold one, within the size limits and without cycles.
 */
export function findNonJson(root: object): { path: string; kind: string } | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    const kind = nonJsonKind(value);
    if (kind !== undefined) return { path: formatPath('', path) || '(root)', kind };
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') continue;
    const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: [...path, entries[i]![0]] });
  }
  return undefined;
}
