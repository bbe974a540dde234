import { columnsOf, withColumns } from '../data/columns.js';
import type { Row } from '../data/row.js';
import type { FragmentStream } from '../execution/env.js';
import { evaluateMerge, planStream, type StreamPlan } from '../merge/index.js';
import { mergeLeaves, type MergeNode } from '../plan/index.js';
import type { PreparedPlan } from './prepare.js';
import { RowStream } from './row-stream.js';

/**
 * Streaming a run's merged rows to `run.rows()` as fragments deliver them, when the merge
 * tree allows it (see `planStream`): each leaf fragment's batches go through the merge's
 * streaming flow into a `RowStream`; parts of the tree that need whole inputs (a join's
 * right side) are materialized once their fragments have settled. Rows handed on this
 * way are not kept a second time. @internal
 */
export class RunStreaming {
  readonly #plan: StreamPlan;
  readonly #prepared: PreparedPlan;
  readonly rows: RowStream;
  readonly #waiters = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  readonly #rowsOf: (id: string) => Row[];
  readonly #settled = new Set<string>();
  /** Streaming leaves that started before the join right sides they pass had settled: run whole, pushed when they settle. */
  readonly #deferred = new Set<string>();
  /** Deferred leaves' pushes still on their way to the consumer. */
  #pending: Promise<void>[] = [];
  #failure: { error: unknown } | undefined;
  /** Once the consumer has left: whether each fragment's rows were still wanted then (see `cutShort`). */
  readonly #wanted = new Map<string, boolean>();
  /** Fragments whose rows full limits have made unwanted (see `unneeded`): stopped, or not run. */
  readonly #unneeded = new Set<string>();
  /** Streamed leaves a full limit had satisfied when last counted (it only grows). */
  #satisfiedLeaves = 0;
  readonly #onLimited: (id: string) => void;

