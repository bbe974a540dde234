import { createHash } from 'node:crypto';
import { canonicalize } from './canonical.js';
import type { Principal } from '../sources/source.js';

/**
 * The version of what a call's rows depend on beyond its query, params and source version:
 * how tributary sends them (a MariaDB batch chunk typed as its whole list, since 2). Part of
 * every key, so a shared store (Redis) never serves a newer release rows an older one fetched
 * under other rules, nor the other way round. Bump it when such a rule changes.
 */
export const KEY_RULES = 2;

/** What identifies a cached sub-query result. */
export interface CacheKeyParts {
  /** The source's registered name. */
  source: string;
  /** The source's `version()`, so a schema change never serves stale shapes. */
  version: string;
  /** The resolved native queries and their bound parameters, one per source call. */
  calls: readonly { query: unknown; params: readonly unknown[] }[];
  /** From `cacheScopeOf`: `shared`, `anonymous` or `principal:"<id>"` (`#<digest>` of its claims, if it has any); entries never cross scopes. */
  scope: string;
}

/**
 * A stable key: `<scope>:<sha256>` of the parts in canonical form (object keys sorted, every
 * value tagged with its type; see `canonicalize`). Two plans that differ only in the order
 * of their JSON keys get the same key; any difference in a bound value (`1` vs `'1'` vs
 * `1n` included) gets another. The scope leads the key, so a key says whose it is and a
 * store can be searched by scope.
 *
 * Returns `undefined` when a query or parameter holds a value with no stable form (a cycle,
 * a function): such a fragment bypasses the cache.
 *
 * @example
 * cacheKey({ source: 'crm', version: 'v3', scope: cacheScopeOf('principal', 'alice'),
 *            calls: [{ query: { sql: 'SELECT 1' }, params: [] }] })
 * // 'principal:"alice":Yp3…'
 */
export function cacheKey(parts: CacheKeyParts): string | undefined {
  const canonical = canonicalize([KEY_RULES, parts.source, parts.version, parts.scope, parts.calls.map((c) => [c.query, c.params])]);
  if (canonical === undefined) return undefined;
  return `${parts.scope}:${createHash('sha256').update(canonical).digest('base64url')}`;
}

/**
 * The scope of an entry, from the source's `cacheScope` and the asking principal:
 * `shared` for a shared source, else `principal:"<id>"`, or `anonymous` for a run without
 * a principal. The id is JSON-quoted so that no principal id can be crafted to equal
 * another scope (or the anonymous one). A principal with claims besides its `id` gets
 * `principal:"<id>"#<digest of its claims>`: a source may answer by a claim (`role`, a
 * forwarded token), so the same id with other claims is another scope. Claims with no stable
 * form (a function, a cycle) give `undefined`: such a run bypasses the cache.
 */
export function cacheScopeOf(sourceScope: 'principal' | 'shared' | undefined, principal: string | undefined): string;
export function cacheScopeOf(sourceScope: 'principal' | 'shared' | undefined, principal: Principal | string | undefined): string | undefined;
export function cacheScopeOf(sourceScope: 'principal' | 'shared' | undefined, principal: Principal | string | undefined): string | undefined {
  if (sourceScope === 'shared') return 'shared';
  if (principal === undefined) return 'anonymous';
  if (typeof principal === 'string') return `principal:${JSON.stringify(principal)}`;
  const scope = `principal:${JSON.stringify(principal.id)}`;
  const digest = claimsDigest(principal);
  return digest === undefined ? undefined : digest === '' ? scope : `${scope}#${digest}`;
}

/**
 * The digest of a principal's claims (every own property but `id`, in canonical form): 22
 * base64url characters, `''` for a principal with no claims, `undefined` for claims with no
 * stable form (a function, a cycle). What tells two principals of one id apart, for the cache's
 * scope and a durable run's (src/durable/run-key.ts).
 */
export function claimsDigest(principal: Principal): string | undefined {
  const { id: _id, ...claims } = principal;
  if (Object.keys(claims).length === 0) return '';
  const canonical = canonicalize(claims);
  return canonical === undefined ? undefined : createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}
