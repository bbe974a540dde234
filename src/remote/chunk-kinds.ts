import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { chunkKind, listKinds, markChunkKind, type ListKind } from '../data/list-kind.js';

/**
 * How a job's chunks of batched lists go (data/list-kind.ts). In this process a chunk is
 * linked to the list it was cut from, and a connector that types a list by its contents
 * (MariaDB) types the chunk as the whole list; that link does not cross Redis, so a job
 * carries, for each of its params that is such a chunk and whose list is of another kind
 * than the chunk alone, the list's kind. The worker checks it and gives the chunk that kind
 * before its source sees the call; it changes nothing but how the chunk is typed. @internal
 */
export interface ChunkKind {
  /** The index in the call's `params` of the chunk. */
  param: number;
  kind: ListKind;
}

/** The kinds a call's chunks go as, for its job: `undefined` when none differs from its chunk's own. */
export function chunkKindsOf(params: readonly unknown[]): ChunkKind[] | undefined {
  let kinds: ChunkKind[] | undefined;
  params.forEach((p, param) => {
    const kind = chunkKind(p);
    if (kind !== undefined) (kinds ??= []).push({ param, kind });
  });
  return kinds;
}

const chunkKindsSchema = z.array(z.strictObject({ param: z.number().int().nonnegative(), kind: z.enum(listKinds) }));

/**
 * A job's `chunkKinds`, checked and applied to its `params`: each names a param that is a list,
 * once, with a kind a list holding that chunk may have (no `text` for a chunk holding a number).
 * Anything else is a malformed job (PLAN_INVALID, not retryable, at its path): its source is never called.
 */
export function applyChunkKinds(given: unknown, params: readonly unknown[]): void {
  if (given === undefined) return;
  const parsed = chunkKindsSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw malformed(['chunkKinds', ...issue.path].join('.'), `expected [{ param: an index, kind: ${listKinds.join(' | ')} }] (${issue.message})`);
  }
  const seen = new Set<number>();
  parsed.data.forEach(({ param, kind }, i) => {
    const chunk = params[param];
    if (!Array.isArray(chunk) || seen.has(param)) throw malformed(`chunkKinds.${i}.param`, `params[${param}] is not a list, or is named twice`);
    seen.add(param);
    if (!markChunkKind(chunk, kind)) throw malformed(`chunkKinds.${i}.kind`, `no list holding params[${param}] is of kind ${kind}`);
  });
}

const malformed = (path: string, message: string): TributaryError =>
  new TributaryError('PLAN_INVALID', `a malformed job: ${path}: ${message}`, { retryable: false, issues: [{ path, message }] });
