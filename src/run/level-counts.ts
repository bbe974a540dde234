/**
 * Where a run is, by level: per level its fragments not finished yet, and the highest level
 * the outcomes have opened. The executor's side of `Progress.level` (`LevelTally` works the
 * same out from events alone). @internal
 */
export class LevelCounts {
  /** Fragments not yet finished (succeeded, failed, skipped or dropped), per level. */
  readonly #open: number[];
  #lowest = 0;
  #reached = 0;

  constructor(sizes: readonly number[]) {
    this.#open = [...sizes];
  }

  /** A fragment of `level` finished. */
  finished(level: number): void {
    this.#open[level]!--;
  }

  /** A fragment of `level` has an outcome: a success opens the next level, a failure or a drop its own (a skip none). */
  outcome(level: number, succeeded: boolean): void {
    const reach = succeeded ? level + 1 : level;
    if (reach > this.#reached) this.#reached = reach;
  }

  /** Whether `level` has a fragment not finished yet. */
  isOpen(level: number): boolean {
    return this.#open[level]! > 0;
  }

  /**
   * The lowest level with an unfinished fragment (the level count when all have finished).
   * Finished levels stay finished, so the search resumes where it stopped: O(1) amortized.
   */
  lowestOpen(): number {
    while (this.#lowest < this.#open.length && this.#open[this.#lowest]! <= 0) this.#lowest++;
    return this.#lowest;
  }

  /**
   * `Progress.level`: the lowest level with a fragment not finished (the machine's
   * `executing-level-N`), the last once all are — but, until the query is `done`, never past
   * the highest level the outcomes opened: a fail-fast run stopped in level 1, levels 2 and 3
   * skipped, stays at 1.
   */
  level(done: boolean): number {
    return Math.min(this.lowestOpen(), this.#open.length - 1, done ? Infinity : this.#reached);
  }
}
