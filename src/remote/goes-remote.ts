/**
 * Whether an executor with the `remote` option sends the calls of source `name` to its
 * BullMQ workers: every source when `remote.sources` is not given (`listed` undefined),
 * else the ones it lists and any source given `remote: true`.
 */
export function goesRemote(name: string, source: { remote?: boolean } | undefined, listed: ReadonlySet<string> | undefined): boolean {
  return listed === undefined || listed.has(name) || source?.remote === true;
}
