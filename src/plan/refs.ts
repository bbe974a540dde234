import type { FromRef, ParamRef } from './schema.js';

/** A `$from` or `$param` reference found in a query, with where it is. */
export interface FoundRef {
  ref: FromRef | ParamRef;
  /** Path segments from the query's root, e.g. `['params', 0]`. */
  path: (string | number)[];
}

export function isFromRef(value: unknown): value is FromRef {
  return typeof value === 'object' && value !== null && typeof (value as FromRef).$from === 'string' && typeof (value as FromRef).column === 'string';
}

export function isParamRef(value: unknown): value is ParamRef {
  return typeof value === 'object' && value !== null && typeof (value as ParamRef).$param === 'string';
}

/**
 * Every reference in a query, depth first in document order (the order `batch.param`
 * counts in for queries without a `params` array). Iterative, so a deeply nested query
 * cannot overflow the stack.
 */
export function findRefs(query: unknown): FoundRef[] {
  const found: FoundRef[] = [];
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: query, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (isFromRef(value) || isParamRef(value)) {
      found.push({ ref: value, path });
      continue;
    }
    // An object that says how it serializes is one value, as the plan's shape check takes it
    // (it does not look inside, so what it holds may be cyclic): no reference in it is seen.
    if (typeof value !== 'object' || value === null || typeof (value as { toJSON?: unknown }).toJSON === 'function') continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
    } else if (!ArrayBuffer.isView(value)) {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
      }
    }
  }
  return found;
}

/** `['params', 0]` → `params[0]`. */
export function formatPath(prefix: string, path: readonly (string | number | symbol)[]): string {
  let out = prefix;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/**
 * A copy of `query` with the value at each path replaced. Only the objects on the way to a
 * replaced value are copied; the rest is shared (queries are never mutated).
 */
export function replaceAt(query: unknown, replacements: { path: (string | number)[]; value: unknown }[]): unknown {
  let root = query;
  for (const { path, value } of replacements) root = setIn(root, path, 0, value);
  return root;
}

function setIn(node: unknown, path: (string | number)[], i: number, value: unknown): unknown {
  if (i === path.length) return value;
  const key = path[i]!;
  if (Array.isArray(node)) {
    const copy = node.slice();
    copy[key as number] = setIn(node[key as number], path, i + 1, value);
    return copy;
  }
  const obj = node as Record<string, unknown>;
  const copy: Record<string, unknown> = { ...obj };
  Object.defineProperty(copy, key, { value: setIn(obj[key as string], path, i + 1, value), enumerable: true, writable: true, configurable: true });
  return copy;
}
