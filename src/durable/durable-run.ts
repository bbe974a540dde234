import type { Row } from '../data/row.js';
import { TributaryError } from '../errors.js';
import type { SettleEvent } from '../run/port.js';
import { encodeFragment } from './codec.js';
import type { RunStore, StoredRun, StoredRunState } from './run-store.js';
import { runClock, type RunClock } from './wall-clock.js';

/** What a run's port asks of its durable side. @internal */
export interface DurableHooks {
  /** The run's id: its events carry it (`runId`). */
  readonly runId: string;
  /** On resume: the rows of fragments that had succeeded, by fragment id (they settle at once). */
  readonly restored: ReadonlyMap<string, Row[]> | undefined;
  /** A fragment settled (rows: a success's rows). */
  settled(event: SettleEvent, rows: Row[] | undefined): void;
  /** The query machine's persisted snapshot, set by the run once its actor exists. */
  snapshotOf: (() => unknown) | undefined;
  /** Whether the query machine has counted fragment `fragmentId` as finished (set by the run). */
  counted: ((fragmentId: string) => boolean) | undefined;
  /** The query machine emitted a snapshot (the run calls this for each one). */
  stepped(): void;
}

/** A finished fragment waiting for the snapshot to store with it. */
interface AwaitingSnapshot {
  fragmentId: string;
  /** Set once the machine emitted a snapshot that counts the fragment. */
  snapshot?: { json: string | undefined };
}

export interface DurableRunOptions {
  store: RunStore;
  /** The run's id, as its caller gave it (on its events and in messages). */
  runId: string;
  /** What the store keeps it under: `runId` scoped by principal (run-key.ts). */
  key: string;
  /** Who holds the lease: unique per run attempt. */
  owner: string;
  leaseMs: number;
  /** The executor's clock, as epoch ms (default: the system's). */
  clock?: RunClock;
  /** On resume: the restored rows (the lease is already held). */
  restored?: ReadonlyMap<string, Row[]>;
}

/**
 * The durable side of one run with a `runId`: stores the run (new runs), then each finished
 * fragment's rows with the query machine's latest persisted snapshot, in order, one write at a
 * time; renews the lease while the run lives; and at the end removes the run (or keeps it for
 * the store's `ttlMs`) — or, for a cancelled run, gives the lease back so it can be resumed.
 * @internal
 */
export class DurableRun implements DurableHooks {
  readonly restored: ReadonlyMap<string, Row[]> | undefined;
  snapshotOf: (() => unknown) | undefined;
  counted: ((fragmentId: string) => boolean) | undefined;
  /** Stored fragments whose snapshot is not taken yet (see `stepped`). */
  #awaiting: AwaitingSnapshot[] = [];
  /** The run to cancel when the lease is lost or the store fails a write. */
  run: { cancel(reason?: string | Error): void } | undefined;
  #chain: Promise<void> = Promise.resolve();
  #stopRenewal: (() => void) | undefined;
  readonly #clock: RunClock;
  #failed = false;
  #ended = false;
  /** Set once the store said another executor holds the run: this copy stops and writes nothing more. */
  leaseLost: TributaryError | undefined;

  get runId(): string {
    return this.options.runId;
  }

  constructor(readonly options: DurableRunOptions) {
    this.restored = options.restored;
    this.#clock = options.clock ?? runClock();
    if (options.restored) this.#startRenewal();
  }

