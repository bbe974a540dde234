/**
 * The chunks of a batched bound list (a fragment's `batch`, execution/bind.ts) and the list
 * each was cut from. A connector that types a list by what it holds (MariaDB/MySQL: a list
 * holding a number goes as number literals, one of decimal strings only as text) must type
 * every chunk as the whole list, or one list would compare as numbers in one chunk and as
 * text in the next: different answers for the same list depending on the batch size.
 * The link lives in the process (a WeakMap): a chunk sent elsewhere (a remote worker) carries
 * its whole list's kind instead (data/list-kind.ts, remote/chunk-kinds.ts).
 */

const wholeLists = new WeakMap<readonly unknown[], readonly unknown[]>();

/** `list` cut into chunks of `size` values, in order, each remembering `list`. */
export function listChunks(list: readonly unknown[], size: number): unknown[][] {
  const chunks: unknown[][] = [];
  for (let i = 0; i < list.length; i += size) {
    const chunk = list.slice(i, i + size);
    wholeLists.set(chunk, list);
    chunks.push(chunk);
  }
  return chunks;
}

/** The whole list a chunk was cut from (`listChunks`); any other list is its own whole. */
export function wholeList(list: readonly unknown[]): readonly unknown[] {
  return wholeLists.get(list) ?? list;
}
