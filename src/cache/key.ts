import { createHash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';

const stringify = configure({ bigint: true, circularValue: Error, deterministic: true });

/** What identifies a cached sub-query result. */
export interface CacheKeyParts {
  /** The source's registered name. */
  source: string;
  /** The source's `version()`, so a schema change never serves stale shapes. */
  version: string;
  /** The resolved native queries and their bound parameters, one per call. */
  calls: readonly { query: unknown; params: readonly unknown[] }[];
  /** `shared`, `anonymous`, or `principal:<id>`: entries never cross scopes. */
  scope: string;
}

/**
 * A stable key: the parts serialized canonically (object keys sorted, so two plans that
 * differ only in key order share entries) and hashed with SHA-256. Any difference in a
 * bound value gives another key.
 */
export function cacheKey(parts: CacheKeyParts): string {
  const canonical = stringify({ s: parts.source, v: parts.version, c: parts.calls, p: parts.scope }) ?? '';
  return `${parts.scope}:${createHash('sha256').update(canonical).digest('base64url')}`;
}

/** The scope of an entry for a source's `cacheScope` and the asking principal. */
export function cacheScopeOf(sourceScope: 'principal' | 'shared' | undefined, principalId: string | undefined): string {
  if (sourceScope === 'shared') return 'shared';
  // JSON-quote the id so that no principal id can be crafted to equal another scope.
  return principalId === undefined ? 'anonymous' : `principal:${JSON.stringify(principalId)}`;
}
