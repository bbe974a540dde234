import { deserialize, serialize } from 'node:v8';
import { claimsDigest } from '../cache/key.js';
import { TributaryError } from '../errors.js';
import type { Principal } from '../sources/source.js';

/**
 * The key a durable run is stored under: its `runId` scoped by the principal it was started
 * under — its id and, when it has claims besides its `id`, the digest of those claims (the
 * cache's: `claimsDigest`) — so two principals' runs of one id are two runs, and so are the
 * runs of one id with other claims (`{ id: 'ann', tenant: 'a' }` and `{ id: 'ann', tenant: 'b' }`):
 * neither blocks, reveals or resumes the other. `runId` is `[A-Za-z0-9_.:@-]{1,200}`, so the
 * `~` that ends it cannot be part of it; after it come `#` and the 22-character digest (base64url:
 * no `=`) when there are claims, then `=` and the principal's id (any string, the empty one
 * included); nothing after `~` for a run without a principal.
 *
 * Keys stored by earlier versions: under the bare `runId` (no `~`), and `runId~=id` for a
 * principal with claims too. Both stay readable by the principal whose claims match the ones
 * stored with the run (see find-run.ts).
 *
 * @example
 * storedRunKey('nightly', 'alice')                        // 'nightly~=alice'
 * storedRunKey('nightly', { id: 'alice' })                // 'nightly~=alice'
 * storedRunKey('nightly', { id: 'ann', tenant: 'a' })     // 'nightly~#<digest>=ann'
 * storedRunKey('nightly', undefined)                      // 'nightly~'
 */
export function storedRunKey(runId: string, principal: Principal | string | undefined): string {
  if (principal === undefined) return `${runId}~`;
  if (typeof principal === 'string') return `${runId}~=${principal}`;
  const digest = scopeDigest(principal);
  return digest === '' ? `${runId}~=${principal.id}` : `${runId}~#${digest}=${principal.id}`;
}

/**
 * The digest of a principal's claims (`''`: none); `CONFIG_INVALID` at `principal` for claims
 * with no stable form (a cycle, a function), which could not tell whose a run is.
 */
export function scopeDigest(principal: Principal): string {
  const stored = storedForm(principal);
  const digest = stored === undefined ? undefined : claimsDigest(stored);
  if (digest === undefined) {
    throw new TributaryError('CONFIG_INVALID', "a durable run's principal claims must be plain data with a stable form (no cycle, function or symbol): they scope the run", {
      issues: [{ path: 'principal', message: 'claims have no stable form' }],
    });
  }
  return digest;
}

/**
 * What a stored key says: the run's id and, unless stored before scoping (`legacy`), its
 * principal's id and the digest of its claims (`''`: none, or a key of an earlier version).
 */
export type ParsedRunKey = { runId: string; legacy: false; principalId: string | undefined; digest: string } | { runId: string; legacy: true };

const DIGEST = /^[A-Za-z0-9_-]{22}$/;

/** A key read back from a store → the run's id and principal; undefined for a key tributary never writes. */
export function parseRunKey(key: string): ParsedRunKey | undefined {
  const at = key.indexOf('~');
  if (at < 0) return { runId: key, legacy: true };
  const runId = key.slice(0, at);
  const rest = key.slice(at + 1);
  if (rest === '') return { runId, legacy: false, principalId: undefined, digest: '' };
  if (rest.startsWith('=')) return { runId, legacy: false, principalId: rest.slice(1), digest: '' };
  const eq = rest.indexOf('=');
  if (!rest.startsWith('#') || eq < 0 || !DIGEST.test(rest.slice(1, eq))) return undefined;
  return { runId, legacy: false, principalId: rest.slice(eq + 1), digest: rest.slice(1, eq) };
}

/**
 * The principal as a run's payload stores it (V8's structured clone, as codec.ts writes it: a
 * class instance comes back a plain object): its claims are the ones a stored run is read back
 * and found by, so the digest that scopes it is theirs. Undefined for claims V8 cannot store.
 */
function storedForm(principal: Principal): Principal | undefined {
  try {
    return deserialize(serialize(principal)) as Principal;
  } catch {
    return undefined;
  }
}
