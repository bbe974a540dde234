import type { Row } from '../data/row.js';
import { checkPrincipal } from '../access/index.js';
import { isTributaryError, TributaryError } from '../errors.js';
import { checkOptionsObject, type PreparedPlan, type QueryRun, type RunOptions } from '../run/index.js';
import type { Clock } from '../execution/clock.js';
import type { Principal } from '../sources/source.js';
import { decodeFragment, decodePayload, encodePayload, type RunPayload } from './codec.js';
import { DurableRun } from './durable-run.js';
import { fragmentByteBound } from './fragment-bound.js';
import { findAnyRun, findOwnRun, runScopeOf, sameScope, storedScope, visibleRuns } from './find-run.js';
import { deadOnThisHost, leaseOwner } from './lease-owner.js';
import { storedRunKey } from './run-key.js';
import type { RunStore, StoredRunInfo } from './run-store.js';
import { runClock, type RunClock } from './wall-clock.js';

/** `executor.resume(runId, options)`. */
export interface ResumeOptions {
  /** Who resumes: run ids are scoped by principal, so this finds the run `runId` this principal (its `id` and claims) started… */
  principal?: Principal;
  /**
   * …unless this is set: the run of that id of any principal (an operator's job; it still runs
   * as its own principal). The caller's own run first; `CONFIG_INVALID` when several others have one.
   */
  anyPrincipal?: boolean;
  /** Aborting it cancels the resumed run (which stays resumable). */
  signal?: AbortSignal;
}

/** `executor.runs(filter)`: by default only the runs of `principal` (none: runs without one). */
export interface RunsFilter {
  principal?: Principal;
  anyPrincipal?: boolean;
}

const RUN_ID = /^[A-Za-z0-9_.:@-]{1,200}$/;

/** What a resume starts from: the stored options and the rows already fetched. */
export interface LoadedRun {
  payload: RunPayload;
  durable: DurableRun;
}

/**
 * An executor's durable runs over its `runStore`: starting stored runs, loading one to
 * resume (principal check, lease, stored rows), listing, and waiting for the last writes on
 * close. @internal
 */
export class DurableRuns {
  readonly #pending = new Set<Promise<unknown>>();
  #closing = false;
  readonly #clock: RunClock;

  /** `clock`: the executor's; leases and stored times follow it (see wall-clock.ts). */
  constructor(
    readonly store: RunStore,
    readonly leaseMs: number,
    clock?: Clock,
  ) {
    this.#clock = runClock(clock);
  }

