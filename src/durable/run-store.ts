/**
 * Where durable runs live between processes. A run store holds, per run id: the run's
 * record (its plan and options, who started it, its state, the query machine's persisted
 * snapshot, a lease) and the rows of each fragment that finished, as compressed chunks. The
 * built-in stores are `sqliteRunStore({ file })` and `redisRunStore({ url })`; any object
 * with these methods is one (see README "Durable runs").
 *
 * Everything a store keeps is data: strings, numbers and byte chunks. Nothing in it is run as
 * code; what it hands back is checked before use.
 */

/** A stored run's state: `running` while some executor holds its lease (or held it, then died). */
export type StoredRunState = 'running' | 'interrupted' | 'done' | 'partial' | 'failed';

/** What `executor.runs()` lists, and a store's `list()` returns. */
export interface StoredRunInfo {
  runId: string;
  /** The plan's id. */
  queryId: string;
  /** The principal the run was started under (`undefined`: none). */
  principalId: string | undefined;
  state: StoredRunState;
  /** Epoch ms on the executor's clock (`Date.now()` on the default one). */
  createdAt: number;
  updatedAt: number;
  /** Fragments in the plan, and how many have their rows stored. */
  fragments: number;
  stored: number;
  /** Who holds the run, until when (wall-clock ms); `undefined` when nobody does. */
  leaseOwner: string | undefined;
  leaseExpiresAt: number | undefined;
}

/** A run as stored: its info, plus what resuming it needs. */
export interface StoredRun extends StoredRunInfo {
  /** The plan, and the run's options (principal, params, deadline), encoded by tributary. */
  payload: Buffer;
  /** The query machine's persisted snapshot (JSON), for inspection; undefined before the first. */
  snapshot: string | undefined;
}

/** A finished fragment's rows, as stored. */
export interface StoredFragment {
  fragmentId: string;
  rowCount: number;
  /** The gzipped, serialized rows, in order (concatenated they are one gzip stream). */
  chunks: Buffer[];
  /** Column names the source attached (kept for zero-row results); JSON array. */
  columns: string | undefined;
}

/** A lease request: who wants the run, and for how long (ms). */
export interface Lease {
  owner: string;
  ttlMs: number;
}

/**
 * The storage behind durable runs. Methods may be synchronous underneath (SQLite) but are
 * called as promises. `now` is epoch ms on the executor's clock (wall-clock.ts), passed in so
 * every store agrees on one clock.
 */
export interface RunStore {
  /** How long a finished run stays listed (ms); 0 or absent: removed at once. */
  readonly ttlMs?: number;
  /**
   * The most bytes one stored fragment's rows may gunzip to on `resume` when the run has no
   * `rowLimits.maxBytes` (with one, ×4 of that bounds them); absent: 1 GiB. Past it the resume
   * fails `SOURCE_BAD_RESPONSE`: a small planted gzip bomb is never inflated whole.
   */
  readonly maxFragmentBytes?: number;
  /**
   * Stores a new run, leased to `lease.owner`. Resolves false (storing nothing) when the id is
   * already taken by a run that is not finished.
   */
  create(run: Omit<StoredRun, 'leaseOwner' | 'leaseExpiresAt'>, lease: Lease, now: number): Promise<boolean>;
  /** The run, or undefined (never stored, removed, or expired). */
  get(runId: string, now: number): Promise<StoredRun | undefined>;
  /**
   * Takes or renews the lease: true when the run exists and is free, expired, or already
   * `lease.owner`'s; false otherwise (nothing changes).
   */
  lease(runId: string, lease: Lease, now: number): Promise<boolean>;
  /** Gives the lease back (only if `owner` holds it) and sets the state. */
  release(runId: string, owner: string, state: StoredRunState, now: number): Promise<void>;
  /**
   * Stores one finished fragment's rows (replacing an earlier copy), and the latest snapshot —
   * only while `owner` still holds the run's lease (expired or not, as long as nobody took it
   * over), checked and written in one step. Resolves false, storing nothing, when the lease is
   * someone else's or the run is gone: the caller then stops its copy of the run. `owner` comes
   * last, so a store written before it existed still works (resolving nothing counts as stored).
   */
  putFragment(runId: string, fragment: StoredFragment, snapshot: string | undefined, now: number, owner: string): Promise<boolean | void>;
  /**
   * Every stored fragment of the run. `maxBytes`: the most bytes one fragment's rows may
   * gunzip to (see `fragmentByteBound`); a store may refuse (`SOURCE_BAD_RESPONSE`) a fragment
   * whose stored form is larger than that allows (`storedBytesBound`) without reading it.
   */
  fragments(runId: string, maxBytes?: number): Promise<StoredFragment[]>;
  /**
   * The run finished: removed with its fragments when `keepMs` is 0, else kept (state set,
   * lease released) for `keepMs` more, then gone — only if `owner` still holds the lease,
   * checked and written in one step. Resolves false, changing nothing, otherwise (another
   * executor took the run over, or it is gone).
   */
  finish(runId: string, state: StoredRunState, keepMs: number, now: number, owner: string): Promise<boolean | void>;
  /** Every stored run that has not expired. */
  list(now: number): Promise<StoredRunInfo[]>;
  /** Closes what the store opened (not a client it was given). */
  close(): Promise<void>;
}

/** The run store's methods, for checking a user's store by shape. */
export const RUN_STORE_METHODS = ['create', 'get', 'lease', 'release', 'putFragment', 'fragments', 'finish', 'list', 'close'] as const;
