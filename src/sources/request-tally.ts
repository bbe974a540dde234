/**
 * The requests (round trips) one fragment's calls send in one run — all its batches, retries
 * and hedged calls together — so a connector can bound them per fragment rather than per call
 * (httpSource's `maxRequests`). tributary's call contexts hand out the fragment's tally under
 * `REQUEST_TALLY`; a context without one (a call made outside an executor) gets a tally of its
 * own, which then bounds that call alone. A remote worker's call gets a tally that carries the
 * coordinator's cap (`max`) and reserves from the fragment's count in Redis (`shared`), which
 * every job of the fragment in flight at once counts on. @internal
 */
export interface RequestTally {
  /** Requests sent, or counted for a call still sending them (given back if it never does). */
  requests: number;
  /**
   * The fragment's cap, decided by whoever made the call (a coordinator, for a job): the
   * connector enforces it instead of its own `maxRequests`. Absent: the connector's own.
   */
  readonly max?: number;
  /** The fragment's count shared with its calls elsewhere; absent: `requests` is the count. */
  readonly shared?: SharedRequestCount;
}

/**
 * A fragment's request count that calls in several processes reserve from atomically: a
 * reservation is made only if it fits under the cap, so calls in flight together cannot pass
 * it between them. What a call reserved and never sent is given back by whoever owns the
 * call (a worker, when its job ends), not through this port; once it has, both methods reject. @internal
 */
export interface SharedRequestCount {
  /**
   * Adds `n` if the count stays at most `max`; resolves with the count before and whether it
   * fit. `pages`: the n requests go as soon as it resolves (else they are a list, sent later).
   */
  reserve(n: number, max: number, pages: boolean): Promise<{ fits: boolean; before: number }>;
  /** One request of a reserved list is about to go: recorded, so a call whose process dies is known to have sent it. */
  send(): Promise<void>;
}

/** Where a call context hands out its fragment's tally (a getter: made only when read). @internal */
export const REQUEST_TALLY: unique symbol = Symbol('tributary.requestTally');

/** The tally `ctx` shares with the other calls of its fragment, else a fresh one for this call. */
export function requestTallyOf(ctx: object): RequestTally {
  return (ctx as { [REQUEST_TALLY]?: RequestTally | undefined })[REQUEST_TALLY] ?? { requests: 0 };
}

/**
 * Where a source shows its cap on each fragment's requests (httpSource: its `maxRequests`, or
 * the default): a remote source sends it with each job, so the worker enforces the same. @internal
 */
export const REQUEST_CAP: unique symbol = Symbol('tributary.requestCap');

/** The cap `source` puts on each fragment's requests, if it has one. */
export function requestCapOf(source: object): number | undefined {
  const cap = (source as { [REQUEST_CAP]?: unknown })[REQUEST_CAP];
  return typeof cap === 'number' ? cap : undefined;
}
