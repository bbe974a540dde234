/**
 * The requests (round trips) one fragment's calls send in one run — all its batches, retries
 * and hedged calls together — so a connector can bound them per fragment rather than per call
 * (httpSource's `maxRequests`). tributary's call contexts hand out the fragment's tally under
 * `REQUEST_TALLY`; a context without one (a call made outside an executor, a remote worker's)
 * gets a tally of its own, which then bounds that call alone. @internal
 */
export interface RequestTally {
  /** Requests sent, or counted for a call still sending them (given back if it never does). */
  requests: number;
}

/** Where a call context hands out its fragment's tally (a getter: made only when read). @internal */
export const REQUEST_TALLY: unique symbol = Symbol('tributary.requestTally');

/** The tally `ctx` shares with the other calls of its fragment, else a fresh one for this call. */
export function requestTallyOf(ctx: object): RequestTally {
  return (ctx as { [REQUEST_TALLY]?: RequestTally | undefined })[REQUEST_TALLY] ?? { requests: 0 };
}
