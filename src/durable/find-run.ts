import { TributaryError } from '../errors.js';
import { parseRunKey, storedRunKey } from './run-key.js';
import type { RunStore, StoredRun, StoredRunInfo } from './run-store.js';

/** A stored run found for a caller, with the key it is stored under. @internal */
export interface FoundRun {
  key: string;
  stored: StoredRun;
}

/**
 * The run `runId` of principal `principalId` (undefined: the runs without one): under its
 * scoped key, else — a run stored before ids were scoped — under the bare id, when the
 * principal recorded with it is the same. Another principal's run is never found, so the
 * caller cannot tell it from no run at all. @internal
 */
export async function findOwnRun(store: RunStore, runId: string, principalId: string | undefined, now: number): Promise<FoundRun | undefined> {
  const key = storedRunKey(runId, principalId);
  const scoped = await store.get(key, now);
  // A store is data: a row under this key that names another principal (tampered) is not this run.
  if (scoped) return scoped.principalId === principalId ? { key, stored: scoped } : undefined;
  const legacy = await store.get(runId, now);
  return legacy && legacy.principalId === principalId ? { key: runId, stored: legacy } : undefined;
}

/**
 * `resume(runId, { anyPrincipal: true })`: the caller's own run of that id if there is one,
 * else the one run of that id of whichever principal that can still be resumed; `CONFIG_INVALID`
 * when several principals have one (the caller picks by passing that principal). @internal
 */
export async function findAnyRun(store: RunStore, runId: string, principalId: string | undefined, now: number): Promise<FoundRun | undefined> {
  const own = await findOwnRun(store, runId, principalId, now);
  if (own) return own;
  const all = (await store.list(now)).filter((info) => parseRunKey(info.runId)?.runId === runId && consistent(info));
  // A finished run (kept for listing) is no rival to one that can still be resumed.
  const resumable = all.filter((info) => info.state === 'running' || info.state === 'interrupted');
  const candidates = resumable.length > 0 ? resumable : all.slice(0, 1);
  if (candidates.length > 1) {
    const whose = candidates.map((c) => (c.principalId === undefined ? '(no principal)' : JSON.stringify(c.principalId))).join(', ');
    throw new TributaryError('CONFIG_INVALID', `run id "${runId}" is stored under several principals (${whose}); resume it as the one you mean: resume(runId, { principal: { id } })`, {
      issues: [{ path: 'principal', message: 'ambiguous: several principals have a run of this id' }],
    });
  }
  const key = candidates[0]?.runId;
  if (key === undefined) return undefined;
  const stored = await store.get(key, now);
  return stored && consistent(stored) ? { key, stored } : undefined;
}

/**
 * A store's listing, as callers see it: each run under its own `runId` (not its key), and
 * runs whose key and recorded principal disagree (a key tributary never wrote, a row edited
 * by hand) left out. @internal
 */
export function visibleRuns(all: StoredRunInfo[]): StoredRunInfo[] {
  const out: StoredRunInfo[] = [];
  for (const info of all) {
    const parsed = parseRunKey(info.runId);
    if (parsed && consistent(info)) out.push({ ...info, runId: parsed.runId });
  }
  return out;
}

/** A stored run's key agrees with the principal recorded with it. */
function consistent(info: StoredRunInfo): boolean {
  const parsed = parseRunKey(info.runId);
  if (!parsed) return false;
  return parsed.legacy || parsed.principalId === info.principalId;
}