  private constructor(prepared: PreparedPlan, plan: StreamPlan, params: Readonly<Record<string, unknown>>, rowsOf: (id: string) => Row[], onLeave: () => void, onLimited: (id: string) => void, namesColumnsFirst: (source: string) => boolean) {
    this.#prepared = prepared;
    this.#plan = plan;
    this.#rowsOf = rowsOf;
    this.#onLimited = onLimited;
    const limits = prepared.resultLimits;
    const materialize = async (node: MergeNode, path: string): Promise<Row[]> => {
      const ids = [...new Set(mergeLeaves(node).leaves.map((l) => l.id))];
      await Promise.all(ids.map((id) => this.#waiter(id).promise));
      const result = evaluateMerge(node, new Map(ids.map((id) => [id, rowsOf(id)])), { params, limits, path });
      // Named, so an empty right side still gives a left join its right columns.
      return withColumns(result.rows, result.columns);
    };
    // A union holds rows for the columns of an input that names them first, unless the input
    // waits on other fragments (it binds their rows): that could hold every row until they end.
    const awaitsColumns = (leaf: string): boolean => {
      const f = prepared.fragments[prepared.indexOf.get(leaf)!]!;
      return f.dependsOn.length === 0 && namesColumnsFirst(f.source);
    };
    this.rows = new RowStream(plan.start({ materialize, params, limits, leafColumns: (leaf) => columnsOf(rowsOf(leaf)), awaitsColumns }), onLeave);
  }

  /**
   * Streaming for this plan, or undefined when its merge tree cannot stream. `onLeave` runs
   * once if the consumer leaves before the end: then no fragment's rows can reach anyone.
   * `onLimited(id)` runs once for a fragment still running when full limits have made its
   * rows unwanted (see `unneeded`): what it still runs is stopped, whether or not it has
   * delivered a batch. `namesColumnsFirst(source)`: whether that source names its columns
   * before its first row (`SourceExecutor.namesColumnsFirst`), so a union may wait for them.
   */
  static start(
    prepared: PreparedPlan,
    params: Readonly<Record<string, unknown>>,
    rowsOf: (id: string) => Row[],
    onLeave: () => void,
    onLimited: (id: string) => void = () => undefined,
    namesColumnsFirst: (source: string) => boolean = () => false,
  ): RunStreaming | undefined {
    const plan = planStream(prepared.plan.mergeTree);
    return plan ? new RunStreaming(prepared, plan, params, rowsOf, onLeave, onLimited, namesColumnsFirst) : undefined;
  }

  /**
   * After rows went through: once a limit has just become full, every unsettled fragment
   * whose rows can no longer reach the reader (see `#reaches`) is stopped, and one not
   * started yet will not run (`unneeded`). O(leaves) per batch; a pass over the fragments
   * only when another leaf became satisfied (at most once per leaf).
   */
  #stopSatisfied(): void {
    if (this.rows.gone) return;
    let satisfied = 0;
    for (const id of this.#plan.leaves) if (this.rows.satisfied(id)) satisfied++;
    if (satisfied === this.#satisfiedLeaves) return;
    this.#satisfiedLeaves = satisfied;
    const memo = new Map<string, boolean>();
    const stop: string[] = [];
    for (const f of this.#prepared.fragments) {
      if (this.#settled.has(f.id) || this.#unneeded.has(f.id) || this.#reaches(f.id, memo)) continue;
      this.#unneeded.add(f.id);
      stop.push(f.id);
    }
    for (const id of stop) if (!this.#settled.has(id)) this.#onLimited(id);
  }

  /**
   * Whether fragment `id`'s rows can still reach the reader while no one has left: it is a
   * streamed leaf no full limit has satisfied yet; or a join's right side (always: a batch
   * that has just filled a limit below the join still needs it); or an unsettled fragment
   * that binds its rows is itself wanted. A leaf that other fragments bind is stopped only once their rows
   * are unwanted too: before, cutting it short would have changed what they bind.
   */
  #reaches(id: string, memo: Map<string, boolean>): boolean {
    let wanted = memo.get(id);
    if (wanted !== undefined) return wanted;
    memo.set(id, true); // the plan is a DAG; the entry guards the walk all the same
    const plan = this.#plan;
    const f = this.#prepared.fragments[this.#prepared.indexOf.get(id)!]!;
    // A join's right side stays wanted: rows that passed a full limit below the join may still be on their way to it.
    wanted = plan.materialized.has(id) || (plan.leaves.has(id) && !this.rows.satisfied(id));
    if (!wanted) wanted = f.dependents.some((d) => { const dep = this.#prepared.fragments[d]!.id; return !this.#settled.has(dep) && this.#reaches(dep, memo); });
    memo.set(id, wanted);
    return wanted;
  }

  /** True once full limits have made fragment `id`'s rows unwanted: not started yet, it succeeds with none, uncalled and unbound. */
  unneeded(id: string): boolean {
    return this.#unneeded.has(id);
  }

  /**
   * True once the consumer has left before the end. Every row of a streamed run goes to it,
   * so no fragment's rows can reach anyone any more: not a streamed leaf's, not a join's
   * right side's (it fed those leaves), not those another fragment binds (that one's rows
   * are unwanted too).
   */
  get gone(): boolean {
    return this.rows.gone;
  }

  /**
   * Whether fragment `id`, stopped or never run once the consumer left, may have cost the
   * answer rows (`consumer-left`) or not (its rows were not wanted anyway: a satisfied limit).
   * Its rows were still wanted when it is a streamed leaf no satisfied limit had stopped, or
   * feeds one: as a join's right side that leaf waits on, or through a fragment that binds its rows.
   */
  cutShort(id: string): boolean {
    if (!this.rows.gone) return false;
    let wanted = this.#wanted.get(id);
    if (wanted !== undefined) return wanted;
    // The plan is a DAG; the entry guards the walk all the same.
    this.#wanted.set(id, false);
    const prepared = this.#prepared;
    wanted =
      this.rows.left(id) ||
      [...this.#plan.waitsOn].some(([leaf, rightSide]) => rightSide.has(id) && this.rows.left(leaf)) ||
      prepared.fragments[prepared.indexOf.get(id)!]!.dependents.some((d) => this.cutShort(prepared.fragments[d]!.id));
    this.#wanted.set(id, wanted);
    return wanted;
  }

  /**
   * Where a fragment's batches go, if it is one of the streamed leaves. A leaf whose batches
   * would wait at a join for a right side that has not settled yet does not stream: its call
   * would hold its lane slot (and its own settling) while it waits, and the right side may
   * need that slot, or may depend on this very fragment (a bind join) — a deadlock. It runs
   * whole instead, and its rows go through the flow once it has settled.
   */
  streamOf(index: number): FragmentStream | undefined {
    const f = this.#prepared.fragments[index]!;
    if (!this.#plan.leaves.has(f.id)) return undefined;
    const waits = this.#plan.waitsOn.get(f.id);
    if (waits) {
      for (const id of waits) {
        if (this.#settled.has(id)) continue;
        this.#deferred.add(f.id);
        return undefined;
      }
    }
    const sink = this.rows.sinkFor(f.id);
    return {
      sink: async (batch) => {
        const more = await sink(batch);
        this.#stopSatisfied();
        return more;
      },
      retain: f.dependents.length > 0 || this.#plan.materialized.has(f.id),
      satisfied: () => this.rows.satisfied(f.id),
    };
  }

  /**
   * A fragment settled (or never will): materialized subtrees waiting for it may go on, and
   * a deferred leaf's rows (none if it failed) start on their way through the flow.
   */
  settled(id: string): void {
    if (this.#settled.has(id)) return;
    this.#settled.add(id);
    this.#waiter(id).resolve();
    // Whatever a union held for this fragment's columns goes on once it can send no more.
    const pushed = this.#deferred.delete(id) ? Promise.resolve(this.rows.sinkFor(id)(this.#rowsOf(id))).then(() => this.rows.end(id)) : this.rows.end(id);
    if (pushed === undefined) return;
    this.#pending.push(
      pushed.then(
        () => this.#stopSatisfied(),
        (error: unknown) => void (this.#failure ??= { error }),
      ),
    );
  }

  /** True while a deferred leaf's rows are still on their way (the merge then waits: `drain`). */
  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** Resolves once every deferred leaf's rows have gone through the flow; rejects with the first error on the way. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0) await Promise.all(this.#pending.splice(0));
    if (this.#failure) throw this.#failure.error;
  }

  /** The run ended: everyone still waiting goes on, and the consumer gets the end (or the error). */
  finish(error: unknown): void {
    this.#deferred.clear();
    for (const f of this.#prepared.fragments) this.settled(f.id);
    this.rows.finish(error);
  }

  #waiter(id: string): { promise: Promise<void>; resolve: () => void } {
    let w = this.#waiters.get(id);
    if (!w) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      w = { promise, resolve };
      this.#waiters.set(id, w);
    }
    return w;
  }
}
