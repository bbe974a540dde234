import { isDecimalString } from './decimal.js';
import { wholeList } from './list-chunks.js';

/**
 * What a bound list holds, as a connector that types a list by its contents reads it
 * (MariaDB/MySQL, sources/mysql/exact-params.ts):
 * - `text`: decimal strings only (nulls aside), none with a fraction;
 * - `numbers`: numbers, bigints and decimal strings, with a number, a bigint or a fraction among them;
 * - `values`: anything else (a word, a date, a boolean among them).
 * A chunk of a batched list (data/list-chunks.ts) is of its whole list's kind, so that every
 * chunk of one list goes the same way; across processes (a `remote` job) the kind travels
 * with the chunk, as the link to its list does not (`markChunkKind`).
 */
export type ListKind = 'text' | 'numbers' | 'values';

export const listKinds = ['text', 'numbers', 'values'] as const satisfies readonly ListKind[];

/** The kind of each whole list: one scan of a list for all its chunks. */
const scanned = new WeakMap<readonly unknown[], ListKind>();
/** The kinds remote jobs gave their chunks (`markChunkKind`). */
const marked = new WeakMap<readonly unknown[], ListKind>();

/** The kind `list` goes as: its whole list's when it is a chunk of one, else its own. */
export function listKind(list: readonly unknown[]): ListKind {
  const given = marked.get(list);
  if (given !== undefined) return given;
  const whole = wholeList(list);
  let kind = scanned.get(whole);
  if (kind === undefined) scanned.set(whole, (kind = ownKind(whole)));
  return kind;
}

/**
 * The kind of a chunk's whole list, when it is a chunk (`listChunks`) whose list is of
 * another kind than the chunk alone: what a remote job carries for it. `undefined` otherwise.
 */
export function chunkKind(list: unknown): ListKind | undefined {
  if (!Array.isArray(list) || wholeList(list) === list) return undefined;
  const kind = listKind(list);
  return kind === ownKind(list) ? undefined : kind;
}

/**
 * Gives a chunk the kind of the list it was cut from (elsewhere: a remote job's). Only a kind
 * that a list holding this chunk may have is taken — at least the chunk's own (`text` <
 * `numbers` < `values`): returns false, and marks nothing, for any other.
 */
export function markChunkKind(chunk: readonly unknown[], kind: ListKind): boolean {
  if (listKinds.indexOf(kind) < listKinds.indexOf(ownKind(chunk))) return false;
  marked.set(chunk, kind);
  return true;
}

/** The kind of a list by what it holds. */
function ownKind(list: readonly unknown[]): ListKind {
  let numbers = false;
  let fraction = false;
  for (const v of list) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'number' || typeof v === 'bigint') numbers = true;
    else if (typeof v === 'string' && isDecimalString(v)) {
      if (v.includes('.')) fraction = true;
    } else return 'values';
  }
  return numbers || fraction ? 'numbers' : 'text';
}
