import { serialize } from 'node:v8';
import { formatPath } from '../plan/index.js';

/** Where in a value V8 cannot serialize it, and what kind of value it is (never its content). */
export interface Unserializable {
  path: string;
  kind: string;
}

/**
 * Finds the value that makes `root` fail `v8.serialize`: a function or a symbol is named at
 * once; anything else (a WeakMap, a Promise, a host object) is the deepest array or object
 * whose own serialization fails while none of its entries' does. Only for an error path: it
 * serializes subtrees again, each object once. Paths are the value's own keys
 * (`principal.claims.hook`, `params[0]`); a Map's or a Set's entries are not looked into.
 */
export function findUnserializable(root: unknown, prefix = ''): Unserializable | undefined {
  const seen = new Set<object>();
  const walk = (value: unknown, path: (string | number)[]): Unserializable | undefined => {
    if (typeof value === 'function') return { path: formatPath(prefix, path), kind: 'a function' };
    if (typeof value === 'symbol') return { path: formatPath(prefix, path), kind: 'a symbol' };
    if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
    seen.add(value);
    if (serializes(value)) return undefined;
    if (Array.isArray(value) || (!(value instanceof Map) && !(value instanceof Set) && !ArrayBuffer.isView(value))) {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(value)) {
        const found = walk(record[key], [...path, Array.isArray(value) ? Number(key) : key]);
        if (found) return found;
      }
    }
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return { path: formatPath(prefix, path), kind: typeof name === 'string' && name !== '' ? `an object (${name})` : 'an object' };
  };
  return walk(root, []);
}

function serializes(value: object): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}
