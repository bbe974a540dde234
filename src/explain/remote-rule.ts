import { TributaryError } from '../errors.js';
import { goesRemote } from '../remote/goes-remote.js';

/** The executor's `remote` option as EXPLAIN and the pictures read it: only its `sources`. */
export interface RemoteOption {
  sources?: readonly string[] | undefined;
}

/** Whether the calls of a source run on BullMQ workers, by what the caller was told. */
export type RemoteRule = (name: string, source: { remote?: boolean } | undefined) => boolean;

/**
 * `remote: true` on the source, or the executor's `remote` option sending the source's calls
 * to workers (every source without `sources`, else the listed ones). A `sources` that is not a
 * list of names is `CONFIG_INVALID` at `remote.sources`, the error naming `who` asked.
 */
export function remoteRuleOf(option: RemoteOption | undefined, who: string): RemoteRule {
  if (option === undefined) return (_name, source) => source?.remote === true;
  if (option.sources !== undefined && (!Array.isArray(option.sources) || option.sources.some((s) => typeof s !== 'string'))) {
    throw new TributaryError('CONFIG_INVALID', `${who}: remote.sources is a list of source names`, { issues: [{ path: 'remote.sources', message: 'expected an array of source names' }] });
  }
  const listed = option.sources === undefined ? undefined : new Set(option.sources);
  return (name, source) => goesRemote(name, source, listed);
}
