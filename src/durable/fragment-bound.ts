import { constants } from 'node:buffer';
import { TributaryError } from '../errors.js';
import { parseRunKey } from './run-key.js';

/** The default bound on one stored fragment's gunzipped rows when its run sets no `maxBytes`: 1 GiB (as recordings). */
export const DEFAULT_MAX_FRAGMENT_BYTES = 2 ** 30;

/**
 * How many bytes a stored fragment's rows may gunzip to on `resume`: with a run `maxBytes`,
 * that ×4 (the serialized form of rows is larger than their measured bytes; at least 1 MiB),
 * as before; without one, the store's `maxFragmentBytes` (a custom store's value counts only
 * when it is a positive integer), else 1 GiB. Never past what a Buffer can hold.
 */
export function fragmentByteBound(limits: { maxBytes?: number }, storeBound: number | undefined): number {
  const store = typeof storeBound === 'number' && Number.isSafeInteger(storeBound) && storeBound > 0 ? storeBound : DEFAULT_MAX_FRAGMENT_BYTES;
  const bound = limits.maxBytes === undefined ? store : Math.max(2 ** 20, limits.maxBytes * 4);
  return Math.min(bound, constants.MAX_LENGTH);
}

/**
 * The most bytes a fragment's stored (gzipped) form may take when its rows may gunzip to
 * `bound`: gzip's worst case (incompressible rows: stored blocks) adds a few bytes per
 * 16 KiB and a header per chunk, so a bound 1/256 and 64 KiB larger than `bound` never
 * refuses rows that would decode; a store checks it before reading a fragment.
 */
export function storedBytesBound(bound: number): number {
  return Math.min(constants.MAX_LENGTH, bound + Math.ceil(bound / 256) + 64 * 1024);
}

/**
 * The error of a stored fragment whose stored form is past `bound` (`storedBytesBound`): the
 * store refused it without reading it. `runKey` is the store's key (the run's id, scoped).
 */
export function oversizedFragment(runKey: string, fragmentId: string, size: number, bound: number): TributaryError {
  const why = `fragment "${fragmentId}" is stored in ${size} bytes, more than the ${bound} its rows may take (it was not read)`;
  const run = parseRunKey(runKey)?.runId ?? runKey;
  return new TributaryError('SOURCE_BAD_RESPONSE', `stored run "${run}" is damaged: ${why}`, { issues: [{ path: `runs.${run}`, message: why }] });
}