  /**
   * Stores a new run; rejects (nothing stored) when the id is taken by an unfinished run —
   * the store says so, or `taken` (the principal's run of this id stored before ids were scoped).
   */
  create(run: Omit<StoredRun, 'leaseOwner' | 'leaseExpiresAt'>, taken: () => Promise<boolean> = async () => false): Promise<void> {
    const { store, runId, owner, leaseMs } = this.options;
    // Both asked at once (a synchronous store has the run stored when `run()` returns); a run
    // stored although `taken` says the id was taken is removed again.
    const now = this.#clock.now();
    const created = Promise.all([store.create(run, { owner, ttlMs: leaseMs }, now), taken()]).then(async ([stored, already]) => {
      if (stored && already) await store.finish(run.runId, 'failed', 0, now, owner);
      if (!stored || already) throw new TributaryError('RUN_LEASED', `a run with id "${runId}" is already stored and not finished; resume it (executor.resume) or pick another id`, { issues: [{ path: 'runId', message: 'already stored' }] });
      this.#startRenewal();
    });
    this.#chain = created.catch(() => {
      this.#failed = true;
    });
    return created;
  }

  settled(event: SettleEvent, rows: Row[] | undefined): void {
    if (event.type !== 'fragment.succeeded' || this.#failed || this.#ended) return;
    if (this.restored?.has(event.fragmentId)) return;
    const fragment = encodeFragment(event.fragmentId, rows ?? []);
    const { store, key, owner } = this.options;
    const awaiting: AwaitingSnapshot = { fragmentId: event.fragmentId };
    this.#awaiting.push(awaiting);
    // The snapshot the machine emitted once it had counted this fragment (`stepped`): not the
    // one current when the write gets its turn, which may count fragments stored after it, or
    // none stored at all. (The machine takes a settle synchronously, so it has one by then,
    // unless the run stopped without counting it: then the current one.)
    this.#write(async () => (await store.putFragment(key, fragment, (awaiting.snapshot ?? { json: this.#snapshot() }).json, this.#clock.now(), owner)) !== false);
  }

  /**
   * The query machine emitted a snapshot: it is the one stored with every fragment waiting for
   * a snapshot that it counts as finished. One JSON text per step, and only when one waits.
   */
  stepped(): void {
    if (this.#awaiting.length === 0) return;
    let taken: { json: string | undefined } | undefined;
    this.#awaiting = this.#awaiting.filter((a) => {
      if (!this.counted?.(a.fragmentId)) return true;
      a.snapshot = taken ??= { json: this.#snapshot() };
      return false;
    });
  }

  /** The run ended with `state` (`interrupted`: cancelled, still resumable); resolves when stored. */
  finish(state: StoredRunState): Promise<void> {
    this.#ended = true;
    this.#stopRenewal?.();
    const { store, key, owner } = this.options;
    this.#write(async () => {
      if (state !== 'interrupted') return (await store.finish(key, state, store.ttlMs ?? 0, this.#clock.now(), owner)) !== false;
      await store.release(key, owner, 'interrupted', this.#clock.now());
      return true;
    });
    return this.#chain;
  }

  #snapshot(): string | undefined {
    try {
      const snapshot = this.snapshotOf?.();
      return snapshot === undefined ? undefined : JSON.stringify(snapshot);
    } catch {
      return undefined;
    }
  }

  /**
   * Another executor holds the run (the store refused a write, or a renewal): this copy stops —
   * cancelled, its later writes dropped, the store left as the new holder has it.
   */
  #lost(why: string): void {
    if (this.leaseLost) return;
    this.#failed = true;
    const { runId } = this.options;
    this.leaseLost = new TributaryError('RUN_LEASED', `lost the lease on run "${runId}" (${why}): another executor took it over, so this copy stopped and left the stored run to it`, { issues: [{ path: 'runId', message: 'leased elsewhere' }] });
    if (!this.#ended) this.run?.cancel(this.leaseLost);
  }

  /** Runs one store write after the previous ones; `op` resolves false when the lease has moved. */
  #write(op: () => Promise<boolean>): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#failed) return;
      try {
        if (!(await op())) this.#lost('the store refused a write');
      } catch (error) {
        this.#failed = true;
        if (!this.#ended) this.run?.cancel(`the run store failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  #startRenewal(): void {
    const { store, key, owner, leaseMs } = this.options;
    if (this.#ended) return;
    this.#stopRenewal = this.#clock.every(Math.max(10, Math.floor(leaseMs / 3)), () => {
      store.lease(key, { owner, ttlMs: leaseMs }, this.#clock.now()).then(
        (held) => {
          if (!held && !this.#ended) this.#lost('its renewal was refused');
        },
        () => undefined,
      );
    });
  }
}