  /** A new run with an id: stores it (the returned promise gates the run's start). */
  begin(runId: string, prepared: PreparedPlan, options: RunOptions): { durable: DurableRun; created: Promise<void> } {
    checkRunId(runId);
    const deadlineMs = (options as { deadlineMs?: unknown }).deadlineMs;
    let payload: Buffer;
    try {
      payload = encodePayload({
        plan: prepared.input,
        ...(options.principal ? { principal: options.principal } : {}),
        ...(options.params ? { params: options.params } : {}),
        ...(typeof deadlineMs === 'number' ? { deadlineMs } : {}),
      });
    } catch (error) {
      throw new TributaryError('CONFIG_INVALID', `a durable run's plan, principal and params must be storable data (no functions): ${(error as Error).message}`, { issues: [{ path: 'runId', message: 'not storable' }], cause: error });
    }
    const principalId = options.principal?.id;
    const scope = runScopeOf(options.principal);
    const key = storedRunKey(runId, options.principal);
    const durable = new DurableRun({ store: this.store, runId, key, owner: leaseOwner(), leaseMs: this.leaseMs, clock: this.#clock });
    const now = this.#clock.now();
    // The scope's own run of this id stored by an earlier version (under the bare id, or
    // `runId~=id` for a principal with claims), unfinished, takes the id as before.
    const legacyTaken = async (): Promise<boolean> => {
      for (const old of scope.digest === '' ? [runId] : [storedRunKey(runId, principalId), runId]) {
        const legacy = await this.store.get(old, now);
        if (legacy && (legacy.state === 'running' || legacy.state === 'interrupted') && sameScope(storedScope(legacy), scope)) return true;
      }
      return false;
    };
    const created = durable.create({ runId: key, queryId: prepared.id, principalId, state: 'running', createdAt: now, updatedAt: now, fragments: prepared.fragments.length, stored: 0, payload, snapshot: undefined }, legacyTaken);
    return { durable, created };
  }

  /**
   * Loads a stored run for `resume`: checks who asks, takes the lease, decodes it. `close()`
   * waits for it; one that finds the executor closing gives the lease back and rejects `CLOSED`.
   */
  load(runId: string, options: ResumeOptions, prepare: (plan: unknown) => PreparedPlan): Promise<LoadedRun & { prepared: PreparedPlan; runOptions: RunOptions }> {
    return this.#track(this.#load(runId, options, prepare));
  }

  async #load(runId: string, options: ResumeOptions, prepare: (plan: unknown) => PreparedPlan): Promise<LoadedRun & { prepared: PreparedPlan; runOptions: RunOptions }> {
    this.#checkOpen();
    checkRunId(runId);
    checkOptionsObject(options, 'resume options', 'resume(runId, options)');
    if (options.principal !== undefined) checkPrincipal(options.principal, 'principal', 'resume options');
    // Run ids are scoped by principal (id and claims): another scope's run of this id is not
    // found at all, so it learns nothing of it (not that it exists, nor how it ended).
    const scope = runScopeOf(options.principal);
    const find = options.anyPrincipal ? findAnyRun : findOwnRun;
    const found = await find(this.store, runId, options.principal, this.#clock.now());
    if (!found) throw new TributaryError('RUN_UNKNOWN', `no stored run has the id "${runId}"${options.anyPrincipal ? '' : ' for this principal'} (never stored, finished, or expired)`, { issues: [{ path: 'runId', message: 'unknown run' }] });
    const { key, stored } = found;
    if (stored.state === 'done' || stored.state === 'partial' || stored.state === 'failed') {
      throw new TributaryError('RUN_UNKNOWN', `run "${runId}" has finished (${stored.state}); it is kept for listing only, nothing is left to resume`, { issues: [{ path: 'runId', message: 'finished' }] });
    }
    const lease = { owner: leaseOwner(), ttlMs: this.leaseMs };
    if (!(await this.#takeLease(key, stored, lease))) {
      const until = stored.leaseExpiresAt === undefined ? '' : ` until ${new Date(stored.leaseExpiresAt).toISOString()}`;
      throw new TributaryError('RUN_LEASED', `run "${runId}" is being run by another executor (its lease holds${until}); it was not resumed`, { issues: [{ path: 'runId', message: 'leased elsewhere' }] });
    }
    try {
      const payload = decodePayload(runId, stored.payload);
      if (payload.principal?.id !== stored.principalId) throw new TributaryError('SOURCE_BAD_RESPONSE', `stored run "${runId}" is damaged: its payload names another principal than the run`, { issues: [{ path: `runs.${runId}`, message: 'principal mismatch' }] });
      const prepared = prepare(payload.plan);
      // The record says which plan the stored rows were fetched for: a payload swapped for another plan's (or a record edited) is not this run.
      // A plan without an id of its own is given one each time it is prepared (`query-<n>`, a count of this process): only its own id names it.
      const ownId = typeof payload.plan === 'object' && payload.plan !== null && 'id' in payload.plan && payload.plan.id !== undefined;
      if ((ownId && prepared.id !== stored.queryId) || prepared.fragments.length !== stored.fragments) {
        throw new TributaryError('SOURCE_BAD_RESPONSE', `stored run "${runId}" is damaged: its plan is not the one its record names (plan "${stored.queryId}" of ${stored.fragments} fragments)`, { issues: [{ path: `runs.${runId}`, message: 'plan mismatch' }] });
      }
      const restored = new Map<string, Row[]>();
      // Bounded before anything is read: a store that can size a fragment first (Redis) refuses a huge one unread.
      for (const fragment of await this.store.fragments(key, fragmentByteBound(prepared.rowLimits, this.store.maxFragmentBytes))) {
        if (prepared.indexOf.has(fragment.fragmentId)) restored.set(fragment.fragmentId, decodeFragment(runId, fragment, prepared.rowLimits, this.store.maxFragmentBytes));
      }
      const durable = new DurableRun({ store: this.store, runId, key, owner: lease.owner, leaseMs: this.leaseMs, clock: this.#clock, restored });
      // The caller's own run (same id, same claims) goes on with the caller's principal object;
      // another scope's run (resumed with anyPrincipal: another id, or the same id with other
      // claims) keeps the stored one — never the caller's claims over the stored rows.
      const own = options.principal !== undefined && sameScope(storedScope(stored), scope);
      const principal = own ? options.principal : payload.principal;
      const runOptions: RunOptions & { deadlineMs?: number } = {
        ...(principal ? { principal } : {}),
        ...(payload.params ? { params: payload.params } : {}),
        ...(payload.deadlineMs === undefined ? {} : { deadlineMs: payload.deadlineMs }),
        ...(options.signal ? { signal: options.signal } : {}),
      };
      this.#checkOpen();
      return { payload, prepared, durable, runOptions };
    } catch (error) {
      await this.store.release(key, lease.owner, 'interrupted', this.#clock.now()).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Takes the lease of a stored run. A lease held by a process of this machine that no longer
   * exists (SIGKILLed, crashed) is taken over at once instead of waited out: the store is asked
   * as of the moment that lease expires, which it grants only if the dead holder still holds
   * it (of two resumers racing for it, one wins); the new holder's renewals bring its expiry back
   * to now + lease.
   */
  async #takeLease(key: string, stored: StoredRunInfo, lease: { owner: string; ttlMs: number }): Promise<boolean> {
    if (await this.store.lease(key, lease, this.#clock.now())) return true;
    const expiresAt = stored.leaseExpiresAt;
    if (expiresAt === undefined || !deadOnThisHost(stored.leaseOwner)) return false;
    return this.store.lease(key, lease, Math.max(this.#clock.now(), expiresAt));
  }

  /** The run, with a `result` that settles once the store has its end (removed, kept, or released). */
  attach(run: QueryRun, durable: DurableRun): QueryRun {
    durable.run = run;
    // A copy that lost its lease (another executor took the run over) ends RUN_LEASED, whatever it got.
    const result = run.result.then(
      async (r) => {
        await this.#track(durable.finish(r.status === 'ok' ? 'done' : r.status));
        if (durable.leaseLost) throw durable.leaseLost;
        return r;
      },
      async (error: unknown) => {
        // Cancelled (run.cancel, a signal, executor.close): kept, to be resumed. So is a resumed
        // run that `authorize` refused (an asynchronous rule, or one that threw): nothing ran, and
        // the run (its stored rows) stays for a principal or a policy that may — as a
        // synchronous refusal leaves it.
        const keep = isTributaryError(error, 'CANCELLED') || (durable.restored !== undefined && isTributaryError(error, 'FORBIDDEN'));
        await this.#track(durable.finish(keep ? 'interrupted' : 'failed'));
        throw durable.leaseLost ?? error;
      },
    );
    result.catch(() => undefined);
    return { ...run, result };
  }

  /** A loaded run that will not run after all (the executor refused it): kept, to be resumed. */
  abandon(durable: DurableRun): Promise<void> {
    return this.#track(durable.finish('interrupted'));
  }

  runs(filter: RunsFilter = {}): Promise<StoredRunInfo[]> {
    return this.#track(this.#runs(filter));
  }

  async #runs(filter: RunsFilter): Promise<StoredRunInfo[]> {
    this.#checkOpen();
    checkOptionsObject(filter, 'runs filter', 'runs(filter)');
    if (filter.principal !== undefined) checkPrincipal(filter.principal, 'principal', 'runs filter');
    const now = this.#clock.now();
    return filter.anyPrincipal ? visibleRuns(this.store, now) : visibleRuns(this.store, now, runScopeOf(filter.principal));
  }

  /** The executor is closing: no new reads; a `resume` still loading gives its lease back. */
  beginClose(): void {
    this.#closing = true;
  }

  /** Closes the store once every write, load and listing under way has ended. */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    await this.store.close();
  }

  #checkOpen(): void {
    if (this.#closing) throw new TributaryError('CLOSED', 'the executor is closed');
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    return p.finally(() => this.#pending.delete(p));
  }
}

function checkRunId(runId: unknown): asserts runId is string {
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) {
    throw new TributaryError('CONFIG_INVALID', 'runId: 1 to 200 letters, digits and _ . : @ -', { issues: [{ path: 'runId', message: 'expected 1 to 200 of [A-Za-z0-9_.:@-]' }] });
  }
}
