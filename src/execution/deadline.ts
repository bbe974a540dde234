/**
 * A query's deadline, shared out over its plan's DAG. Each fragment, when it starts, gets a
 * budget: the time left until the deadline, minus what the fragments that depend on it
 * (transitively) will still need once it is done. That need is estimated from
 *
 * - the latencies seen so far on each source (a moving average of its fragments' answering
 *   calls, from their lane slots to their answer — a batched fragment's slowest batch — so a
 *   lane's queue, failed tries and backoff are left out, and streamed calls, paced by their
 *   reader, are not counted; per source object, over every run of the process): the longest chain of dependents below
 *   the fragment, each costing its source's average;
 * - the plan's shape when a latency on that chain is not known yet: every fragment of the
 *   longest chain below (and the fragment itself) gets an equal share of the time left.
 *
 * The equal share is also the floor: a pessimistic estimate never leaves a fragment less than
 * `left / (1 + chain below)`. The merge is in-process and costs no reserve. A fragment's
 * attempts, their timeouts, retries and backoff all end at its budget (see FragmentTask), and
 * a retry is not started when its delay plus the source's expected attempt time does not fit.
 */

/** A fragment as the DAG arithmetic sees it. */
interface DagNode {
  readonly level: number;
  readonly dependents: readonly number[];
}

/**
 * Per fragment, the longest chain of dependents below it, counted in fragments (0: nothing
 * depends on it). Dependents sit on higher levels, so one pass from the deepest level up
 * settles every fragment: O(fragments + edges), once per prepared plan.
 */
export function chainsBelow(fragments: readonly DagNode[]): number[] {
  const byLevel: number[][] = [];
  fragments.forEach((f, i) => (byLevel[f.level] ??= []).push(i));
  const below = new Array<number>(fragments.length).fill(0);
  for (let level = byLevel.length - 1; level >= 0; level--) {
    for (const i of byLevel[level] ?? []) {
      let longest = 0;
      for (const d of fragments[i]!.dependents) longest = Math.max(longest, 1 + below[d]!);
      below[i] = longest;
    }
  }
  return below;
}

/** How long a source's fragments take: an exponentially weighted moving average of successes. */
export class SourceLatency {
  #average = Number.NaN;

  record(ms: number): void {
    if (!(ms >= 0)) return;
    this.#average = Number.isNaN(this.#average) ? ms : this.#average + 0.3 * (ms - this.#average);
  }

  /** Undefined until a success was seen. */
  estimate(): number | undefined {
    return Number.isNaN(this.#average) ? undefined : this.#average;
  }
}

const latencies = new WeakMap<object, SourceLatency>();

/** The latency record of a source (one per source object, over every run of the process). */
export function latencyOf(source: object): SourceLatency {
  let latency = latencies.get(source);
  if (!latency) {
    latency = new SourceLatency();
    latencies.set(source, latency);
  }
  return latency;
}

/** A plan's fragments as the budget needs them. */
export interface BudgetPlan {
  readonly fragments: readonly DagNode[];
  readonly chainBelow: readonly number[];
}

/**
 * One run's deadline: `endAt` milliseconds after the query started. `budgetFor` hands each
 * fragment its share when it starts. The need of each fragment's dependents is worked out
 * once, at the first budget asked (O(fragments + edges) per run with a deadline, nothing
 * without one), from the latencies known then.
 */
export class QueryDeadline {
  #need: number[] | undefined;

  constructor(
    readonly deadlineMs: number,
    readonly plan: BudgetPlan,
    /** The expected duration of fragment `i` (its source's latency), undefined when unknown. */
    readonly expectedMs: (i: number) => number | undefined,
  ) {}

  /** Milliseconds after the query's start at which it must have answered. */
  get endAt(): number {
    return this.deadlineMs;
  }

  /** The budget of fragment `i` starting at `now` (ms since the query started); ≤ 0 when the deadline has passed. */
  budgetFor(i: number, now: number): number {
    const left = this.deadlineMs - now;
    if (left <= 0) return left;
    const share = left / (1 + this.plan.chainBelow[i]!);
    const need = (this.#need ??= this.#needs())[i]!;
    // NaN (a latency below is unknown): the plan's shape alone decides.
    return need >= 0 ? Math.max(share, left - need) : share;
  }

  /** Per fragment: the longest sum of expected durations over the chains of its dependents; NaN if one is unknown. */
  #needs(): number[] {
    const { fragments, chainBelow } = this.plan;
    // Fewer fragments below come first: a fragment's dependents are settled before it.
    const order = fragments.map((_, i) => i).sort((a, b) => chainBelow[a]! - chainBelow[b]!);
    const need = new Array<number>(fragments.length).fill(0);
    for (const i of order) {
      let longest = 0;
      for (const d of fragments[i]!.dependents) {
        const own = this.expectedMs(d);
        // Math.max propagates NaN: one unknown latency makes the chain unknown.
        longest = Math.max(longest, (own ?? Number.NaN) + need[d]!);
      }
      need[i] = longest;
    }
    return need;
  }
}

/**
 * Whether a retry may start: its backoff `delayMs` plus the attempt's expected duration must
 * end before the `leftMs` its fragment has. Without an expected duration (no success seen on
 * the source yet) only the delay counts.
 */
export function retryFits(delayMs: number, expectedMs: number | undefined, leftMs: number): boolean {
  return delayMs + (expectedMs ?? 0) < leftMs;
}
