/**
 * The key a durable run is stored under: its `runId` scoped by the id of the principal it
 * was started under, so two principals' runs of one id are two runs — neither blocks,
 * reveals or resumes the other. `runId` is `[A-Za-z0-9_.:@-]{1,200}`, so the `~` that ends
 * it cannot be part of it; after it comes `=` and the principal's id (any string, the empty
 * one included), or nothing for a run without a principal.
 *
 * Runs stored before run ids were scoped sit under their bare `runId` (no `~`): they stay
 * readable, by the principal recorded with them (see `DurableRuns`).
 *
 * @example
 * storedRunKey('nightly', 'alice')     // 'nightly~=alice'
 * storedRunKey('nightly', undefined)   // 'nightly~'
 */
export function storedRunKey(runId: string, principalId: string | undefined): string {
  return principalId === undefined ? `${runId}~` : `${runId}~=${principalId}`;
}

/** What a stored key says: the run's id and, unless stored before scoping (`legacy`), its principal's. */
export type ParsedRunKey = { runId: string; legacy: false; principalId: string | undefined } | { runId: string; legacy: true };

/** A key read back from a store → the run's id and principal; undefined for a key tributary never writes. */
export function parseRunKey(key: string): ParsedRunKey | undefined {
  const at = key.indexOf('~');
  if (at < 0) return { runId: key, legacy: true };
  const rest = key.slice(at + 1);
  if (rest !== '' && !rest.startsWith('=')) return undefined;
  return { runId: key.slice(0, at), legacy: false, principalId: rest === '' ? undefined : rest.slice(1) };
}
