import type { PreparedPlan } from './prepare.js';
import type { StatusTable } from './status-table.js';

/** Fragments to send, per source (index into `prepared.sources`). */
export type Dispatch = (number[] | undefined)[];

/**
 * Which fragments may start: how many dependencies each still waits for, and the ready
 * ones per level, taken from a queue head so that taking is O(1). Every call costs
 * O(the fragments it touches), never a scan of the plan. Mutable, outside the machine's
 * snapshots (as the status table). @internal
 */
export class Scheduler {
  readonly #prepared: PreparedPlan;
  readonly #table: StatusTable;
  readonly #waiting: number[];
  readonly #ready: number[][];
  readonly #taken: number[];
  readonly #sourceOf: readonly number[];

  constructor(prepared: PreparedPlan, table: StatusTable) {
    this.#prepared = prepared;
    this.#table = table;
    const n = prepared.fragments.length;
    this.#waiting = new Array<number>(n);
    this.#ready = prepared.levelSizes.map(() => []);
    this.#taken = new Array<number>(prepared.levelSizes.length).fill(0);
    this.#sourceOf = prepared.sourceOf;
    for (const f of prepared.fragments) {
      this.#waiting[f.index] = f.dependsOn.length;
      if (f.dependsOn.length === 0) this.#ready[0]!.push(f.index);
    }
  }

  /**
   * Removes and returns the fragments that may start now, lowest levels first: with
   * `levels` those up to `level`, with `eager` any. Undefined when there are none.
   */
  take(schedule: 'levels' | 'eager', level: number): Dispatch | undefined {
    let out: Dispatch | undefined;
    const top = schedule === 'eager' ? this.#ready.length - 1 : Math.min(level, this.#ready.length - 1);
    for (let l = 0; l <= top; l++) {
      const queue = this.#ready[l]!;
      let t = this.#taken[l]!;
      if (t >= queue.length) continue;
      out ??= [];
      for (; t < queue.length; t++) {
        const i = queue[t]!;
        // Finished before it was sent (dropped or failed at the query's deadline).
        if (!this.#table.isPending(i)) continue;
        const s = this.#sourceOf[i]!;
        (out[s] ??= []).push(i);
        this.#table.queued(i);
      }
      this.#taken[l] = t;
    }
    return out;
  }

  /** True when every dependency of fragment `i` has succeeded. */
  isReady(i: number): boolean {
    return this.#waiting[i] === 0;
  }

  /** Fragment `i` succeeded: its dependents wait for one dependency less. */
  release(i: number): void {
    for (const d of this.#prepared.fragments[i]!.dependents) {
      if (--this.#waiting[d]! === 0) this.#ready[this.#prepared.fragments[d]!.level]!.push(d);
    }
  }

  /**
   * Fragment `i` failed (or was dropped): every fragment downstream of it, transitively, is
   * skipped. Returns them. The walk stops at a fragment that was already finished: one that
   * was skipped before had its own downstream skipped then (nothing below a failure can have
   * started), so however many upstreams fail, each edge is walked once over the run — not
   * once per failure, which made a wide plan whose roots all fail quadratic.
   */
  skipDownstream(i: number): number[] {
    const skipped: number[] = [];
    const fragments = this.#prepared.fragments;
    for (let k = -1; k < skipped.length; k++) {
      for (const d of fragments[k < 0 ? i : skipped[k]!]!.dependents) {
        if (this.#table.skipped(d)) skipped.push(d);
      }
    }
    return skipped;
  }
}
