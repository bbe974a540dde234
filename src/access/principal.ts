import { TributaryError } from '../errors.js';
import type { Principal } from '../sources/source.js';

/** What a value is, for a message: `a string`, `null`, `an array`, `an object without an id`. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const id = (value as { id?: unknown }).id;
  if (id === undefined) return 'an object without an id';
  return `an object whose id is a ${typeof id}`;
}

/**
 * Throws CONFIG_INVALID at `path` unless `value` is a principal: an object with a string
 * `id`. The id is what scopes the cache, the quotas and durable runs, so a principal without
 * one (a bare user id string, `{ userId }`, a numeric id) is refused rather than run as the
 * anonymous caller, whose cache every such run would share. (Any string is an id, the empty
 * one included: it has a scope of its own, not the anonymous caller's.)
 */
export function checkPrincipal(value: unknown, path: string, what: string): asserts value is Principal {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const id = (value as { id?: unknown }).id;
    if (typeof id === 'string') return;
  }
  const message = `expected a principal { id: string, ...claims } (or none), got ${kindOf(value)}`;
  throw new TributaryError('CONFIG_INVALID', `invalid ${what}: ${path}: ${message}`, { issues: [{ path, message }] });
}
