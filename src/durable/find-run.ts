import { claimsDigest } from '../cache/key.js';
import { TributaryError } from '../errors.js';
import type { Principal } from '../sources/source.js';
import { decodePayload } from './codec.js';
import { parseRunKey, scopeDigest, storedRunKey } from './run-key.js';
import type { RunStore, StoredRun, StoredRunInfo } from './run-store.js';

/** A stored run found for a caller, with the key it is stored under. @internal */
export interface FoundRun {
  key: string;
  stored: StoredRun;
}

/** Whose a run is: the principal's id (undefined: none) and the digest of its claims (`''`: none). @internal */
export interface RunScope {
  principalId: string | undefined;
  digest: string;
}

/** The scope of a caller (`CONFIG_INVALID` for claims with no stable form). @internal */
export function runScopeOf(principal: Principal | undefined): RunScope {
  return { principalId: principal?.id, digest: principal ? scopeDigest(principal) : '' };
}

/**
 * The scope a stored run was started under, read from the principal stored with it (its
 * payload: the id *and* the claims); undefined when that cannot be read, or names another
 * principal than the run's record. @internal
 */
export function storedScope(stored: StoredRun): RunScope | undefined {
  let principal: Principal | undefined;
  try {
    principal = decodePayload(stored.runId, stored.payload).principal;
  } catch {
    return undefined;
  }
  const digest = principal ? claimsDigest(principal) : '';
  if (digest === undefined || principal?.id !== stored.principalId) return undefined;
  return { principalId: principal?.id, digest };
}

export function sameScope(a: RunScope | undefined, b: RunScope | undefined): boolean {
  return a !== undefined && b !== undefined && a.principalId === b.principalId && a.digest === b.digest;
}

/**
 * The run `runId` of the caller's scope — its principal's id and claims (none: the runs
 * without one): under its key; else under a key of an earlier version (`runId~=id` of a
 * principal with claims, the bare id) when the principal stored with it has the same id and
 * claims. A run of another scope is never found, so the caller cannot tell it from no run at
 * all. A run under the caller's own key whose payload cannot be read is found (resuming it
 * then fails `SOURCE_BAD_RESPONSE`, as a damaged run does). @internal
 */
export async function findOwnRun(store: RunStore, runId: string, principal: Principal | undefined, now: number): Promise<FoundRun | undefined> {
  const scope = runScopeOf(principal);
  const own = storedRunKey(runId, principal);
  const keys = [own, ...(scope.digest === '' ? [] : [storedRunKey(runId, scope.principalId)]), runId];
  for (const key of keys) {
    const stored = await store.get(key, now);
    // A store is data: a row under this key that names another principal (tampered) is not this run.
    if (!stored || stored.principalId !== scope.principalId) continue;
    const whose = storedScope(stored);
    if (sameScope(whose, scope) || (whose === undefined && key === own)) return { key, stored };
  }
  return undefined;
}

/**
 * `resume(runId, { anyPrincipal: true })`: the caller's own run of that id if there is one,
 * else the one run of that id of whichever scope that can still be resumed; `CONFIG_INVALID`
 * when several have one (the caller picks by passing that principal). @internal
 */
export async function findAnyRun(store: RunStore, runId: string, principal: Principal | undefined, now: number): Promise<FoundRun | undefined> {
  const own = await findOwnRun(store, runId, principal, now);
  if (own) return own;
  const all = (await store.list(now)).filter((info) => parseRunKey(info.runId)?.runId === runId && consistent(info.runId, info));
  // A finished run (kept for listing) is no rival to one that can still be resumed.
  const resumable = all.filter((info) => info.state === 'running' || info.state === 'interrupted');
  const candidates = resumable.length > 0 ? resumable : all.slice(0, 1);
  if (candidates.length > 1) {
    const whose = candidates.map((c) => describe(c.runId, c.principalId)).join(', ');
    throw new TributaryError('CONFIG_INVALID', `run id "${runId}" is stored under several principals (${whose}); resume it as the one you mean: resume(runId, { principal })`, {
      issues: [{ path: 'principal', message: 'ambiguous: several principals have a run of this id' }],
    });
  }
  const key = candidates[0]?.runId;
  if (key === undefined) return undefined;
  const stored = await store.get(key, now);
  return stored && consistent(key, stored) && storedScope(stored) !== undefined ? { key, stored } : undefined;
}

/**
 * A store's listing, as callers see it: each run under its own `runId` (not its key), and
 * runs whose key and recorded principal disagree (a key tributary never wrote, a row edited
 * by hand, a key naming other claims than the run's) left out; with `scope`, only that
 * scope's runs, checked against the principal stored with each. @internal
 */
export async function visibleRuns(store: RunStore, now: number, scope?: RunScope): Promise<StoredRunInfo[]> {
  const out: StoredRunInfo[] = [];
  for (const info of await store.list(now)) {
    const parsed = parseRunKey(info.runId);
    if (!parsed || !consistent(info.runId, info)) continue;
    if (scope ? !(await inScope(store, info, scope, now)) : !(await claimsAgree(store, info, now))) continue;
    out.push({ ...info, runId: parsed.runId });
  }
  return out;
}

/** A listed run whose key names claims: the claims stored with it are those (a row moved under another scope's key is nobody's). */
async function claimsAgree(store: RunStore, info: StoredRunInfo, now: number): Promise<boolean> {
  if (!keyDigest(info.runId)) return true;
  const stored = await store.get(info.runId, now);
  return stored === undefined || consistent(info.runId, stored);
}

/** Whether a listed run is `scope`'s: its record names the principal, its payload the same claims (and so does its key, if it names any). */
async function inScope(store: RunStore, info: StoredRunInfo, scope: RunScope, now: number): Promise<boolean> {
  if (info.principalId !== scope.principalId) return false;
  const stored = await store.get(info.runId, now);
  // Gone since listed, or finished and kept for listing (a store's get no longer hands it out): its record and key decide.
  if (!stored) return keyDigest(info.runId) === scope.digest;
  return consistent(info.runId, stored) && sameScope(storedScope(stored), scope);
}

/**
 * A stored run's key agrees with the principal recorded with it — and, given the run itself,
 * a key that names claims with the claims stored with it.
 */
function consistent(key: string, info: StoredRunInfo | StoredRun): boolean {
  const parsed = parseRunKey(key);
  if (!parsed) return false;
  if (parsed.legacy) return true;
  if (parsed.principalId !== info.principalId) return false;
  if (parsed.digest === '' || !('payload' in info)) return true;
  return storedScope(info)?.digest === parsed.digest;
}

/** A principal in a message: its id JSON-quoted, and whether its key names claims. */
function describe(key: string, principalId: string | undefined): string {
  if (principalId === undefined) return '(no principal)';
  const parsed = parseRunKey(key);
  return parsed && !parsed.legacy && parsed.digest !== '' ? `${JSON.stringify(principalId)} with claims #${parsed.digest.slice(0, 8)}` : JSON.stringify(principalId);
}

/** The claims digest a key names (`''`: none, or a key of an earlier version that does not say). */
function keyDigest(key: string): string | undefined {
  const parsed = parseRunKey(key);
  return parsed === undefined ? undefined : parsed.legacy ? '' : parsed.digest;
}
